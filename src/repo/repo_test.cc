#include "repo/repo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>

#include "automerge/sync/sync.h"

namespace vudo::repo {
namespace {

namespace fs = std::filesystem;
namespace am = vudo::automerge;
namespace amsync = vudo::automerge::sync;

// An in-process network: every message is CBOR-encoded and decoded again,
// as on a real transport.
class TestNet {
 public:
  class Pipe : public Channel {
   public:
    Pipe(TestNet* net, Repo* target, PeerId from)
        : net_(net), target_(target), from_(std::move(from)) {}
    void Send(const Message& m) override {
      if (!closed_) net_->queue_.push_back({this, EncodeMessage(m)});
    }
    void Close(std::string_view reason) override {
      closed_ = true;
      close_reason_ = std::string(reason);
    }
    bool closed_ = false;
    std::string close_reason_;
    TestNet* net_;
    Repo* target_;
    PeerId from_;
  };

  // Connects a and b; returns {a->b pipe, b->a pipe}.
  std::pair<Pipe*, Pipe*> Connect(Repo& a, Repo& b) {
    pipes_.push_back(std::make_unique<Pipe>(this, &b, a.self()));
    Pipe* ab = pipes_.back().get();
    pipes_.push_back(std::make_unique<Pipe>(this, &a, b.self()));
    Pipe* ba = pipes_.back().get();
    a.AddPeer(b.self(), ab);
    b.AddPeer(a.self(), ba);
    return {ab, ba};
  }
  // Delivers raw bytes as if `from` had sent them to `to`.
  void Inject(Repo& to, const PeerId& from, Bytes bytes) {
    pipes_.push_back(std::make_unique<Pipe>(this, &to, from));
    queue_.push_back({pipes_.back().get(), std::move(bytes)});
  }
  // Delivers until quiet; returns the number of messages delivered.
  size_t Pump(size_t max = 100000) {
    size_t n = 0;
    while (!queue_.empty() && n < max) {
      auto [pipe, bytes] = std::move(queue_.front());
      queue_.pop_front();
      ++n;
      auto m = DecodeMessage(bytes);
      if (!m) {
        ADD_FAILURE() << "undecodable message on the wire: "
                      << m.error().ToString();
        continue;
      }
      pipe->target_->Receive(pipe->from_, *m);
    }
    return n;
  }
  std::deque<std::pair<Pipe*, Bytes>> queue_;
  std::vector<std::unique_ptr<Pipe>> pipes_;
};

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vudo-repo-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Repo> MakeRepo(const std::string& name,
                                 const SharePolicy* policy = nullptr) {
    stores_.push_back(Store::Open(dir_ / (name + ".db")).value());
    RepoOptions o;
    o.self = name;
    o.store = stores_.back().get();
    o.policy = policy;
    return std::make_unique<Repo>(o);
  }

  // A list of titles at "todos" (enough for these tests; the real model is
  // app::TodoList, a layer above).
  static Status AddTodo(am::Document& doc, const std::string& title) {
    auto list = doc.Get(am::kRoot, "todos");
    am::ObjId obj;
    if (!list) {
      VUDO_ASSIGN_OR_RETURN(
          obj, doc.PutObject(am::kRoot, "todos", am::ObjType::kList));
    } else {
      obj = list->obj;
    }
    VUDO_TRY(doc.Insert(obj, doc.Length(obj), am::ScalarValue::Str(title)));
    doc.Commit({.time = 1});
    return Ok();
  }

