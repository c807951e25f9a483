#include "net/endpoint_engine.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>

namespace vudo::net {
namespace {

using boost::asio::ip::make_address;

// A node: an engine bound to one simulated address.
struct Node {
  explicit Node(uint16_t port, StatelessResetKey key = {}, bool fixed = false)
      : secret(crypto::SecretKey::Generate()),
        tls(TlsContext::Create(secret).value()),
        addr(make_address("127.0.0.1"), port) {
    EndpointEngineConfig cfg;
    cfg.tls = tls.get();
    if (fixed) {
      cfg.reset_key = key;
      cfg.random_reset_key = false;
    }
    engine = std::make_unique<EndpointEngine>(cfg);
    engine->SetAlpns({"test/1"});
  }
  crypto::SecretKey secret;
  std::unique_ptr<TlsContext> tls;
  UdpEndpoint addr;
  std::unique_ptr<EndpointEngine> engine;
  std::vector<std::pair<std::shared_ptr<QuicConnection>, ConnEvent>> events;
};

// Moves datagrams between nodes on simulated time (100 us one way).
class Net {
 public:
  void Add(Node* n) { nodes_.push_back(n); }
  uint64_t now() const { return now_; }

  void Inject(const UdpEndpoint& from, const UdpEndpoint& to, Bytes data) {
    wire_.push_back({from, to, now_, std::move(data)});
  }

