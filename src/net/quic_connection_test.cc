#include "net/quic_connection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

namespace vudo::net {
namespace {

using boost::asio::ip::make_address;

// Two engines joined by a simulated network with loss, delay and reordering,
// on simulated time.
class Sim {
 public:
  struct Options {
    double loss = 0;              // drop probability per datagram
    uint64_t delay_ns = 100'000;  // one-way
    uint64_t jitter_ns = 0;       // uniform extra delay (reorders)
    std::vector<std::string> server_alpns = {"test/1"};
    std::string client_alpn = "test/1";
    bool wrong_pin = false;
    bool client_without_key = false;
    std::function<bool(const NodeId&)> allow_peer;
    TransportConfig transport;
    uint32_t seed = 1;
  };

  explicit Sim(Options o) : opts_(std::move(o)), rng_(opts_.seed) {
    client_key_ = crypto::SecretKey::Generate();
    server_key_ = crypto::SecretKey::Generate();
    client_tls_ = opts_.client_without_key
                      ? TlsContext::CreateWithoutKeyForTesting().value()
                      : TlsContext::Create(client_key_).value();
    server_tls_ = TlsContext::Create(server_key_).value();
    client_path_ = {{make_address("127.0.0.1"), 1111},
                    {make_address("127.0.0.1"), 2222}};
    QuicConnection::Options co;
    co.tls = client_tls_.get();
    co.transport = opts_.transport;
    co.path = client_path_;
    co.now = now_;
    co.expected_peer = opts_.wrong_pin
                           ? crypto::SecretKey::Generate().public_key()
                           : server_key_.public_key();
    co.alpns = {opts_.client_alpn};
    client_ = QuicConnection::Connect(co).value();
  }

  QuicConnection& client() { return *client_; }
  QuicConnection* server() { return server_.get(); }
  uint64_t now() const { return now_; }
  const crypto::SecretKey& client_key() const { return client_key_; }
  const crypto::SecretKey& server_key() const { return server_key_; }
  std::vector<ConnEvent>& client_events() { return client_events_; }
  std::vector<ConnEvent>& server_events() { return server_events_; }
  uint64_t dropped() const { return dropped_; }
  // Largest datagram sent before the client was connected, and overall.
  size_t max_handshake_datagram() const { return max_handshake_datagram_; }
  size_t max_datagram() const { return max_datagram_; }

  // One step: both sides send, then time moves to the next delivery or
  // timer, which fires.
  void Step() {
    Drain();
    uint64_t next = UINT64_MAX;
    for (auto& p : wire_) next = std::min(next, p.at);
    next = std::min(next, client_->Expiry());
    if (server_) next = std::min(next, server_->Expiry());
    if (next == UINT64_MAX) return;
    if (next > now_) now_ = next;
    std::deque<Packet> due;
    for (auto it = wire_.begin(); it != wire_.end();) {
      if (it->at <= now_) {
        due.push_back(std::move(*it));
        it = wire_.erase(it);
      } else {
        ++it;
      }
    }
    std::stable_sort(
        due.begin(), due.end(),
        [](const Packet& a, const Packet& b) { return a.at < b.at; });
    for (auto& p : due) Deliver(p);
    if (client_->Expiry() <= now_) client_->HandleTimeout(now_);
    if (server_ && server_->Expiry() <= now_) server_->HandleTimeout(now_);
    Collect();
  }

  bool RunUntil(const std::function<bool()>& pred, int max_steps = 100000) {
    for (int i = 0; i < max_steps; ++i) {
      if (pred()) return true;
      Step();
    }
    return pred();
  }
  void RunFor(uint64_t ns) {
    uint64_t end = now_ + ns;
    while (now_ < end) {
      uint64_t before = now_;
      Step();
      if (now_ == before && wire_.empty() && client_->Expiry() == UINT64_MAX &&
          (!server_ || server_->Expiry() == UINT64_MAX))
        break;
    }
  }

  void Drain() {
    client_->Send(now_, [&](const NetPath& path, ByteSpan d, size_t seg) {
      Emit(true, path, d, seg);
    });
    if (server_)
      server_->Send(now_, [&](const NetPath& path, ByteSpan d, size_t seg) {
        Emit(false, path, d, seg);
      });
    Collect();
  }

