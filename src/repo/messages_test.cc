#include "repo/messages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/encoding.h"
#include "repo/cbor_json.h"

namespace vudo::repo {
namespace {

using nlohmann::json;

// Frames captured from real automerge-repo 2.5 peers, objects encoded by its
// own cbor.encode, and invalid inputs (tests/interop/repo/gen_vectors.mjs).
const json& Vectors() {
  static const json* vectors = [] {
    std::ifstream in(VUDO_SOURCE_DIR
                     "/src/repo/testdata/repo_message_vectors.json");
    return new json(json::parse(in, nullptr, /*allow_exceptions=*/false));
  }();
  return *vectors;
}

const DocumentId kDoc =
    DocumentId::Parse("235mYAaFq3G2SdRxKfhYPkevRi8P").value();

// The fields vudo models, per type; the JSON of a vector restricted to them
// (plus the "metadata" alias renamed) is what a decode must reproduce.
const std::set<std::string>& KnownFields(const std::string& type) {
  static const std::map<std::string, std::set<std::string>> fields = {
      {"join",
       {"type", "senderId", "peerMetadata", "supportedProtocolVersions"}},
      {"peer",
       {"type", "senderId", "targetId", "peerMetadata",
        "selectedProtocolVersion"}},
      {"leave", {"type", "senderId"}},
      {"request", {"type", "senderId", "targetId", "documentId", "data"}},
      {"sync", {"type", "senderId", "targetId", "documentId", "data"}},
      {"doc-unavailable", {"type", "senderId", "targetId", "documentId"}},
      {"ephemeral",
       {"type", "senderId", "targetId", "documentId", "count", "sessionId",
        "data"}},
      {"remote-subscription-change",
       {"type", "senderId", "targetId", "add", "remove"}},
      {"remote-heads-changed",
       {"type", "senderId", "targetId", "documentId", "newHeads"}},
      {"error", {"type", "senderId", "targetId", "message"}},
  };
  static const std::set<std::string> none;
  auto it = fields.find(type);
  return it == fields.end() ? none : it->second;
}

json DropUndefined(const json& j) {
  if (j.is_object()) {
    json out = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_object() && it.value().contains("$undefined")) continue;
      out[it.key()] = DropUndefined(it.value());
    }
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& item : j) out.push_back(DropUndefined(item));
    return out;
  }
  return j;
}

json Expected(const json& vector_json) {
  json j = DropUndefined(vector_json);
  if (j.contains("metadata") && !j.contains("peerMetadata")) {
    j["peerMetadata"] = j["metadata"];
  }
  const auto& known = KnownFields(j.value("type", ""));
  json out = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (known.count(it.key())) out[it.key()] = it.value();
  }
  return out;
}

TEST(MessagesTest, VectorsCoverEveryType) {
  ASSERT_TRUE(Vectors().is_object()) << "cannot read repo_message_vectors.json";
  std::set<std::string> types;
  int captured = 0;
  for (const auto& v : Vectors()["messages"]) {
    types.insert(v["json"]["type"].get<std::string>());
    captured += v["origin"] == "captured";
  }
  EXPECT_EQ(types.size(), 10u);
  EXPECT_GE(captured, 10);
  EXPECT_GE(Vectors()["invalid"].size(), 10u);
}

TEST(MessagesTest, DecodesReferenceBytesAndReencodesIdentically) {
  ASSERT_TRUE(Vectors().is_object());
  int identical = 0;
  for (const auto& v : Vectors()["messages"]) {
    std::string name = v["name"];
    Bytes bytes = HexDecode(v["cbor"].get<std::string>()).value();
    auto msg = DecodeMessage(bytes);
    ASSERT_TRUE(msg) << name << ": " << msg.error().ToString();
    EXPECT_EQ(MessageType(*msg), v["json"]["type"].get<std::string>()) << name;
    auto actual = cbor::ToJson(MessageToCbor(*msg));
    ASSERT_TRUE(actual) << name;
    EXPECT_EQ(*actual, Expected(v["json"])) << name;
    Bytes again = EncodeMessage(*msg);
    if (v["identical"].get<bool>()) {
      ++identical;
      EXPECT_EQ(HexEncode(again), v["cbor"].get<std::string>()) << name;
    }
    // Decoding from an owned buffer (data reuses it) gives the same.
    auto owned = DecodeMessage(Bytes(bytes));
    ASSERT_TRUE(owned) << name;
    EXPECT_TRUE(*owned == *msg) << name;
    // Whatever vudo writes decodes to the same message.
    auto round = DecodeMessage(again);
    ASSERT_TRUE(round) << name;
    EXPECT_TRUE(*round == *msg) << name;
  }
  EXPECT_GE(identical, 15);
}

