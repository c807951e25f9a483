#include "repo/cbor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/encoding.h"

namespace vudo::repo::cbor {
namespace {

Value Dec(std::string_view hex) {
  auto v = Decode(HexDecode(hex).value());
  EXPECT_TRUE(v.has_value()) << hex << ": " << v.error().ToString();
  return v ? *v : Value();
}

Error DecErr(std::string_view hex, const DecodeLimits& limits = {}) {
  auto v = Decode(HexDecode(hex).value(), limits);
  EXPECT_FALSE(v.has_value()) << hex << " decoded as " << ToDiagnostic(*v);
  return v ? Error{} : v.error();
}

// RFC 8949 Appendix A examples, as diagnostic notation.
TEST(CborTest, Rfc8949Examples) {
  struct Case {
    const char* hex;
    const char* diag;
  } cases[] = {
      {"00", "0"},
      {"17", "23"},
      {"1818", "24"},
      {"1903e8", "1000"},
      {"1bffffffffffffffff", "18446744073709551615"},
      {"20", "-1"},
      {"3863", "-100"},
      {"3bffffffffffffffff", "-18446744073709551616"},
      {"f93c00", "1"},
      {"f90000", "0"},
      {"f9c400", "-4"},
      {"fa47c35000", "100000"},
      {"fb3ff199999999999a", "1.1"},
      {"f4", "false"},
      {"f5", "true"},
      {"f6", "null"},
      {"f7", "undefined"},
      {"f0", "simple(16)"},
      {"f8ff", "simple(255)"},
      {"c11a514b67b0", "1(1363896240)"},
      {"40", "h''"},
      {"4401020304", "h'01020304'"},
      {"60", "\"\""},
      {"62c3bc", "\"\xc3\xbc\""},
      {"83010203", "[1, 2, 3]"},
      {"8301820203820405", "[1, [2, 3], [4, 5]]"},
      {"a201020304", "{1: 2, 3: 4}"},
      {"a26161016162820203", "{\"a\": 1, \"b\": [2, 3]}"},
      {"5f42010243030405ff", "h'0102030405'"},
      {"7f657374726561646d696e67ff", "\"streaming\""},
      {"9fff", "[]"},
      {"9f018202039f0405ffff", "[1, [2, 3], [4, 5]]"},
      {"bf61610161629f0203ffff", "{\"a\": 1, \"b\": [2, 3]}"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ToDiagnostic(Dec(c.hex)), c.diag) << c.hex;
  }
  EXPECT_TRUE(std::isinf(Dec("f97c00").float_value()));
  EXPECT_TRUE(std::isnan(Dec("f97e00").float_value()));
}

TEST(CborTest, AcceptsNonMinimalHeadsAsCborXWritesThem) {
  // cbor-x writes every JS object as 0xb9 + u16 count.
  Value v = Dec("b9000264747970656473797363636b696401");
  ASSERT_EQ(v.type(), Value::Type::kMap);
  ASSERT_NE(v.Find("type"), nullptr);
  EXPECT_EQ(v.Find("type")->text(), "sysc");
  EXPECT_EQ(v.Find("kid")->uint(), 1u);
  EXPECT_EQ(v.Find("nope"), nullptr);
  EXPECT_EQ(Dec("1b0000000000000001").uint(), 1u);
  EXPECT_EQ(Dec("7800").text(), "");
}

TEST(CborTest, EncodesLikeCborX) {
  Value m = Value::Map();
  m.Add("type", Value::Text("sync"));
  m.Add("data", Value::FromBytes(Bytes{1, 2, 3}));
  m.Add("n", Value::Int(-25));
  m.Add("big", Value::Unsigned(65536));
  m.Add("f", Value::Float(1.5));
  m.Add("list", Value::Array({Value::Text("1"), Value::Bool(true),
                              Value::Null(), Value::Undefined()}));
  EXPECT_EQ(HexEncode(Encode(m)),
            "b90006"
            "6474797065"
            "6473796e63"
            "6464617461"
            "43010203"
            "616e"
            "3818"
            "63626967"
            "1a00010000"
            "6166"
            "fb3ff8000000000000"
            "646c697374"
            "846131f5f6f7");
  EXPECT_EQ(Dec(HexEncode(Encode(m))), m);
  // Minimal heads for strings at the length boundaries.
  EXPECT_EQ(HexEncode(Encode(Value::Text(std::string(23, 'a')))).substr(0, 2),
            "77");
  EXPECT_EQ(HexEncode(Encode(Value::Text(std::string(24, 'a')))).substr(0, 4),
            "7818");
  EXPECT_EQ(HexEncode(Encode(Value::Text(std::string(256, 'a')))).substr(0, 6),
            "790100");
  EXPECT_EQ(HexEncode(Encode(Value::Tag(1, Value::Unsigned(2)))), "c102");
  EXPECT_EQ(HexEncode(Encode(Value::Simple(255))), "f8ff");
}

TEST(CborTest, RejectsMalformedInput) {
  EXPECT_EQ(DecErr("").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("18").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("1a0000").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("430102").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("83").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("a1").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("9f01").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("bf6161").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("5f4101").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("0000").code, ErrorCode::kInvalidArgument);    // trailing
  EXPECT_EQ(DecErr("1c").code, ErrorCode::kInvalidArgument);      // reserved
  EXPECT_EQ(DecErr("ff").code, ErrorCode::kInvalidArgument);      // lone break
  EXPECT_EQ(DecErr("1f").code, ErrorCode::kInvalidArgument);      // indef uint
  EXPECT_EQ(DecErr("df00").code, ErrorCode::kInvalidArgument);    // indef tag
  EXPECT_EQ(DecErr("f818").code, ErrorCode::kInvalidArgument);    // bad simple
  EXPECT_EQ(DecErr("62c328").code, ErrorCode::kInvalidArgument);  // UTF-8
  EXPECT_EQ(DecErr("62c0af").code, ErrorCode::kInvalidArgument);  // overlong
  EXPECT_EQ(DecErr("63eda080").code, ErrorCode::kInvalidArgument);  // D800
  EXPECT_EQ(DecErr("7f4161ff").code, ErrorCode::kInvalidArgument);  // mixed
  EXPECT_EQ(DecErr("5f5f4101ffff").code, ErrorCode::kInvalidArgument);
  // Huge announced lengths fail before allocating.
  EXPECT_EQ(DecErr("9bffffffffffffffff").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("bbffffffffffffffff").code, ErrorCode::kTruncated);
  EXPECT_EQ(DecErr("5bffffffffffffffff").code, ErrorCode::kTruncated);
}

TEST(CborTest, EnforcesLimits) {
  std::string deep(200, '8');
  for (size_t i = 1; i < deep.size(); i += 2) deep[i] = '1';  // 81 81 ...
  deep += "00";
  EXPECT_EQ(DecErr(deep).code, ErrorCode::kOverflow);
  std::string deep_tags;
  for (int i = 0; i < 100; ++i) deep_tags += "c1";
  EXPECT_EQ(DecErr(deep_tags + "00").code, ErrorCode::kOverflow);
  // 33 levels is too deep for the default limit of 32, 32 are fine.
  std::string ok;
  for (int i = 0; i < 32; ++i) ok += "81";
  Dec(ok + "00");
  EXPECT_EQ(DecErr("81" + ok + "00").code, ErrorCode::kOverflow);

  DecodeLimits few;
  few.max_items = 3;
  EXPECT_TRUE(Decode(HexDecode("820102").value(), few));
  EXPECT_EQ(DecErr("83010203", few).code, ErrorCode::kOverflow);
  // A container announcing more items than the budget fails before
  // reserving room for them (here 70000 one-byte items, budget 65536).
  DecodeLimits budget;
  budget.max_items = 65536;
  Bytes many = {0x9A, 0x00, 0x01, 0x11, 0x70};
  many.resize(many.size() + 70000, 0x00);
  auto r = Decode(many, budget);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOverflow);
  many[0] = 0xBA;  // the same count as a map
  many.resize(many.size() + 70000, 0x00);
  r = Decode(many, budget);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOverflow);

  DecodeLimits small;
  small.max_input_bytes = 2;
  EXPECT_EQ(DecErr("83010203", small).code, ErrorCode::kOverflow);
}

TEST(CborTest, AsUintAcceptsIntegralFloats) {
  EXPECT_EQ(Dec("1a00010000").AsUint("x").value(), 65536u);
  // Date.now() as cbor-x writes it (float64).
  EXPECT_EQ(Dec("fb4278e23f14c00000").AsUint("x").value(), 1710000000000u);
  EXPECT_FALSE(Dec("fb3ff8000000000000").AsUint("x"));  // 1.5
  EXPECT_FALSE(Dec("20").AsUint("x"));                  // -1
  EXPECT_FALSE(Dec("6131").AsUint("x"));                // "1"
  EXPECT_FALSE(Dec("fb7ff8000000000000").AsUint("x"));  // NaN
  EXPECT_FALSE(Dec("fb43f0000000000000").AsUint("x"));  // 2^64
}

}  // namespace
}  // namespace vudo::repo::cbor
