#include "base/bytes.h"

#include <gtest/gtest.h>

namespace vudo {
namespace {

TEST(ByteReaderTest, ReadsBigEndianAndStopsAtEnd) {
  Bytes data{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  ByteReader r(data);
  EXPECT_EQ(r.ReadU16BE().value(), 0x0102);
  EXPECT_EQ(r.ReadU32BE().value(), 0x03040506u);
  EXPECT_EQ(r.remaining(), 1u);
  auto fail = r.ReadU16BE();
  ASSERT_FALSE(fail);
  EXPECT_EQ(fail.error().code, ErrorCode::kTruncated);
  EXPECT_EQ(r.ReadU8().value(), 0x07);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.ExpectEnd("x"));
  EXPECT_FALSE(r.ReadU8());
}

TEST(ByteReaderTest, ReadSpanRejectsHugeLength) {
  Bytes data(10);
  ByteReader r(data);
  EXPECT_FALSE(r.ReadSpan(SIZE_MAX));
  EXPECT_FALSE(r.ReadBytes(11));
  EXPECT_EQ(r.position(), 0u);
  EXPECT_FALSE(r.ExpectEnd("x"));
}

TEST(BytesTest, AppendAndCompare) {
  Bytes out;
  AppendU32BE(out, 0xdeadbeef);
  AppendU16BE(out, 0x1234);
  AppendU64BE(out, 1);
  EXPECT_EQ(out.size(), 14u);
  EXPECT_EQ(LoadU32BE(out.data()), 0xdeadbeefu);
  EXPECT_TRUE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("ab")));
}

}  // namespace
}  // namespace vudo