  void Step() {
    for (Node* n : nodes_) {
      n->engine->Send(now_, [&](const NetPath& p, ByteSpan d, size_t seg) {
        for (size_t off = 0; off < d.size(); off += seg) {
          size_t len = std::min(seg, d.size() - off);
          wire_.push_back({p.local, p.remote, now_ + 100'000,
                           Bytes(d.begin() + off, d.begin() + off + len)});
        }
      });
    }
    uint64_t next = UINT64_MAX;
    for (auto& w : wire_) next = std::min(next, w.at);
    for (Node* n : nodes_) next = std::min(next, n->engine->Expiry());
    if (next == UINT64_MAX) return;
    now_ = std::max(now_, next);
    std::deque<Wire> due;
    for (auto it = wire_.begin(); it != wire_.end();) {
      if (it->at <= now_) {
        due.push_back(std::move(*it));
        it = wire_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& w : due) {
      for (Node* n : nodes_)
        if (n->addr == w.to) {
          n->engine->Receive({w.to, w.from}, w.data, now_);
          if (tap) tap(w);
        }
    }
    for (Node* n : nodes_) {
      n->engine->HandleTimeout(now_);
      for (auto& e : n->engine->TakeEvents()) n->events.push_back(e);
      n->engine->Reap();
    }
  }

  bool RunUntil(const std::function<bool()>& pred, int max_steps = 20000) {
    for (int i = 0; i < max_steps; ++i) {
      if (pred()) return true;
      Step();
    }
    return pred();
  }

  struct Wire {
    UdpEndpoint from, to;
    uint64_t at;
    Bytes data;
  };
  std::function<void(const Wire&)> tap;

 private:
  std::vector<Node*> nodes_;
  std::deque<Wire> wire_;
  uint64_t now_ = 1'000'000'000;
};

std::shared_ptr<QuicConnection> Dial(Net& net, Node& from, Node& to,
                                     std::string alpn = "test/1") {
  return from.engine
      ->Connect({from.addr, to.addr}, to.secret.public_key(), alpn, net.now())
      .value();
}

TEST(EndpointEngineTest, DialAcceptAndBothRolesOnOneSocket) {
  Node a(1000), b(2000);
  Net net;
  net.Add(&a);
  net.Add(&b);
  auto ab = Dial(net, a, b);
  auto ba = Dial(net, b, a);  // the other way at the same time
  ASSERT_TRUE(net.RunUntil([&] {
    return ab->connected() && ba->connected() &&
           a.engine->stats().connections_established == 2 &&
           b.engine->stats().connections_established == 2;
  }));
  EXPECT_EQ(a.engine->connection_count(), 2u);
  EXPECT_EQ(b.engine->connection_count(), 2u);
  EXPECT_EQ(a.engine->stats().connections_accepted, 1u);
  EXPECT_EQ(a.engine->stats().connections_dialed, 1u);
  for (auto& c : b.engine->connections())
    EXPECT_EQ(*c->peer_id(), a.secret.public_key());
  EXPECT_GT(a.engine->stats().bytes_sent, 0u);
  EXPECT_GT(b.engine->stats().datagrams_received, 0u);
}

TEST(EndpointEngineTest, GarbageIsDroppedAndOthersKeepWorking) {
  Node a(1000), b(2000);
  Net net;
  net.Add(&a);
  net.Add(&b);
  auto ab = Dial(net, a, b);
  ASSERT_TRUE(net.RunUntil([&] { return ab->connected(); }));
  std::mt19937 rng(3);
  UdpEndpoint evil(make_address("127.0.0.1"), 6666);
  for (int i = 0; i < 500; ++i) {
    Bytes junk(std::uniform_int_distribution<size_t>(0, 1500)(rng));
    for (auto& x : junk) x = static_cast<uint8_t>(rng());
    b.engine->Receive({b.addr, evil}, junk, net.now());
  }
  // Truncated and replayed copies of real packets.
  std::vector<Bytes> seen;
  net.tap = [&](const Net::Wire& w) {
    if (w.to == b.addr) seen.push_back(w.data);
  };
  int64_t sid = ab->OpenStream(true).value();
  ASSERT_EQ(ab->Write(sid, AsBytes("hello")).value(), 5u);
  ASSERT_TRUE(ab->Finish(sid).has_value());
  a.engine->MarkDirty(ab.get());
  ASSERT_TRUE(net.RunUntil([&] { return !seen.empty(); }));
  for (auto& p : seen) {
    b.engine->Receive({b.addr, a.addr}, p, net.now());  // replay
    for (size_t cut = 1; cut < p.size(); cut += 7)
      b.engine->Receive({b.addr, a.addr}, ByteSpan(p).first(cut), net.now());
  }
  EXPECT_GT(b.engine->stats().garbage_dropped, 100u);
  EXPECT_EQ(b.engine->stats().connections_accepted, 1u);
  // The real connection still delivers.
  std::shared_ptr<QuicConnection> srv;
  for (auto& c : b.engine->connections()) srv = c;
  ASSERT_TRUE(srv);
  Bytes got;
  ASSERT_TRUE(net.RunUntil([&] {
    uint8_t buf[16];
    auto r = srv->Read(sid, buf);
    if (r) got.insert(got.end(), buf, buf + r->bytes);
    return r && r->fin;
  }));
  EXPECT_EQ(AsString(got), "hello");
  EXPECT_FALSE(ab->closing());
}

TEST(EndpointEngineTest, UnknownVersionGetsVersionNegotiation) {
  Node b(2000);
  Bytes pkt(1200, 0);
  pkt[0] = 0xc0;  // long header
  pkt[1] = 0x1a;  // version 0x1a2a3a4a
  pkt[2] = 0x2a;
  pkt[3] = 0x3a;
  pkt[4] = 0x4a;
  pkt[5] = 8;  // dcid len
  for (int i = 0; i < 8; ++i) pkt[6 + i] = uint8_t(i + 1);
  pkt[14] = 4;  // scid len
  for (int i = 0; i < 4; ++i) pkt[15 + i] = uint8_t(0xa0 + i);
  UdpEndpoint peer(make_address("127.0.0.1"), 4444);
  b.engine->Receive({b.addr, peer}, pkt, 1);
  std::vector<Bytes> out;
  b.engine->Send(2, [&](const NetPath& p, ByteSpan d, size_t) {
    EXPECT_EQ(p.remote, peer);
    out.push_back(ToBytes(d));
  });
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(b.engine->stats().version_negotiations_sent, 1u);
  const Bytes& vn = out[0];
  ASSERT_GE(vn.size(), 1 + 4 + 1 + 4 + 1 + 8 + 4u);
  EXPECT_TRUE(vn[0] & 0x80);
  EXPECT_EQ(LoadU32BE(&vn[1]), 0u);  // version 0 = negotiation
  EXPECT_EQ(vn[5], 4);               // dcid = the client's scid
  EXPECT_EQ(vn[6], 0xa0);
  EXPECT_EQ(LoadU32BE(&vn[vn.size() - 4]), 1u);  // offers QUIC v1
  EXPECT_EQ(b.engine->connection_count(), 0u);
}

TEST(EndpointEngineTest, RestartedPeerSendsStatelessReset) {
  StatelessResetKey key{};
  key[0] = 9;
  Node a(1000);
  auto b = std::make_unique<Node>(2000, key, true);
  Net net;
  net.Add(&a);
  net.Add(b.get());
  auto ab = Dial(net, a, *b);
  ASSERT_TRUE(net.RunUntil([&] { return ab->connected(); }));
  // b "restarts": a new engine with the same reset key and no connections.
  EndpointEngineConfig cfg;
  cfg.tls = b->tls.get();
  cfg.reset_key = key;
  cfg.random_reset_key = false;
  b->engine = std::make_unique<EndpointEngine>(cfg);
  int64_t sid = ab->OpenStream(true).value();
  Bytes payload(200, 1);
  ASSERT_EQ(ab->Write(sid, payload).value(), 200u);
  a.engine->MarkDirty(ab.get());
  ASSERT_TRUE(net.RunUntil([&] { return ab->closing(); }));
  EXPECT_EQ(ab->close_info().kind, CloseInfo::Kind::kStatelessReset)
      << ab->close_info().ToString();
  EXPECT_GE(b->engine->stats().stateless_resets_sent, 1u);
}

TEST(EndpointEngineTest, RefusedHandshakesAreCountedAndReaped) {
  Node a(1000), b(2000);
  Net net;
  net.Add(&a);
  net.Add(&b);
  auto bad_alpn = Dial(net, a, b, "unknown/9");
  ASSERT_TRUE(net.RunUntil([&] { return bad_alpn->closing(); }));
  EXPECT_EQ(bad_alpn->close_info().kind, CloseInfo::Kind::kRefused);
  ASSERT_TRUE(net.RunUntil([&] {
    return a.engine->connection_count() == 0 &&
           b.engine->connection_count() == 0;
  }));
  EXPECT_EQ(a.engine->stats().handshakes_failed, 1u);
  EXPECT_EQ(b.engine->stats().handshakes_failed, 1u);
}

}  // namespace
}  // namespace vudo::net
