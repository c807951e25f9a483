#include "base/leb128.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "base/encoding.h"

namespace vudo {
namespace {

Bytes Uleb(uint64_t v) {
  Bytes b;
  AppendUleb(b, v);
  return b;
}
Bytes Sleb(int64_t v) {
  Bytes b;
  AppendSleb(b, v);
  return b;
}

TEST(Leb128Test, KnownEncodings) {
  EXPECT_EQ(HexEncode(Uleb(0)), "00");
  EXPECT_EQ(HexEncode(Uleb(127)), "7f");
  EXPECT_EQ(HexEncode(Uleb(128)), "8001");
  EXPECT_EQ(HexEncode(Uleb(624485)), "e58e26");
  EXPECT_EQ(HexEncode(Uleb(UINT64_MAX)), "ffffffffffffffffff01");
  EXPECT_EQ(HexEncode(Sleb(0)), "00");
  EXPECT_EQ(HexEncode(Sleb(-1)), "7f");
  EXPECT_EQ(HexEncode(Sleb(63)), "3f");
  EXPECT_EQ(HexEncode(Sleb(64)), "c000");
  EXPECT_EQ(HexEncode(Sleb(-64)), "40");
  EXPECT_EQ(HexEncode(Sleb(-65)), "bf7f");
  EXPECT_EQ(HexEncode(Sleb(-123456)), "c0bb78");
  EXPECT_EQ(UlebSize(UINT64_MAX), 10u);
  EXPECT_EQ(UlebSize(127), 1u);
}

TEST(Leb128Test, RoundTripsRandomAndExtremeValues) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> us{0,     1,          127,        128,           16383,
                           16384, UINT32_MAX, UINT64_MAX, UINT64_MAX - 1};
  std::vector<int64_t> ss{0,        1,   -1,        63,        64,
                          -64,      -65, INT64_MAX, INT64_MIN, INT64_MIN + 1,
                          INT32_MIN};
  for (int i = 0; i < 2000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    us.push_back(v);
    ss.push_back(int64_t(v) * ((i & 1) ? -1 : 1));
  }
  for (uint64_t v : us) {
    Bytes b = Uleb(v);
    ByteReader r(b);
    EXPECT_EQ(ReadUleb(r).value(), v);
    EXPECT_TRUE(r.empty());
  }
  for (int64_t v : ss) {
    Bytes b = Sleb(v);
    ByteReader r(b);
    auto got = ReadSleb(r);
    ASSERT_TRUE(got) << v << " " << HexEncode(b) << " "
                     << got.error().ToString();
    EXPECT_EQ(*got, v);
    EXPECT_TRUE(r.empty());
  }
}

Result<uint64_t> DecodeU(std::string_view hex,
                         Leb128Mode m = Leb128Mode::kStrict) {
  Bytes b = HexDecode(hex).value();
  ByteReader r(b);
  return ReadUleb(r, m);
}
Result<int64_t> DecodeS(std::string_view hex,
                        Leb128Mode m = Leb128Mode::kStrict) {
  Bytes b = HexDecode(hex).value();
  ByteReader r(b);
  return ReadSleb(r, m);
}

TEST(Leb128Test, RejectsTruncatedOverflowAndOverlong) {
  EXPECT_EQ(DecodeU("").error().code, ErrorCode::kTruncated);
  EXPECT_EQ(DecodeU("80").error().code, ErrorCode::kTruncated);
  EXPECT_EQ(DecodeU("ffffffffffffffffff02").error().code, ErrorCode::kOverflow);
  EXPECT_EQ(DecodeU("ffffffffffffffffff81").error().code, ErrorCode::kOverflow);
  EXPECT_EQ(DecodeU("8000").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeU("8000", Leb128Mode::kLenient).value(), 0u);
  EXPECT_EQ(DecodeS("").error().code, ErrorCode::kTruncated);
  EXPECT_EQ(DecodeS("ff").error().code, ErrorCode::kTruncated);
  EXPECT_EQ(DecodeS("8000").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeS("ff7f").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeS("ff7f", Leb128Mode::kLenient).value(), -1);
  EXPECT_EQ(DecodeS("ffffffffffffffffff01").error().code, ErrorCode::kOverflow);
  Bytes big(5, 0xff);
  big.push_back(0x1f);
  ByteReader r(big);
  EXPECT_EQ(ReadUleb32(r).error().code, ErrorCode::kOverflow);
}

TEST(QuicVarintTest, EncodesShortestAndRoundTrips) {
  struct Case {
    uint64_t v;
    const char* hex;
  } cases[] = {{37, "25"},
               {15293, "7bbd"},
               {494878333, "9d7f3e7d"},
               {151288809941952652ull, "c2197c5eff14e88c"}};
  for (auto& c : cases) {
    Bytes b;
    ASSERT_TRUE(AppendQuicVarint(b, c.v));
    EXPECT_EQ(HexEncode(b), c.hex);
    ByteReader r(b);
    EXPECT_EQ(ReadQuicVarint(r).value(), c.v);
  }
  Bytes b;
  EXPECT_EQ(AppendQuicVarint(b, kQuicVarintMax + 1).error().code,
            ErrorCode::kOverflow);
  Bytes trunc = HexDecode("c2197c").value();
  ByteReader r(trunc);
  EXPECT_EQ(ReadQuicVarint(r).error().code, ErrorCode::kTruncated);
}

}  // namespace
}  // namespace vudo