 private:
  struct Packet {
    bool to_server;
    uint64_t at;
    Bytes data;
  };

  void Emit(bool to_server, const NetPath&, ByteSpan d, size_t seg) {
    for (size_t off = 0; off < d.size(); off += seg) {
      size_t len = std::min(seg, d.size() - off);
      max_datagram_ = std::max(max_datagram_, len);
      if (!client_->connected())
        max_handshake_datagram_ = std::max(max_handshake_datagram_, len);
      if (std::uniform_real_distribution<>(0, 1)(rng_) < opts_.loss) {
        ++dropped_;
        continue;
      }
      uint64_t jitter = opts_.jitter_ns
                            ? std::uniform_int_distribution<uint64_t>(
                                  0, opts_.jitter_ns)(rng_)
                            : 0;
      wire_.push_back(Packet{to_server, now_ + opts_.delay_ns + jitter,
                             Bytes(d.begin() + off, d.begin() + off + len)});
    }
  }

  void Deliver(const Packet& p) {
    if (!p.to_server) {
      client_->Receive(client_path_, p.data, now_);
      return;
    }
    NetPath sp{client_path_.remote, client_path_.local};
    if (!server_) {
      QuicConnection::Options so;
      so.tls = server_tls_.get();
      so.transport = opts_.transport;
      so.path = sp;
      so.now = now_;
      so.alpns = opts_.server_alpns;
      so.allow_peer = opts_.allow_peer;
      auto s = QuicConnection::Accept(so, p.data);
      if (!s) return;  // not an Initial (e.g. lost first packet)
      server_ = std::move(*s);
    }
    server_->Receive(sp, p.data, now_);
  }

  void Collect() {
    for (auto& e : client_->TakeEvents()) client_events_.push_back(e);
    if (server_)
      for (auto& e : server_->TakeEvents()) server_events_.push_back(e);
  }

  Options opts_;
  std::mt19937 rng_;
  uint64_t now_ = 1'000'000'000;
  crypto::SecretKey client_key_, server_key_;
  std::unique_ptr<TlsContext> client_tls_, server_tls_;
  NetPath client_path_;
  std::unique_ptr<QuicConnection> client_, server_;
  std::deque<Packet> wire_;
  std::vector<ConnEvent> client_events_, server_events_;
  uint64_t dropped_ = 0;
  size_t max_handshake_datagram_ = 0, max_datagram_ = 0;
};

bool Has(const std::vector<ConnEvent>& evs, ConnEvent::Type t) {
  for (auto& e : evs)
    if (e.type == t) return true;
  return false;
}

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed);
  return b;
}

// Writes `data` on stream `sid` of `from` as the buffer allows and reads
// everything the other side gets, until FIN.
Bytes Transfer(Sim& sim, QuicConnection& from, QuicConnection* (*to)(Sim&),
               int64_t sid, const Bytes& data, size_t* max_buffered = nullptr) {
  size_t off = 0;
  bool finished = false;
  Bytes got;
  bool fin = false;
  uint8_t buf[65536];
  for (int i = 0; i < 200000 && !fin; ++i) {
    if (off < data.size()) {
      auto n = from.Write(sid, ByteSpan(data).subspan(off));
      EXPECT_TRUE(n.has_value());
      off += *n;
    } else if (!finished) {
      EXPECT_TRUE(from.Finish(sid).has_value());
      finished = true;
    }
    sim.Step();
    QuicConnection* peer = to(sim);
    if (!peer) continue;
    for (;;) {
      auto r = peer->Read(sid, buf);
      if (!r) break;
      got.insert(got.end(), buf, buf + r->bytes);
      if (r->fin) fin = true;
      if (r->bytes == 0) break;
    }
    (void)max_buffered;
  }
  return got;
}

QuicConnection* ServerOf(Sim& s) { return s.server(); }
QuicConnection* ClientOf(Sim& s) { return &s.client(); }