TEST(MessagesTest, RefusesInvalidVectorsWithClearErrors) {
  ASSERT_TRUE(Vectors().is_object());
  for (const auto& v : Vectors()["invalid"]) {
    std::string name = v["name"];
    Bytes bytes = HexDecode(v["cbor"].get<std::string>()).value();
    auto msg = DecodeMessage(bytes);
    ASSERT_FALSE(msg) << name << " decoded";
    EXPECT_EQ(ErrorCodeName(msg.error().code), v["error"].get<std::string>())
        << name << ": " << msg.error().ToString();
    EXPECT_NE(msg.error().message.find(v["contains"].get<std::string>()),
              std::string::npos)
        << name << ": " << msg.error().ToString();
  }
}

std::vector<Message> AllKinds() {
  return {
      JoinMessage{"a", PeerMetadata{"storage-1", false},
                  std::vector<std::string>{"1"}},
      JoinMessage{"a", std::nullopt, std::nullopt},
      PeerMessage{"b", "a", PeerMetadata{std::nullopt, true}, "1"},
      LeaveMessage{"a"},
      RequestMessage{"a", "b", kDoc, Bytes{0x42, 1, 2}},
      SyncMessage{"a", "b", kDoc, Bytes(70000, 0x5A)},
      DocUnavailableMessage{"b", "a", kDoc},
      EphemeralMessage{"a", "b", kDoc, 7, "session", Bytes{0xA0}},
      RemoteSubscriptionChangeMessage{
          "a", "b", std::vector<std::string>{"s1", "s2"}, std::nullopt},
      RemoteSubscriptionChangeMessage{"a", "b", std::nullopt,
                                      std::vector<std::string>{}},
      RemoteHeadsChangedMessage{"a",
                                "b",
                                kDoc,
                                {RemoteHeads{"s1", {"h1", "h2"}, 1710000000000},
                                 RemoteHeads{"s2", {}, 0}}},
      ErrorMessage{"a", "b", "unsupported protocol version"},
      ErrorMessage{std::nullopt, std::nullopt, "bad"},
  };
}

TEST(MessagesTest, RoundTripsEveryKind) {
  for (const Message& m : AllKinds()) {
    Bytes bytes = EncodeMessage(m);
    EXPECT_EQ(bytes, std::visit([](const auto& x) { return x.Encode(); }, m));
    auto back = DecodeMessage(bytes);
    ASSERT_TRUE(back) << MessageType(m) << ": " << back.error().ToString();
    EXPECT_TRUE(*back == m) << MessageType(m);
  }
}

TEST(MessagesTest, SyncMessageBytes) {
  // The exact bytes automerge-repo's cbor.encode writes for this sync
  // message (checked with node): 0xb9 map
  // head, fields in its order, data as a byte string, documentId as text.
  SyncMessage m{"a", "b", kDoc, Bytes{1, 2, 3}};
  EXPECT_EQ(HexEncode(m.Encode()),
            "b90005"
            "6474797065"
            "6473796e63"
            "68746172676574496461"
            "62"
            "6464617461"
            "43010203"
            "6a646f63756d656e744964"
            "781c"
            "3233356d5941614671334732536452784b666859506b"
            "657652693850"
            "6873656e6465724964"
            "6161");
}

TEST(MessagesTest, LargeIntegersAreWrittenAsJsNumbers) {
  // cbor-x decodes a 64-bit CBOR integer to a BigInt: write what it writes
  // for a JS number instead (float64 above 2^32 - 1).
  EphemeralMessage m{"a", "b", kDoc, 0xFFFFFFFF, "s", Bytes{1}};
  EXPECT_NE(HexEncode(m.Encode()).find("65636f756e741affffffff"),
            std::string::npos);
  m.count = 1710000000000;
  std::string hex = HexEncode(m.Encode());
  EXPECT_NE(hex.find("65636f756e74fb4278e23f14c00000"), std::string::npos);
  EXPECT_EQ(std::get<EphemeralMessage>(DecodeMessage(m.Encode()).value()).count,
            1710000000000u);
  m.count = (uint64_t{1} << 53) + 1;  // no JS number holds it: CBOR integer
  hex = HexEncode(m.Encode());
  EXPECT_NE(hex.find("65636f756e741b0020000000000001"), std::string::npos);
  EXPECT_EQ(std::get<EphemeralMessage>(DecodeMessage(m.Encode()).value()).count,
            (uint64_t{1} << 53) + 1);
}

