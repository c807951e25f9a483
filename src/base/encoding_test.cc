#include "base/encoding.h"

#include <gtest/gtest.h>

#include <random>

namespace vudo {
namespace {

TEST(HexTest, RoundTripAndErrors) {
  Bytes b{0x00, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "00abff");
  EXPECT_EQ(HexDecode("00ABff").value(), b);
  EXPECT_EQ(HexDecode("abc").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(HexDecode("zz").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(HexDecode("").value().empty());
}

TEST(Base32Test, Rfc4648Vectors) {
  // RFC 4648 section 10, lowercased and unpadded.
  std::pair<const char*, const char*> v[] = {{"", ""},
                                             {"f", "my"},
                                             {"fo", "mzxq"},
                                             {"foo", "mzxw6"},
                                             {"foob", "mzxw6yq"},
                                             {"fooba", "mzxw6ytb"},
                                             {"foobar", "mzxw6ytboi"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(Base32Encode(AsBytes(plain)), enc);
    EXPECT_EQ(Base32Decode(enc).value(), ToBytes(std::string_view(plain)));
  }
  EXPECT_EQ(Base32Decode("MZXW6YTBOI").value(), ToBytes("foobar"));
}

TEST(Base32Test, RejectsGarbage) {
  EXPECT_EQ(Base32Decode("m").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base32Decode("mzx").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base32Decode("mz1q").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base32Decode("mz==").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base32Decode("mz").error().code, ErrorCode::kInvalidArgument)
      << "non-zero trailing bits";  // 'mz' leaves bits set
}

TEST(ZBase32Test, KnownVectorAndRoundTrip) {
  // From the z-base-32 specification: 0xF0 0xBF 0xC7 -> "6n9hq".
  Bytes b{0xf0, 0xbf, 0xc7};
  EXPECT_EQ(ZBase32Encode(b), "6n9hq");
  EXPECT_EQ(ZBase32Decode("6n9hq").value(), b);
  EXPECT_FALSE(ZBase32Decode("6n9hl"));  // 'l' not in the alphabet
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    Bytes d(rng() % 40);
    for (auto& x : d) x = uint8_t(rng());
    EXPECT_EQ(ZBase32Decode(ZBase32Encode(d)).value(), d);
    EXPECT_EQ(Base32Decode(Base32Encode(d)).value(), d);
  }
}

TEST(Base58Test, BitcoinVectors) {
  EXPECT_EQ(Base58Encode(AsBytes("Hello World!")), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(Base58Encode(Bytes{0, 0, 0x28, 0x7f, 0xb4, 0xcd}), "11233QC4");
  EXPECT_EQ(Base58Decode("11233QC4").value(),
            (Bytes{0, 0, 0x28, 0x7f, 0xb4, 0xcd}));
  EXPECT_EQ(Base58Encode({}), "");
  EXPECT_EQ(Base58Decode("0OIl").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base58Decode(std::string(5000, '2')).error().code,
            ErrorCode::kOverflow);
  std::mt19937 rng(9);
  for (int i = 0; i < 200; ++i) {
    Bytes d(rng() % 40);
    for (auto& x : d) x = (rng() % 4 == 0) ? 0 : uint8_t(rng());
    EXPECT_EQ(Base58Decode(Base58Encode(d)).value(), d);
  }
}

TEST(Base64Test, Rfc4648Vectors) {
  std::pair<const char*, const char*> v[] = {{"", ""},
                                             {"f", "Zg=="},
                                             {"fo", "Zm8="},
                                             {"foo", "Zm9v"},
                                             {"foob", "Zm9vYg=="},
                                             {"fooba", "Zm9vYmE="},
                                             {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), enc);
    EXPECT_EQ(Base64Decode(enc).value(), ToBytes(std::string_view(plain)));
  }
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\n").value(), ToBytes("foobar"));
  EXPECT_FALSE(Base64Decode("Zm9"));
  EXPECT_FALSE(Base64Decode("Zm=v"));
  EXPECT_FALSE(Base64Decode("Zh=="));  // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("Z!9v"));
}

}  // namespace
}  // namespace vudo
