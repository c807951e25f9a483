#include "crypto/blake3.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/encoding.h"

namespace vudo::crypto {
namespace {

// The official vectors: input i is the byte pattern i % 251.
struct Vectors {
  std::string key;
  std::string context;
  nlohmann::json cases;
};

const Vectors& LoadVectors() {
  static const Vectors* vectors = [] {
    std::ifstream in(VUDO_SOURCE_DIR
                     "/src/crypto/testdata/blake3_vectors.json");
    auto* v = new Vectors;
    if (!in) return v;
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) return v;
    v->key = j.value("key", "");
    v->context = j.value("context_string", "");
    v->cases = j.value("cases", nlohmann::json::array());
    return v;
  }();
  return *vectors;
}

Bytes Input(size_t len) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = uint8_t(i % 251);
  return b;
}

std::array<uint8_t, 32> Key(const std::string& s) {
  std::array<uint8_t, 32> k{};
  EXPECT_EQ(s.size(), 32u);
  std::copy_n(s.begin(), std::min<size_t>(32, s.size()), k.begin());
  return k;
}

enum class Mode { kHash, kKeyed, kDerive };

Blake3Hasher MakeHasher(Mode mode, const Vectors& v) {
  switch (mode) {
    case Mode::kHash:
      return Blake3Hasher();
    case Mode::kKeyed:
      return Blake3Hasher::Keyed(Key(v.key));
    case Mode::kDerive:
      return Blake3Hasher::DeriveKey(v.context);
  }
  return Blake3Hasher();
}

const char* ModeField(Mode mode) {
  switch (mode) {
    case Mode::kHash:
      return "hash";
    case Mode::kKeyed:
      return "keyed_hash";
    case Mode::kDerive:
      return "derive_key";
  }
  return "";
}

TEST(Blake3Test, VectorFileIsComplete) {
  const Vectors& v = LoadVectors();
  ASSERT_TRUE(v.cases.is_array()) << "cannot read blake3_vectors.json";
  // All 35 lengths of the official file, from 0 to 102400 bytes.
  EXPECT_EQ(v.cases.size(), 35u);
  EXPECT_EQ(v.key, "whats the Elvish word for friend");
  EXPECT_EQ(v.context, "BLAKE3 2019-12-27 16:29:52 test vectors context");
}

class Blake3VectorTest : public testing::TestWithParam<Mode> {};

TEST_P(Blake3VectorTest, OneShotExtendedAndPrefix) {
  const Vectors& v = LoadVectors();
  ASSERT_FALSE(v.cases.empty());
  Mode mode = GetParam();
  for (const auto& c : v.cases) {
    size_t len = c.at("input_len").get<size_t>();
    std::string want = c.at(ModeField(mode)).get<std::string>();
    Bytes input = Input(len);
    Blake3Hasher h = MakeHasher(mode, v);
    h.Update(input);
    Bytes out(want.size() / 2);
    h.FinalizeXof(out);
    EXPECT_EQ(HexEncode(out), want) << "len " << len;
    EXPECT_EQ(HexEncode(h.Finalize()), want.substr(0, 64)) << "len " << len;
    // A shorter XOF request is a prefix of the longer one.
    Bytes part(37);
    h.FinalizeXof(part);
    EXPECT_EQ(HexEncode(part), want.substr(0, 74)) << "len " << len;
  }
}

TEST_P(Blake3VectorTest, IncrementalInOddPieces) {
  const Vectors& v = LoadVectors();
  ASSERT_FALSE(v.cases.empty());
  Mode mode = GetParam();
  const size_t kPieces[] = {1, 3, 7, 63, 64, 65, 1000, 1023, 1024, 1025, 4097};
  for (const auto& c : v.cases) {
    size_t len = c.at("input_len").get<size_t>();
    std::string want = c.at(ModeField(mode)).get<std::string>();
    Bytes input = Input(len);
    for (size_t piece : kPieces) {
      Blake3Hasher h = MakeHasher(mode, v);
      ByteSpan rest(input);
      size_t step = piece;
      while (!rest.empty()) {
        size_t n = std::min(step, rest.size());
        h.Update(rest.first(n));
        rest = rest.subspan(n);
        step = step * 3 % 1031 + 1;  // vary sizes: odd, not block aligned
      }
      h.Update({});  // empty updates change nothing
      Bytes out(want.size() / 2);
      h.FinalizeXof(out);
      EXPECT_EQ(HexEncode(out), want) << "len " << len << " piece " << piece;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, Blake3VectorTest,
                         testing::Values(Mode::kHash, Mode::kKeyed,
                                         Mode::kDerive));

TEST(Blake3Test, FinalizeDoesNotConsumeState) {
  Bytes input = Input(5000);
  Blake3Hasher h;
  h.Update(ByteSpan(input).first(2000));
  Blake3Digest mid = h.Finalize();
  EXPECT_EQ(mid, Blake3(ByteSpan(input).first(2000)));
  h.Update(ByteSpan(input).subspan(2000));
  EXPECT_EQ(h.Finalize(), Blake3(input));
}

TEST(Blake3Test, DeriveKeyHelperMatchesHasher) {
  const Vectors& v = LoadVectors();
  ASSERT_FALSE(v.cases.empty());
  for (const auto& c : v.cases) {
    size_t len = c.at("input_len").get<size_t>();
    std::string want = c.at("derive_key").get<std::string>();
    EXPECT_EQ(HexEncode(Blake3DeriveKey(v.context, Input(len))),
              want.substr(0, 64));
  }
}

TEST(Blake3Test, LongXofCrossesManyOutputBlocks) {
  // 1 MiB of output: the output block counter must keep counting, and any
  // shorter request is a prefix.
  Blake3Hasher h;
  h.Update(AsBytes("abc"));
  Bytes big(1 << 20);
  h.FinalizeXof(big);
  Bytes small(1000);
  h.FinalizeXof(small);
  EXPECT_TRUE(std::equal(small.begin(), small.end(), big.begin()));
  // Distinct 64-byte output blocks.
  EXPECT_FALSE(std::equal(big.begin(), big.begin() + 64, big.begin() + 64));
  h.FinalizeXof({});  // zero-length output is allowed
}

TEST(Blake3Test, IrohRelayContext) {
  // Modes are domain-separated: the same bytes differ per mode and context.
  Bytes challenge(16, 0x42);
  auto a =
      Blake3DeriveKey("iroh-relay handshake v1 challenge signature", challenge);
  auto b = Blake3DeriveKey("another context", challenge);
  EXPECT_NE(a, b);
  EXPECT_NE(a, Blake3(challenge));
}

}  // namespace
}  // namespace vudo::crypto