TEST(QuicConnectionTest, HandshakeAuthenticatesBothSides) {
  Sim sim({});
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  EXPECT_EQ(*sim.client().peer_id(), sim.server_key().public_key());
  EXPECT_EQ(*sim.server()->peer_id(), sim.client_key().public_key());
  EXPECT_EQ(sim.client().alpn(), "test/1");
  EXPECT_EQ(sim.server()->alpn(), "test/1");
  EXPECT_TRUE(Has(sim.client_events(), ConnEvent::Type::kConnected));
  EXPECT_TRUE(Has(sim.server_events(), ConnEvent::Type::kConnected));
  ConnectionStats st = sim.client().Stats();
  // Client trusts at HANDSHAKE_DONE: 1.5 round trips of 200 us.
  EXPECT_GE(st.handshake_ns, 300'000u);
  EXPECT_GT(st.smoothed_rtt_ns, 0u);
  EXPECT_GT(st.packets_sent, 0u);
  EXPECT_GT(st.bytes_received, 0u);
  EXPECT_EQ(st.remote.port(), 2222);
}

TEST(QuicConnectionTest, WrongPinnedIdIsRefused) {
  Sim::Options o;
  o.wrong_pin = true;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().closing(); }));
  EXPECT_FALSE(sim.client().connected());
  EXPECT_EQ(sim.client().close_info().kind, CloseInfo::Kind::kRefused);
  EXPECT_NE(sim.client().close_info().reason.find("is not the dialed"),
            std::string::npos)
      << sim.client().close_info().ToString();
  ASSERT_TRUE(sim.RunUntil([&] { return sim.server()->closing(); }));
  EXPECT_FALSE(sim.server()->connected());
}

TEST(QuicConnectionTest, AllowListRefusesClient) {
  Sim::Options o;
  o.allow_peer = [](const NodeId&) { return false; };
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().closing(); }));
  EXPECT_FALSE(sim.client().connected());  // never trusted
  EXPECT_TRUE(sim.client().close_info().by_peer);
  EXPECT_EQ(sim.client().close_info().kind, CloseInfo::Kind::kRefused)
      << sim.client().close_info().ToString();
  EXPECT_FALSE(sim.server()->connected());
  EXPECT_NE(sim.server()->close_info().reason.find("not allowed"),
            std::string::npos);
}

TEST(QuicConnectionTest, UnknownAlpnIsRefusedWithReason) {
  Sim::Options o;
  o.client_alpn = "nobody/1";
  o.server_alpns = {"test/1", "other/2"};
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().closing(); }));
  const CloseInfo& ci = sim.client().close_info();
  EXPECT_EQ(ci.kind, CloseInfo::Kind::kRefused) << ci.ToString();
  EXPECT_EQ(ci.code, 0x100u + 120);  // no_application_protocol
  EXPECT_NE(ci.reason.find("nobody/1"), std::string::npos) << ci.reason;
}

TEST(QuicConnectionTest, ServerPicksAmongSeveralAlpns) {
  Sim::Options o;
  o.client_alpn = "other/2";
  o.server_alpns = {"test/1", "other/2"};
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().connected(); }));
  EXPECT_EQ(sim.server()->alpn(), "other/2");
}

TEST(QuicConnectionTest, ClientWithoutKeyIsRefused) {
  Sim::Options o;
  o.client_without_key = true;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().closing() && sim.server() && sim.server()->closing();
  }));
  EXPECT_FALSE(sim.client().connected());
  EXPECT_FALSE(sim.server()->connected());
  EXPECT_FALSE(sim.server()->peer_id().has_value());
}

TEST(QuicConnectionTest, BidiStreamEchoUnderLossAndReordering) {
  Sim::Options o;
  o.loss = 0.05;
  o.jitter_ns = 300'000;
  o.seed = 7;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  auto sid = sim.client().OpenStream(true);
  ASSERT_TRUE(sid.has_value());
  Bytes data = Pattern(3 << 20, 5);
  Bytes got = Transfer(sim, sim.client(), ServerOf, *sid, data);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  // Echo back on the same stream.
  Bytes back = Transfer(sim, *sim.server(), ClientOf, *sid, got);
  EXPECT_TRUE(back == data);
  EXPECT_GT(sim.dropped(), 10u);
  EXPECT_GT(sim.client().Stats().packets_lost, 0u);
  EXPECT_TRUE(Has(sim.server_events(), ConnEvent::Type::kStreamOpened));
}

