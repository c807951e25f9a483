#include "base/inflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace vudo {
namespace {

Bytes Deflate(const std::string& text, bool gzip) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, gzip ? 16 + MAX_WBITS : -MAX_WBITS,
                         8, Z_DEFAULT_STRATEGY),
            Z_OK);
  Bytes out(deflateBound(&zs, text.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Text() {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

TEST(InflateTest, RoundTripsBothFormats) {
  for (bool gzip : {false, true}) {
    auto fmt = gzip ? InflateFormat::kGzip : InflateFormat::kRawDeflate;
    auto out = InflateBytes(Deflate(Text(), gzip), fmt, 1 << 20);
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_EQ(std::string(out->begin(), out->end()), Text());
  }
}

TEST(InflateTest, RefusesBadInput) {
  Bytes raw = Deflate(Text(), false);
  // Truncated.
  Bytes cut(raw.begin(), raw.begin() + raw.size() / 2);
  auto t = InflateBytes(cut, InflateFormat::kRawDeflate, 1 << 20);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kCorrupt);
  // Trailing bytes.
  Bytes extra = raw;
  extra.push_back(0);
  EXPECT_FALSE(InflateBytes(extra, InflateFormat::kRawDeflate, 1 << 20));
  // Output cap (a zip bomb is refused, not allocated).
  auto big = InflateBytes(raw, InflateFormat::kRawDeflate, 1000);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kOverflow);
  // Wrong format.
  EXPECT_FALSE(InflateBytes(raw, InflateFormat::kGzip, 1 << 20));
  EXPECT_FALSE(InflateBytes(Bytes{1, 2, 3}, InflateFormat::kRawDeflate, 100));
}

}  // namespace
}  // namespace vudo
