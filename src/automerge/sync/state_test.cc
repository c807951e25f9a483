#include "automerge/sync/state.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/encoding.h"

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

TEST(SyncStateTest, PersistentFormMatchesAutomerge) {
  for (const char* name : kTranscripts) {
    SCOPED_TRACE(name);
    auto vector = LoadVector(name);
    Bytes wire = Hex(vector["encodedSyncStateX"]);
    auto state = SyncState::Decode(wire);
    ASSERT_TRUE(state.has_value()) << state.error().ToString();
    EXPECT_EQ(HexList(state->shared_heads),
              vector["headsX"].get<std::vector<std::string>>());
    EXPECT_EQ(state->Encode(), wire);
    EXPECT_TRUE(state->their_have.has_value());
    EXPECT_FALSE(state->their_heads.has_value());
    EXPECT_FALSE(state->in_flight);
  }
}

TEST(SyncStateTest, RejectsMalformedState) {
  auto r = SyncState::Decode({});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  r = SyncState::Decode(Hex("42"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  r = SyncState::Decode(Hex("4302" + std::string(64, '0')));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  r = SyncState::Decode(Hex("43ffffffff0f"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  r = SyncState::Decode(Hex("4380"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  auto empty = SyncState::Decode(Hex("4300"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->shared_heads.empty());
  EXPECT_EQ(SyncState().Encode(), Hex("4300"));
}

TEST(ChangeHashSetTest, BehavesLikeASet) {
  ChangeHashSet set;
  EXPECT_TRUE(set.empty());
  ChangeHash a{1}, b{2}, c{3};
  set.insert(c);
  set.insert(a);
  set.insert(c);
  EXPECT_TRUE(set.contains(a));
  EXPECT_FALSE(set.contains(b));
  EXPECT_EQ(set.size(), 2u);
  set.insert(b);
  EXPECT_TRUE(set.contains(b));
  EXPECT_EQ(set.sorted(), (HashList{a, b, c}));
  set.erase_if([&](const ChangeHash& h) { return h == b; });
  EXPECT_FALSE(set.contains(b));
  ChangeHashSet other;
  other.insert(c);
  other.insert(a);
  EXPECT_TRUE(set == other);
  set.clear();
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(a));
}

TEST(SyncStateTest, ReadOnlyToggle) {
  SyncState state = SyncState::New(/*read_only=*/true);
  state.their_capabilities = PeerCapabilities{true, true};
  state.shared_heads.push_back(ChangeHash{});
  state.in_flight = true;
  state.have_responded = true;
  state.SetReadOnly(false);
  EXPECT_FALSE(state.read_only);
  EXPECT_TRUE(state.needs_reset);
  EXPECT_TRUE(state.shared_heads.empty());
  EXPECT_FALSE(state.in_flight);
  EXPECT_TRUE(state.PeerSupportsSyncReset());
  state.in_flight = true;
  state.have_responded = true;
  state.SetReadOnly(true);
  EXPECT_TRUE(state.read_only);
  EXPECT_FALSE(state.in_flight);
  EXPECT_FALSE(state.have_responded);
}

}  // namespace
}  // namespace vudo::automerge::sync
