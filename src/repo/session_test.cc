#include "repo/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <random>

namespace vudo::repo {
namespace {

namespace fs = std::filesystem;
namespace am = vudo::automerge;

// Two byte streams joined back to back; bytes are delivered in random-sized
// pieces by Pump().
struct Wire {
  struct End : ByteStream {
    Wire* wire;
    int side;
    void Write(Bytes data) override {
      if (!wire->closed) wire->in_flight[1 - side].push_back(std::move(data));
    }
    void Close(std::string_view reason) override {
      wire->closed = true;
      wire->reason = std::string(reason);
    }
  };
  End ends[2];
  PeerSession* sessions[2] = {nullptr, nullptr};
  std::deque<Bytes> in_flight[2];
  bool closed = false;
  bool notified = false;
  std::string reason;
  std::mt19937 rng{5};

  Wire() {
    for (int i = 0; i < 2; ++i) {
      ends[i].wire = this;
      ends[i].side = i;
    }
  }
  void Pump() {
    for (int rounds = 0; rounds < 100000; ++rounds) {
      bool any = false;
      for (int i = 0; i < 2; ++i) {
        if (in_flight[i].empty()) continue;
        any = true;
        Bytes b = std::move(in_flight[i].front());
        in_flight[i].pop_front();
        // Deliver in random pieces.
        size_t pos = 0;
        while (pos < b.size()) {
          size_t n = std::min<size_t>(b.size() - pos, 1 + rng() % 64);
          sessions[i]->OnBytes(ByteSpan(b).subspan(pos, n));
          pos += n;
        }
      }
      if (closed && !notified) {
        notified = true;
        sessions[0]->OnClosed();
        sessions[1]->OnClosed();
      }
      if (!any) return;
    }
  }
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vudo-session-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<Repo> MakeRepo(const std::string& name) {
    stores_.push_back(Store::Open(dir_ / (name + ".db")).value());
    RepoOptions o;
    o.self = name;
    o.store = stores_.back().get();
    return std::make_unique<Repo>(o);
  }
  fs::path dir_;
  std::vector<std::unique_ptr<Store>> stores_;
};

TEST_F(SessionTest, HandshakeThenSyncWithAuthenticatedIds) {
  auto a = MakeRepo("a-random-peer-id");
  auto b = MakeRepo("b-random-peer-id");
  auto id =
      a->Create([](am::Document& d) {
         return d.Put(am::kRoot, "greeting", am::ScalarValue::Str("hello"));
       }).value();
  Wire w;
  PeerSession sa(a.get(), &w.ends[0],
                 {PeerSession::Role::kInitiator, "node-b-key", {}});
  PeerSession sb(b.get(), &w.ends[1],
                 {PeerSession::Role::kAcceptor, "node-a-key", {}});
  w.sessions[0] = &sa;
  w.sessions[1] = &sb;
  sa.Start();
  w.Pump();
  ASSERT_TRUE(sa.ready());
  ASSERT_TRUE(sb.ready());
  EXPECT_EQ(a->Peers(), (std::vector<PeerId>{"node-b-key"}));
  EXPECT_EQ(b->Peers(), (std::vector<PeerId>{"node-a-key"}));
  b->Find(id).value();
  w.Pump();
  EXPECT_EQ(b->Get(id).value()->Get(am::kRoot, "greeting")->scalar.s, "hello");
  EXPECT_FALSE(w.closed);
  sa.Close("bye");
  w.Pump();
  EXPECT_TRUE(a->Peers().empty());
  EXPECT_TRUE(b->Peers().empty());
}

TEST_F(SessionTest, GarbageAndOversizedFramesCloseTheSession) {
  auto a = MakeRepo("a");
  auto b = MakeRepo("b");
  for (Bytes junk : {Bytes{0, 0, 0, 3, 0xff, 0xff, 0xff},  // bad CBOR
                     Bytes{0xff, 0xff, 0xff, 0xff},        // huge frame
                     EncodeFrame(EncodeMessage(SyncMessage{})).value()}) {
    Wire w;
    PeerSession sb(b.get(), &w.ends[1], {PeerSession::Role::kAcceptor, {}, {}});
    w.sessions[1] = &sb;
    PeerSession sa(a.get(), &w.ends[0],
                   {PeerSession::Role::kInitiator, {}, {}});
    w.sessions[0] = &sa;
    sb.OnBytes(junk);
    EXPECT_TRUE(sb.closed()) << sb.close_reason();
    EXPECT_FALSE(sb.ready());
    EXPECT_TRUE(b->Peers().empty());
  }
}

TEST_F(SessionTest, UnsupportedVersionIsRefused) {
  auto a = MakeRepo("a");
  auto b = MakeRepo("b");
  Wire w;
  PeerSession sb(b.get(), &w.ends[1], {PeerSession::Role::kAcceptor, {}, {}});
  PeerSession sa(a.get(), &w.ends[0], {PeerSession::Role::kInitiator, {}, {}});
  w.sessions[0] = &sa;
  w.sessions[1] = &sb;
  JoinMessage join;
  join.sender_id = "a";
  join.supported_protocol_versions = std::vector<std::string>{"2"};
  sb.OnBytes(EncodeFrame(EncodeMessage(join)).value());
  EXPECT_TRUE(sb.closed());
  EXPECT_NE(sb.close_reason().find("protocol version"), std::string::npos);
  w.Pump();
  EXPECT_TRUE(sa.closed()) << "the initiator sees the error and closes";
}

}  // namespace
}  // namespace vudo::repo