TEST(QuicConnectionTest, LargePacketsUnderLossAndReordering) {
  // max_udp_payload as the endpoint sets it on loopback paths.
  Sim::Options o;
  o.transport.max_udp_payload = 65507;
  o.transport.max_gso_segments = 40;
  o.loss = 0.05;
  o.jitter_ns = 300'000;
  o.seed = 11;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  // The handshake keeps the usual sizes (Initials are padded to the
  // buffer: 64 KiB handshake datagrams would cost every connection).
  EXPECT_LE(sim.max_handshake_datagram(), 1452u);
  EXPECT_GE(sim.max_handshake_datagram(), 1200u);
  // The client saw its TLS handshake complete before it was confirmed.
  auto& ev = sim.client_events();
  auto hs = std::find_if(ev.begin(), ev.end(), [](const ConnEvent& e) {
    return e.type == ConnEvent::Type::kHandshakeCompleted;
  });
  auto conn = std::find_if(ev.begin(), ev.end(), [](const ConnEvent& e) {
    return e.type == ConnEvent::Type::kConnected;
  });
  ASSERT_NE(hs, ev.end());
  ASSERT_NE(conn, ev.end());
  EXPECT_LT(hs - ev.begin(), conn - ev.begin());
  auto sid = sim.client().OpenStream(true);
  ASSERT_TRUE(sid.has_value());
  Bytes data = Pattern(6 << 20, 9);
  Bytes got = Transfer(sim, sim.client(), ServerOf, *sid, data);
  EXPECT_TRUE(got == data);
  Bytes back = Transfer(sim, *sim.server(), ClientOf, *sid, got);
  EXPECT_TRUE(back == data);
  EXPECT_GT(sim.max_datagram(), 32768u);  // the data went in large packets
  EXPECT_LE(sim.max_datagram(), 65507u);
  EXPECT_GT(sim.dropped(), 5u);
}

TEST(QuicConnectionTest, WriteSharedSendsWithoutCopyUnderLoss) {
  Sim::Options o;
  o.transport.max_udp_payload = 65507;
  o.transport.stream_send_buffer = 1 << 20;
  o.loss = 0.05;
  o.jitter_ns = 200'000;
  o.seed = 5;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  int64_t sid = sim.client().OpenStream(true).value();
  // Interleaves copied and shared writes; the shared buffers are released
  // by the test at once, so only the stream's references keep them alive.
  Bytes want;
  uint8_t buf[65536];
  Bytes got;
  bool fin = false, finished = false;
  int round = 0;
  std::shared_ptr<const Bytes> pending;
  size_t pending_off = 0;
  for (int i = 0; i < 200000 && !fin; ++i) {
    if (!pending && round < 12) {
      pending = std::make_shared<const Bytes>(Pattern(700 << 10, round));
      pending_off = 0;
      ++round;
    }
    if (pending) {
      if (round % 3 == 0) {
        auto n =
            sim.client().Write(sid, ByteSpan(*pending).subspan(pending_off));
        ASSERT_TRUE(n.has_value());
        want.insert(want.end(), pending->begin() + pending_off,
                    pending->begin() + pending_off + *n);
        pending_off += *n;
      } else {
        auto n = sim.client().WriteShared(sid, pending, pending_off);
        ASSERT_TRUE(n.has_value());
        want.insert(want.end(), pending->begin() + pending_off,
                    pending->begin() + pending_off + *n);
        pending_off += *n;
      }
      if (pending_off == pending->size()) pending.reset();
    } else if (!finished) {
      finished = sim.client().Finish(sid).has_value();
    }
    sim.Step();
    for (;;) {
      auto r = sim.server()->Read(sid, buf);
      if (!r) break;  // the server does not know the stream yet
      got.insert(got.end(), buf, buf + r->bytes);
      fin = r->fin;
      if (r->bytes == 0 || fin) break;
    }
  }
  EXPECT_TRUE(fin);
  EXPECT_EQ(want.size(), size_t{12} * (700 << 10));
  EXPECT_TRUE(got == want);
  EXPECT_GT(sim.dropped(), 5u);
  // Errors: bad offset, finished stream.
  auto data = std::make_shared<const Bytes>(Bytes(10));
  EXPECT_FALSE(sim.client().WriteShared(sid, data, 11).has_value());
  EXPECT_FALSE(sim.client().WriteShared(sid, data, 0).has_value());
}

