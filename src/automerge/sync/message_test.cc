#include "automerge/sync/message.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/encoding.h"
#include "base/leb128.h"

namespace vudo::automerge::sync {
namespace {

nlohmann::json LoadVector(const std::string& name) {
  std::ifstream in(std::string(VUDO_SHARED_DIR) +
                   "/testdata/automerge/vectors/" + name);
  EXPECT_TRUE(in.good()) << "missing test vector " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

Bytes Hex(const std::string& hex) {
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or(Bytes{});
}

std::vector<std::string> HexList(const HashList& hashes) {
  std::vector<std::string> out;
  for (const auto& h : hashes) out.push_back(HexEncode(h));
  return out;
}

const char* kTranscripts[] = {"sync_concurrent.json", "sync_concurrent_v1.json",
                              "sync_fresh_peer.json",
                              "sync_fresh_peer_v1.json"};

// Every message automerge-js wrote decodes to what its own parser saw and
// encodes back to the same bytes.
TEST(SyncMessageTest, TranscriptsDecodeAndReencodeByteForByte) {
  int messages = 0;
  for (const char* name : kTranscripts) {
    auto vector = LoadVector(name);
    for (const auto& m : vector["messages"]) {
      SCOPED_TRACE(std::string(name) + " message " + std::to_string(messages));
      Bytes wire = Hex(m["hex"]);
      auto decoded = DecodeMessage(wire);
      ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
      const auto& parsed = m["parsed"];
      EXPECT_EQ(decoded->version == MessageVersion::kV1 ? "0x42" : "0x43",
                parsed["type"].get<std::string>());
      EXPECT_EQ(HexList(decoded->heads),
                parsed["heads"].get<std::vector<std::string>>());
      EXPECT_EQ(HexList(decoded->need),
                parsed["need"].get<std::vector<std::string>>());
      ASSERT_EQ(decoded->have.size(), parsed["have"].size());
      for (size_t i = 0; i < decoded->have.size(); ++i) {
        const auto& have = decoded->have[i];
        const auto& want = parsed["have"][i];
        EXPECT_EQ(HexList(have.last_sync),
                  want["lastSync"].get<std::vector<std::string>>());
        if (want["bloom"].contains("numEntries")) {
          EXPECT_EQ(have.bloom.num_entries(), want["bloom"]["numEntries"]);
          EXPECT_EQ(have.bloom.bits_per_entry(), want["bloom"]["bitsPerEntry"]);
          EXPECT_EQ(have.bloom.num_probes(), want["bloom"]["probes"]);
          EXPECT_EQ(HexEncode(have.bloom.bits()),
                    want["bloom"]["bitsHex"].get<std::string>());
        } else {
          EXPECT_EQ(have.bloom.num_entries(), 0u);
        }
      }
      ASSERT_EQ(decoded->changes.size(), parsed["changes"].size());
      for (size_t i = 0; i < decoded->changes.size(); ++i) {
        EXPECT_EQ(decoded->changes[i].size(), parsed["changes"][i]["len"]);
      }
      if (parsed["flagsBytes"].is_null()) {
        EXPECT_FALSE(decoded->flags.has_value());
      } else {
        ASSERT_TRUE(decoded->flags.has_value());
        EXPECT_EQ(*decoded->flags, ParseFlagBytes(Hex(parsed["flagsBytes"])));
      }
      EXPECT_EQ(HexEncode(EncodeMessage(*decoded)), m["hex"]);
      EXPECT_EQ(EncodedMessageSize(*decoded), wire.size());
      ++messages;
    }
  }
  EXPECT_EQ(messages, 16);
}

// A large real message from automerge's benchmark battery.
TEST(SyncMessageTest, CorpusMessageDecodesAndReencodes) {
  std::ifstream in(std::string(VUDO_SHARED_DIR) +
                       "/testdata/automerge/corpus/slowSyncMessage.amrgsync",
                   std::ios::binary);
  ASSERT_TRUE(in.good());
  Bytes wire((std::istreambuf_iterator<char>(in)),
             std::istreambuf_iterator<char>());
  auto decoded = DecodeMessage(wire);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_FALSE(decoded->changes.empty());
  EXPECT_EQ(EncodeMessage(*decoded), wire);
}

TEST(SyncMessageTest, AutomergeFlagsTrailer) {
  EXPECT_EQ(ParseFlagBytes(Hex("0284")), kFlagSupportsSyncReset);
  EXPECT_EQ(ParseFlagBytes(Hex("0287")),
            kFlagSyncReset | kFlagReadOnly | kFlagSupportsSyncReset);
  // Pre-bitfield peers wrote only the legacy 0x02 byte: v2 capable, no
  // flags.
  EXPECT_EQ(ParseFlagBytes(Hex("02")), 0);
  Message m;
  m.flags = kFlagReadOnly | kFlagSupportsSyncReset;
  EXPECT_EQ(HexEncode(EncodeMessage(m)), "4200000000020286");
  auto back = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
  auto legacy = DecodeMessage(Hex("42000000000102"));
  ASSERT_TRUE(legacy.has_value());
  EXPECT_EQ(legacy->flags, std::optional<uint8_t>(0));
}

TEST(SyncMessageTest, IgnoresBytesAfterTheTrailer) {
  auto m = DecodeMessage(Hex("420000000002028400ffee"));
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->flags, std::optional<uint8_t>(kFlagSupportsSyncReset));
}

void ExpectRejected(const std::string& hex, ErrorCode code) {
  SCOPED_TRACE(hex);
  auto m = DecodeMessage(Hex(hex));
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, code) << m.error().ToString();
  EXPECT_FALSE(m.error().message.empty());
}

TEST(SyncMessageTest, RejectsMalformedMessagesWithClearErrors) {
  ExpectRejected("", ErrorCode::kTruncated);
  ExpectRejected("41", ErrorCode::kUnsupported);
  ExpectRejected("42", ErrorCode::kTruncated);
  // One head announced, 31 bytes present.
  ExpectRejected("4201" + std::string(62, 'a'), ErrorCode::kTruncated);
  // 2^40 heads announced: must fail before allocating.
  ExpectRejected("428080808080200000", ErrorCode::kTruncated);
  // Overlong LEB128 count.
  ExpectRejected("4280000000", ErrorCode::kInvalidArgument);
  // Count beyond 64 bits.
  ExpectRejected("42ffffffffffffffffff7f", ErrorCode::kOverflow);
  // A have entry whose bloom length runs past the end.
  ExpectRejected("42000001000500", ErrorCode::kTruncated);
  // A have entry with a bloom that is too short for its parameters.
  ExpectRejected("420000010004030a0700", ErrorCode::kTruncated);
  // More have entries than we accept (automerge sends at most one).
  ExpectRejected("420000" + std::string("11") + std::string(17 * 4, '0'),
                 ErrorCode::kInvalidArgument);
  // Many have entries announced, few bytes.
  ExpectRejected("42000080800400", ErrorCode::kTruncated);
  // A change whose length runs past the end.
  ExpectRejected("4200000001050102", ErrorCode::kTruncated);
  // Many changes announced.
  ExpectRejected("42000000ffffff0f", ErrorCode::kTruncated);
  // A flags trailer whose length runs past the end.
  ExpectRejected("420000000003", ErrorCode::kTruncated);
}

TEST(SyncMessageTest, EveryTruncationOfARealMessageFailsCleanly) {
  auto vector = LoadVector("sync_concurrent.json");
  for (const auto& m : vector["messages"]) {
    Bytes wire = Hex(m["hex"]);
    auto full = DecodeMessage(wire);
    ASSERT_TRUE(full.has_value());
    for (size_t n = 0; n < wire.size(); ++n) {
      auto r = DecodeMessage(ByteSpan(wire.data(), n));
      // A prefix that ends exactly after the changes is a valid message
      // without a flags trailer; every other prefix must fail.
      if (r.has_value()) {
        EXPECT_FALSE(r->flags.has_value()) << n;
        EXPECT_EQ(r->changes, full->changes);
      }
    }
  }
}

}  // namespace
}  // namespace vudo::automerge::sync
