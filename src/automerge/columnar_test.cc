#include "automerge/columnar.h"

#include <gtest/gtest.h>

#include "base/encoding.h"

namespace vudo::automerge::col {
namespace {

Bytes Hex(std::string_view h) { return HexDecode(h).value(); }

Bytes EncodeUints(const std::vector<std::optional<uint64_t>>& v) {
  Bytes out;
  UintRleEncoder e(out);
  for (const auto& x : v) e.Append(x);
  e.Finish();
  return out;
}

TEST(RleTest, CanonicalForms) {
  using O = std::optional<uint64_t>;
  // lit[0,1], run 2x4, run 10x1 (the action column of a real change).
  EXPECT_EQ(HexEncode(EncodeUints({O(0), O(1), O(4), O(4), O(1), O(1), O(1),
                                   O(1), O(1), O(1), O(1), O(1), O(1), O(1)})),
            "7e00010204"
            "0a01");
  // Only nulls: nothing at all.
  EXPECT_TRUE(EncodeUints({O(), O(), O()}).empty());
  // Leading nulls then values, trailing nulls are written.
  EXPECT_EQ(HexEncode(EncodeUints({O(), O(), O(5), O()})), "00027f050001");
  EXPECT_EQ(HexEncode(EncodeUints({O(7)})), "7f07");
}

TEST(RleTest, RoundTripsRealColumns) {
  for (const char* h : {"00057f0000010700", "7f0206057f0103170219081a",
                        "7e0201", "0e00", "030002017f00"}) {
    Bytes in = Hex(h);
    auto dec = DecodeUintRle(in, 1000);
    ASSERT_TRUE(dec.has_value()) << h;
    EXPECT_EQ(HexEncode(EncodeUints(*dec)), h);
  }
}

TEST(DeltaTest, RoundTripsRealColumns) {
  for (const char* h :
       {"7f0000037c00067a080601", "00017e0b0604017f6d00037c7e1b651d0601",
        "7d100f76", "7f80e2cfaa060501"}) {
    Bytes in = Hex(h);
    auto dec = DecodeDelta(in, 1000);
    ASSERT_TRUE(dec.has_value()) << h;
    Bytes out;
    DeltaEncoder e(out);
    for (const auto& x : *dec) e.Append(x);
    e.Finish();
    EXPECT_EQ(HexEncode(out), h);
  }
  auto v = DecodeDelta(Hex("7f0000037c00067a080601"), 100).value();
  ASSERT_EQ(v.size(), 14u);
  EXPECT_EQ(v[0], 0);
  EXPECT_FALSE(v[1].has_value());
  EXPECT_EQ(v[5], 6);
  EXPECT_EQ(v[13], 14);
}

TEST(BoolTest, Encoding) {
  Bytes out;
  BoolEncoder e(out);
  for (bool b : {true, true, false}) e.Append(b);
  e.Finish();
  EXPECT_EQ(HexEncode(out), "000201");
  auto d = DecodeBool(out, 10).value();
  EXPECT_EQ(d, (std::vector<bool>{true, true, false}));
}

TEST(StrRleTest, RoundTrip) {
  Bytes in = Hex("00017d04646f6e65026964057469746c65000a");
  auto dec = DecodeStrRle(in, 100).value();
  ASSERT_EQ(dec.size(), 14u);
  EXPECT_EQ(*dec[1], "done");
  Bytes out;
  StrRleEncoder e(out);
  for (const auto& x : dec) e.Append(x);
  e.Finish();
  EXPECT_EQ(out, in);
}

TEST(DecodeTest, HostileRunsAreRefused) {
  // A run of 2^40 values from five bytes.
  Bytes run = Hex("8080808080027f01");
  EXPECT_EQ(DecodeUintRle(run, 1000).error().code, ErrorCode::kOverflow);
  EXPECT_FALSE(DecodeBool(Hex("ffffffff0f"), 1000).has_value());
  EXPECT_FALSE(DecodeUintRle(Hex("7f"), 10).has_value());     // truncated
  EXPECT_FALSE(DecodeStrRle(Hex("7f05ab"), 10).has_value());  // overrun
  EXPECT_FALSE(DecodeStrRle(Hex("7f01ff"), 10).has_value());  // bad UTF-8
}

TEST(ValueTest, AllTypes) {
  std::vector<ScalarValue> vals = {ScalarValue::Null(),
                                   ScalarValue::Bool(false),
                                   ScalarValue::Bool(true),
                                   ScalarValue::Uint(300),
                                   ScalarValue::Int(-5),
                                   ScalarValue::F64(1.5),
                                   ScalarValue::Str("héllo"),
                                   ScalarValue::BytesValue("\x01\x02"),
                                   ScalarValue::Counter(10),
                                   ScalarValue::Timestamp(1700000000123),
                                   ScalarValue::Unknown(12, "xyz")};
  Bytes raw, meta;
  UintRleEncoder m(meta);
  for (const auto& v : vals) m.Append(EncodeValue(v, raw));
  m.Finish();
  auto back = DecodeValues(meta, raw, 100).value();
  ASSERT_EQ(back.size(), vals.size());
  for (size_t i = 0; i < vals.size(); ++i) EXPECT_TRUE(back[i] == vals[i]) << i;
  EXPECT_FALSE(DecodeValue(0x15, Hex("ff")).has_value());  // f64 of 1 byte
}

TEST(Utf8Test, Validation) {
  EXPECT_TRUE(IsValidUtf8("abc é 😀"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
}

}  // namespace
}  // namespace vudo::automerge::col