TEST(QuicConnectionTest, ConsumeReadsWithoutCopyAndReturnsCredit) {
  Sim::Options o;
  // A window far below the data: the transfer completes only if Consume
  // gives the credit back as Read does.
  o.transport.stream_window = 128 << 10;
  o.transport.max_stream_window = 128 << 10;
  o.loss = 0.03;
  o.seed = 3;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  int64_t sid = sim.client().OpenStream(true).value();
  Bytes data = Pattern(3 << 20, 4);
  size_t off = 0;
  bool finished = false, fin = false;
  Bytes got;
  size_t calls_over_max = 0;
  for (int i = 0; i < 200000 && !fin; ++i) {
    if (off < data.size())
      off += sim.client().Write(sid, ByteSpan(data).subspan(off)).value();
    else if (!finished)
      finished = sim.client().Finish(sid).has_value();
    sim.Step();
    for (;;) {
      size_t seen = 0;
      auto r = sim.server()->Consume(sid, 100000, [&](ByteSpan part) {
        got.insert(got.end(), part.begin(), part.end());
        seen += part.size();
      });
      if (!r) break;  // the server does not know the stream yet
      EXPECT_EQ(seen, r->bytes);
      if (r->bytes > 100000) ++calls_over_max;
      fin = r->fin;
      if (r->bytes == 0 || fin) break;
    }
  }
  EXPECT_TRUE(fin);
  EXPECT_EQ(calls_over_max, 0u);
  EXPECT_TRUE(got == data);
  EXPECT_GT(sim.dropped(), 5u);
}

TEST(QuicConnectionTest, UniStreamsAndManyStreams) {
  Sim sim({});
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().connected(); }));
  for (int i = 0; i < 300; ++i) {  // more than max_uni_streams in total
    Result<int64_t> sid = Err(ErrorCode::kOverflow, "not yet");
    // Past the limit, opening waits for the peer's MAX_STREAMS.
    sim.RunUntil(
        [&] {
          sid = sim.client().OpenStream(false);
          return sid.has_value();
        },
        100);
    ASSERT_TRUE(sid.has_value()) << i << " " << sid.error().ToString();
    Bytes data = Pattern(1000 + i, uint8_t(i));
    Bytes got = Transfer(sim, sim.client(), ServerOf, *sid, data);
    ASSERT_TRUE(got == data) << i;
    EXPECT_FALSE(sim.server()->Write(*sid, data).has_value());
  }
  EXPECT_TRUE(Has(sim.client_events(), ConnEvent::Type::kStreamsAvailable));
}

TEST(QuicConnectionTest, SlowReaderBoundsBuffering) {
  Sim::Options o;
  o.transport.stream_window = 256 << 10;
  o.transport.max_stream_window = 256 << 10;
  o.transport.stream_send_buffer = 512 << 10;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  int64_t sid = sim.client().OpenStream(true).value();
  Bytes data = Pattern(8 << 20, 1);
  size_t accepted = 0;
  for (int i = 0; i < 2000; ++i) {  // the server never reads
    accepted +=
        sim.client().Write(sid, ByteSpan(data).subspan(accepted)).value();
    sim.Step();
  }
  // Only window + send buffer can be in flight or buffered.
  EXPECT_LE(accepted, (256u << 10) + (512u << 10));
  EXPECT_GE(accepted, 256u << 10);
  EXPECT_EQ(sim.client().WritableBytes(sid), 0u);
  // Now the reader drains. The writer writes only after a writable event
  // (as the contract asks), so the transfer completes only if they come.
  sim.client_events().clear();
  Bytes got;
  uint8_t buf[32768];
  bool fin = false, may_write = false, finished = false;
  size_t writable_events = 0;
  for (int i = 0; i < 100000 && !fin; ++i) {
    if (may_write && accepted < data.size()) {
      size_t n =
          sim.client().Write(sid, ByteSpan(data).subspan(accepted)).value();
      EXPECT_GT(n, 0u);  // a writable event promises space
      accepted += n;
      may_write = accepted == data.size();
    }
    if (may_write && accepted == data.size() && !finished)
      finished = sim.client().Finish(sid).has_value();
    sim.Step();
    for (const auto& e : sim.client_events())
      if (e.type == ConnEvent::Type::kStreamWritable) {
        may_write = true;
        ++writable_events;
      }
    sim.client_events().clear();
    for (;;) {
      auto r = sim.server()->Read(sid, buf);
      ASSERT_TRUE(r.has_value());
      got.insert(got.end(), buf, buf + r->bytes);
      fin = r->fin;
      if (r->bytes == 0 || fin) break;
    }
  }
  EXPECT_GT(writable_events, 0u);
  EXPECT_TRUE(finished);
  EXPECT_TRUE(got == data);
}

