#include "automerge/change.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/encoding.h"

namespace vudo::automerge {
namespace {

nlohmann::json LoadJson(const std::string& name) {
  std::ifstream f(std::string(VUDO_SHARED_DIR) +
                  "/testdata/automerge/vectors/" + name);
  return nlohmann::json::parse(f);
}

std::vector<std::pair<std::string, std::string>> AllVectorChanges() {
  std::vector<std::pair<std::string, std::string>> out;
  auto todo = LoadJson("todo_changes.json");
  auto extra = LoadJson("extra_vectors.json");
  for (const auto& c : todo["changes"]) out.emplace_back(c["hex"], c["hash"]);
  for (const auto& c : extra["steps"]) out.emplace_back(c["hex"], c["hash"]);
  auto fc = LoadJson("format_checks.json");
  out.emplace_back(fc["authorFooter"]["changeHex"], "");
  return out;
}

TEST(ChangeTest, DecodesAndReencodesVectorsByteForByte) {
  auto all = AllVectorChanges();
  ASSERT_GE(all.size(), 12u);
  for (const auto& [hex, hash] : all) {
    Bytes chunk = HexDecode(hex).value();
    auto ch = DecodeChange(chunk);
    ASSERT_TRUE(ch.has_value()) << ch.error().ToString();
    if (!hash.empty()) {
      EXPECT_EQ(HashToHex(ch->hash), hash);
    }
    EXPECT_EQ(ch->bytes, chunk);
    Change copy = *ch;
    copy.bytes.clear();
    ASSERT_TRUE(EncodeChange(copy).has_value());
    EXPECT_EQ(HexEncode(copy.bytes), hex);
    EXPECT_EQ(copy.hash, ch->hash);
  }
}

TEST(ChangeTest, DecodedFields) {
  auto j = LoadJson("todo_changes.json");
  Bytes chunk = HexDecode(j["changes"][5]["hex"].get<std::string>()).value();
  auto ch = DecodeChange(chunk).value();
  EXPECT_EQ(ch.seq, 4u);
  EXPECT_EQ(ch.start_op, 37u);
  EXPECT_EQ(ch.message, "resolve");
  ASSERT_EQ(ch.deps.size(), 2u);
  ASSERT_EQ(ch.ops.size(), 2u);
  EXPECT_EQ(ch.ops[0].key, "done");
  ASSERT_EQ(ch.ops[0].pred.size(), 2u);
  EXPECT_EQ(ch.ops[0].pred[1].counter, 31u);
  EXPECT_EQ(ch.ActorAt(ch.ops[0].pred[1].actor), Bytes(16, 0xbb));
  EXPECT_EQ(ch.ops[1].action, Action::kDel);
}

TEST(ChangeTest, CompressedChunk) {
  auto fc = LoadJson("format_checks.json");
  Bytes comp =
      HexDecode(fc["compressedChangeChunkType2"]["hex"].get<std::string>())
          .value();
  auto ch = DecodeChange(comp);
  ASSERT_TRUE(ch.has_value()) << ch.error().ToString();
  auto j = LoadJson("todo_changes.json");
  EXPECT_EQ(HashToHex(ch->hash), j["changes"][1]["hash"]);
  auto again = CompressChange(ch->bytes).value();
  EXPECT_EQ(DecodeChange(again).value().bytes, ch->bytes);
}

TEST(ChangeTest, RefusesCorruption) {
  auto j = LoadJson("todo_changes.json");
  Bytes chunk = HexDecode(j["changes"][1]["hex"].get<std::string>()).value();
  Bytes bad = chunk;
  bad[4] ^= 1;
  EXPECT_EQ(DecodeChange(bad).error().code, ErrorCode::kCorrupt);
  for (size_t n = 0; n < chunk.size(); ++n)
    EXPECT_FALSE(DecodeChange(ByteSpan(chunk).first(n)).has_value()) << n;
  // Flip each body byte: never a crash; usually an error (checksum).
  for (size_t i = 9; i < chunk.size(); ++i) {
    Bytes c = chunk;
    c[i] ^= 0x5a;
    (void)DecodeChange(c);
  }
}

}  // namespace
}  // namespace vudo::automerge
