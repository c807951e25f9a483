#include "crypto/box.h"

#include <gtest/gtest.h>

namespace vudo::crypto {
namespace {

TEST(BoxTest, SealOpenBetweenTwoIdentities) {
  auto a = SecretKey::Generate();
  auto b = SecretKey::Generate();
  auto ab = SharedBox::Create(a, b.public_key()).value();
  auto ba = SharedBox::Create(b, a.public_key()).value();
  auto sealed = ab.Seal(AsBytes("ping 1"));
  EXPECT_EQ(sealed.size(), 6 + kBoxOverhead);
  EXPECT_EQ(ba.Open(sealed).value(), ToBytes("ping 1"));
  auto sealed2 = ab.Seal(AsBytes("ping 1"));
  EXPECT_NE(sealed, sealed2);  // fresh nonce
  sealed[30] ^= 1;
  EXPECT_EQ(ba.Open(sealed).error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(ba.Open(Bytes(10)).error().code, ErrorCode::kTruncated);
  auto c = SecretKey::Generate();
  auto cb = SharedBox::Create(c, b.public_key()).value();
  EXPECT_FALSE(ba.Open(cb.Seal(AsBytes("x"))));
}

}  // namespace
}  // namespace vudo::crypto