TEST(QuicConnectionTest, CloseCarriesCodeAndReason) {
  Sim sim({});
  ASSERT_TRUE(sim.RunUntil([&] {
    return sim.client().connected() && sim.server() &&
           sim.server()->connected();
  }));
  sim.server()->Close(42, "bye now", sim.now());
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().closing(); }));
  const CloseInfo& ci = sim.client().close_info();
  EXPECT_EQ(ci.kind, CloseInfo::Kind::kPeer);
  EXPECT_TRUE(ci.by_peer);
  EXPECT_EQ(ci.code, 42u);
  EXPECT_EQ(ci.reason, "bye now");
  EXPECT_TRUE(Has(sim.client_events(), ConnEvent::Type::kClosed));
  ASSERT_TRUE(sim.RunUntil(
      [&] { return sim.client().closed() && sim.server()->closed(); }));
}

TEST(QuicConnectionTest, IdleTimeoutWithoutKeepAlive) {
  Sim::Options o;
  o.transport.keep_alive_ns = 0;
  o.transport.idle_timeout_ns = 1'000'000'000;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().connected(); }));
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().closed(); }));
  EXPECT_EQ(sim.client().close_info().kind, CloseInfo::Kind::kIdleTimeout);
}

TEST(QuicConnectionTest, KeepAliveKeepsIdleConnectionOpen) {
  Sim::Options o;
  o.transport.keep_alive_ns = 200'000'000;
  o.transport.idle_timeout_ns = 1'000'000'000;
  Sim sim(o);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().connected(); }));
  uint64_t start = sim.now();
  sim.RunUntil([&] { return sim.now() > start + 5'000'000'000; });
  EXPECT_FALSE(sim.client().closing());
  EXPECT_FALSE(sim.server()->closing());
}

TEST(QuicConnectionTest, ResetStreamIsSeenByReader) {
  Sim sim({});
  ASSERT_TRUE(sim.RunUntil([&] { return sim.client().connected(); }));
  int64_t sid = sim.client().OpenStream(true).value();
  ASSERT_EQ(sim.client().Write(sid, AsBytes("partial")).value(), 7u);
  ASSERT_TRUE(sim.RunUntil([&] {
    return Has(sim.server_events(), ConnEvent::Type::kStreamOpened);
  }));
  ASSERT_TRUE(sim.client().ResetStream(sid, 7).has_value());
  uint8_t buf[64];
  bool reset_seen = false;
  sim.RunUntil(
      [&] {
        auto r = sim.server()->Read(sid, buf);
        if (!r && r.error().code == ErrorCode::kClosed) reset_seen = true;
        return reset_seen;
      },
      1000);
  EXPECT_TRUE(reset_seen);
}

TEST(QuicConnectionTest, AcceptRejectsGarbage) {
  auto key = crypto::SecretKey::Generate();
  auto tls = TlsContext::Create(key).value();
  QuicConnection::Options so;
  so.tls = tls.get();
  so.alpns = {"x"};
  Bytes junk = Pattern(1200, 3);
  EXPECT_FALSE(QuicConnection::Accept(so, junk).has_value());
  EXPECT_FALSE(QuicConnection::Accept(so, Bytes{}).has_value());
}

}  // namespace
}  // namespace vudo::net
