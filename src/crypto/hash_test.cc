#include "crypto/hash.h"

#include <gtest/gtest.h>

#include "base/encoding.h"

namespace vudo::crypto {
namespace {

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Hasher h;
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Finish(), Sha256(AsBytes("abc")));
}

TEST(Base58CheckTest, RoundTripAndChecksum) {
  // A Bitcoin address: version 0 + hash160.
  auto payload =
      HexDecode("00f54a5851e9372b87810a8e60cdd2e7cfd80b6e31").value();
  EXPECT_EQ(Base58CheckEncode(payload), "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs");
  EXPECT_EQ(Base58CheckDecode("1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs").value(),
            payload);
  EXPECT_EQ(
      Base58CheckDecode("1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAt").error().code,
      ErrorCode::kCorrupt);
  EXPECT_EQ(Base58CheckDecode("11").error().code, ErrorCode::kTruncated);
  EXPECT_FALSE(Base58CheckDecode("0000"));
}

}  // namespace
}  // namespace vudo::crypto