  static std::vector<std::string> Titles(am::Document* doc) {
    std::vector<std::string> out;
    auto list = doc->Get(am::kRoot, "todos");
    if (!list) return out;
    for (size_t i = 0; i < doc->Length(list->obj); ++i)
      out.push_back(doc->Get(list->obj, i)->scalar.s);
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<Store>> stores_;
  TestNet net_;
};

TEST_F(RepoTest, PeerFindsADocumentItDoesNotHave) {
  // alice does not announce her documents: bob has to ask.
  struct NoAnnounce : SharePolicy {
    bool Announce(const PeerId&, const DocumentId&) const override {
      return false;
    }
  } quiet;
  auto a = MakeRepo("alice", &quiet);
  auto b = MakeRepo("bob");
  auto id =
      a->Create([](am::Document& d) { return AddTodo(d, "milk"); }).value();
  net_.Connect(*a, *b);
  EXPECT_EQ(net_.Pump(), 0u) << "nothing announced";
  auto* doc = b->Find(id).value();
  EXPECT_GT(net_.Pump(), 0u);
  EXPECT_EQ(Titles(doc), (std::vector<std::string>{"milk"}));
  EXPECT_EQ(doc->Heads(), a->Get(id).value()->Heads());
}

TEST_F(RepoTest, AnnouncedDocumentsReachNewPeers) {
  auto a = MakeRepo("alice");
  auto b = MakeRepo("bob");
  auto id =
      a->Create([](am::Document& d) { return AddTodo(d, "milk"); }).value();
  net_.Connect(*a, *b);
  net_.Pump();
  EXPECT_EQ(Titles(b->Get(id).value()), (std::vector<std::string>{"milk"}));
}

TEST_F(RepoTest, ConcurrentEditsConvergeAcrossThreeNodesInALine) {
  auto a = MakeRepo("a");
  auto b = MakeRepo("b");
  auto c = MakeRepo("c");
  auto id =
      a->Create([](am::Document& d) { return AddTodo(d, "first"); }).value();
  net_.Connect(*a, *b);
  net_.Connect(*b, *c);
  b->Find(id).value();
  net_.Pump();
  c->Find(id).value();
  net_.Pump();
  ASSERT_EQ(Titles(c->Get(id).value()), (std::vector<std::string>{"first"}));
  ASSERT_TRUE(
      a->Change(id, [](am::Document& d) { return AddTodo(d, "from a"); }));
  ASSERT_TRUE(
      c->Change(id, [](am::Document& d) { return AddTodo(d, "from c"); }));
  net_.Pump();
  auto expected = std::vector<std::string>{"first", "from a", "from c"};
  EXPECT_EQ(Titles(a->Get(id).value()), expected);
  EXPECT_EQ(Titles(b->Get(id).value()), expected);
  EXPECT_EQ(Titles(c->Get(id).value()), expected);
  EXPECT_EQ(a->Get(id).value()->Heads(), c->Get(id).value()->Heads());
}

TEST_F(RepoTest, UnknownDocumentIsUnavailable) {
  auto a = MakeRepo("a");
  auto b = MakeRepo("b");
  net_.Connect(*a, *b);
  bool unavailable = false;
  b->OnUnavailable([&](const DocumentId&) { unavailable = true; });
  auto id = DocumentId::Random();
  b->Find(id).value();
  net_.Pump();
  EXPECT_TRUE(unavailable);
  EXPECT_EQ(b->Get(id).value()->NumChanges(), 0u);
  // Nothing was stored for it on either side.
  EXPECT_FALSE(stores_[0]->Load(id.ToString()).value().has_value());
}

TEST_F(RepoTest, PeersCannotMakeUsHoldArbitraryDocuments) {
  auto a = MakeRepo("a");
  auto b = MakeRepo("b");
  net_.Connect(*a, *b);
  // Valid sync messages of an empty document, for 100 random ids.
  am::Document empty(am::ActorId(16, 7));
  for (int i = 0; i < 100; ++i) {
    auto state = amsync::SyncState::New();
    auto bytes = amsync::GenerateSyncMessageBytes(empty, state).value();
    net_.Inject(
        *a, "b",
        EncodeMessage(SyncMessage{"b", "a", DocumentId::Random(), bytes}));
    net_.Inject(
        *a, "b",
        EncodeMessage(RequestMessage{"b", "a", DocumentId::Random(), bytes}));
  }
  net_.Pump();
  EXPECT_TRUE(a->Documents().empty());
  EXPECT_TRUE(stores_[0]->ListDocuments().value().empty());
}

TEST_F(RepoTest, ChangesSurviveARestartFromTheStore) {
  DocumentId id;
  std::vector<am::ChangeHash> heads;
  {
    auto a = MakeRepo("a");
    id = a->Create([](am::Document& d) { return AddTodo(d, "one"); }).value();
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(a->Change(id, [&](am::Document& d) {
        return AddTodo(d, "todo " + std::to_string(i));
      }));
    heads = a->Get(id).value()->Heads();
  }
  stores_.clear();
  auto again = MakeRepo("a");
  auto* doc = again->Get(id).value();
  EXPECT_EQ(doc->Heads(), heads);
  EXPECT_EQ(Titles(doc).size(), 21u);
}

TEST_F(RepoTest, CompactionKeepsEverything) {
  stores_.push_back(Store::Open(dir_ / "c.db").value());
  RepoOptions o;
  o.self = "c";
  o.store = stores_.back().get();
  o.compact_after = 5;
  DocumentId id;
  std::vector<am::ChangeHash> heads;
  {
    Repo r(o);
    id = r.Create([](am::Document& d) { return AddTodo(d, "x"); }).value();
    for (int i = 0; i < 12; ++i)
      ASSERT_TRUE(r.Change(
          id, [&](am::Document& d) { return AddTodo(d, std::to_string(i)); }));
    heads = r.Get(id).value()->Heads();
  }
  EXPECT_LE(o.store->PendingChanges(id.ToString()).value(), 5u);
  Repo again(o);
  EXPECT_EQ(again.Get(id).value()->Heads(), heads);
}

TEST_F(RepoTest, AccessControl) {
  AllowListPolicy policy;
  AllowListPolicy::Access access;
  access.read = std::set<PeerId>{"reader", "writer"};
  access.write = std::set<PeerId>{"writer"};
  policy.documents["*"] = access;
  auto owner = MakeRepo("owner", &policy);
  auto reader = MakeRepo("reader");
  auto writer = MakeRepo("writer");
  auto stranger = MakeRepo("stranger");
  auto id = owner->Create([](am::Document& d) { return AddTodo(d, "secret"); })
                .value();
  net_.Connect(*owner, *reader);
  net_.Connect(*owner, *writer);
  net_.Connect(*owner, *stranger);
  bool stranger_unavailable = false;
  stranger->OnUnavailable(
      [&](const DocumentId&) { stranger_unavailable = true; });
  reader->Find(id).value();
  writer->Find(id).value();
  stranger->Find(id).value();
  net_.Pump();
  EXPECT_TRUE(stranger_unavailable);
  EXPECT_EQ(stranger->Get(id).value()->NumChanges(), 0u);
  EXPECT_EQ(Titles(reader->Get(id).value()),
            (std::vector<std::string>{"secret"}));
  // The writer's edit is applied; the reader's is not.
  ASSERT_TRUE(
      writer->Change(id, [](am::Document& d) { return AddTodo(d, "w"); }));
  ASSERT_TRUE(
      reader->Change(id, [](am::Document& d) { return AddTodo(d, "r"); }));
  net_.Pump();
  EXPECT_EQ(Titles(owner->Get(id).value()),
            (std::vector<std::string>{"secret", "w"}));
  EXPECT_FALSE(policy.AllowPeer("x") == false);
}

TEST_F(RepoTest, MalformedSyncDataClosesOnlyThatPeer) {
  auto a = MakeRepo("a");
  auto b = MakeRepo("b");
  auto c = MakeRepo("c");
  auto id = a->Create([](am::Document& d) { return AddTodo(d, "x"); }).value();
  auto [ab, ba] = net_.Connect(*a, *b);
  auto [ac, ca] = net_.Connect(*a, *c);
  net_.Pump();
  // b sends garbage as a sync message.
  ba->Send(SyncMessage{"b", "a", id, Bytes{0x42, 0xff, 0xff, 0xff}});
  net_.Pump();
  EXPECT_TRUE(ab->closed_) << "a closes the connection to the offender";
  EXPECT_NE(ab->close_reason_.find("bad sync message"), std::string::npos);
  // a still serves c and its data is intact.
  c->Find(id).value();
  net_.Pump();
  EXPECT_EQ(Titles(c->Get(id).value()), (std::vector<std::string>{"x"}));
  EXPECT_EQ(Titles(a->Get(id).value()), (std::vector<std::string>{"x"}));
  EXPECT_FALSE(ac->closed_);
  // A message whose senderId is not the connection's peer is refused.
  net_.Inject(*a, "c", EncodeMessage(SyncMessage{"b", "a", id, Bytes{}}));
  net_.Pump();
  EXPECT_TRUE(ac->closed_);
  (void)ca;
}

}  // namespace
}  // namespace vudo::repo