TEST(MessagesTest, OversizedInputIsRefused) {
  Bytes small = LeaveMessage{"a"}.Encode();
  auto r = DecodeMessage(small, small.size() - 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOverflow);
  EXPECT_NE(r.error().message.find("exceeds"), std::string::npos);
  EXPECT_TRUE(DecodeMessage(small, small.size()));

  // A sync message just over the default 64 MiB cap.
  SyncMessage big{"a", "b", kDoc, Bytes(kMaxMessageBytes, 1)};
  Bytes bytes = big.Encode();
  ASSERT_GT(bytes.size(), kMaxMessageBytes);
  auto over = DecodeMessage(bytes);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kOverflow);
  // Within the cap, large data decodes.
  big.data.resize(kMaxMessageBytes - 200);
  auto ok = DecodeMessage(big.Encode());
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(std::get<SyncMessage>(*ok).data.size(), kMaxMessageBytes - 200);
}

cbor::Value Map(std::initializer_list<std::pair<const char*, cbor::Value>> f) {
  cbor::Value m = cbor::Value::Map();
  for (const auto& [k, v] : f) m.Add(k, v);
  return m;
}

TEST(MessagesTest, UnknownTypeIsADistinctError) {
  auto r = DecodeMessage(cbor::Encode(Map({{"type", cbor::Value::Text("x")}})));
  ASSERT_FALSE(r);
  EXPECT_TRUE(IsUnknownMessageType(r.error()));
  auto missing =
      DecodeMessage(cbor::Encode(Map({{"type", cbor::Value::Text("sync")}})));
  ASSERT_FALSE(missing);
  EXPECT_FALSE(IsUnknownMessageType(missing.error()));
  // A long attacker-chosen type is not echoed in full.
  auto longer = DecodeMessage(cbor::Encode(
      Map({{"type", cbor::Value::Text(std::string(10000, 'z'))}})));
  ASSERT_FALSE(longer);
  EXPECT_LT(longer.error().message.size(), 200u);
}

TEST(MessagesTest, NullAndUndefinedCountAsAbsent) {
  using V = cbor::Value;
  auto join = DecodeMessage(
      cbor::Encode(Map({{"type", V::Text("join")},
                        {"senderId", V::Text("a")},
                        {"peerMetadata", Map({{"storageId", V::Undefined()},
                                              {"isEphemeral", V::Bool(true)}})},
                        {"supportedProtocolVersions", V::Null()}})));
  ASSERT_TRUE(join) << join.error().ToString();
  const auto& j = std::get<JoinMessage>(*join);
  ASSERT_TRUE(j.peer_metadata);
  EXPECT_FALSE(j.peer_metadata->storage_id);
  EXPECT_EQ(j.peer_metadata->is_ephemeral, true);
  EXPECT_FALSE(j.supported_protocol_versions);
  EXPECT_EQ(SelectProtocolVersion(j), "1");

  auto leave = DecodeMessage(
      cbor::Encode(Map({{"type", V::Text("leave")}, {"senderId", V::Null()}})));
  ASSERT_FALSE(leave);
  EXPECT_NE(leave.error().message.find("senderId"), std::string::npos);
}

TEST(MessagesTest, AcceptsTaggedUint8ArrayAndFloatTimestamps) {
  using V = cbor::Value;
  // cbor-x with tagUint8Array (its default) writes tag 64 around the bytes.
  auto sync = DecodeMessage(
      cbor::Encode(Map({{"type", V::Text("sync")},
                        {"senderId", V::Text("a")},
                        {"targetId", V::Text("b")},
                        {"documentId", V::Text(kDoc.ToString())},
                        {"data", V::Tag(64, V::FromBytes(Bytes{9, 8}))}})));
  ASSERT_TRUE(sync) << sync.error().ToString();
  EXPECT_EQ(std::get<SyncMessage>(*sync).data, (Bytes{9, 8}));

  auto heads = DecodeMessage(cbor::Encode(
      Map({{"type", V::Text("remote-heads-changed")},
           {"senderId", V::Text("a")},
           {"targetId", V::Text("b")},
           {"documentId", V::Text(kDoc.ToString())},
           {"newHeads",
            Map({{"s", Map({{"heads", V::Array({V::Text("h")})},
                            {"timestamp", V::Float(1710000000000.0)}})}})}})));
  ASSERT_TRUE(heads) << heads.error().ToString();
  EXPECT_EQ(std::get<RemoteHeadsChangedMessage>(*heads).new_heads[0].timestamp,
            1710000000000u);
}

TEST(MessagesTest, SelectProtocolVersion) {
  JoinMessage j{"a", std::nullopt, std::vector<std::string>{"2", "1"}};
  EXPECT_EQ(SelectProtocolVersion(j), "1");
  j.supported_protocol_versions = std::vector<std::string>{"2"};
  EXPECT_EQ(SelectProtocolVersion(j), std::nullopt);
  j.supported_protocol_versions = std::vector<std::string>{};
  EXPECT_EQ(SelectProtocolVersion(j), std::nullopt);
}

}  // namespace
}  // namespace vudo::repo
