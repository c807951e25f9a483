#include "net/endpoint.h"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace vudo::net {
namespace {

using boost::asio::ip::make_address;

constexpr char kAlpn[] = "test/echo/1";

EndpointConfig LoopbackConfig() {
  EndpointConfig cfg;
  cfg.secret_key = crypto::SecretKey::Generate();
  cfg.bind_v4 = UdpEndpoint(make_address("127.0.0.1"), 0);
  cfg.bind_v6.reset();
  return cfg;
}

NodeAddr AddrOf(const Endpoint& ep) {
  NodeAddr a;
  a.id = ep.id();
  a.direct_addresses = ep.local_endpoints();
  return a;
}

// Runs io until pred() or a 10 s wall-clock limit.
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return true;
}

// Echoes every stream of every connection for kAlpn.
void ServeEcho(Endpoint& ep) {
  ep.Register(kAlpn, [](std::shared_ptr<Connection> c) {
    c->OnStream([](std::shared_ptr<Stream> s) {
      auto pending = std::make_shared<Bytes>();
      auto pump = [s, pending] {
        uint8_t buf[65536];
        for (;;) {
          if (!pending->empty()) {
            auto n = s->Write(*pending);
            if (!n) return;
            pending->erase(pending->begin(), pending->begin() + *n);
            if (!pending->empty()) return;  // wait for OnWritable
          }
          auto r = s->Read(buf);
          if (!r) return;
          pending->insert(pending->end(), buf, buf + r->bytes);
          if (r->fin && pending->empty()) {
            (void)s->Finish();
            return;
          }
          if (r->bytes == 0 && !r->fin) return;
        }
      };
      s->OnReadable(pump);
      s->OnWritable(pump);
      pump();
    });
  });
}

struct Pair {
  boost::asio::io_context io;
  std::unique_ptr<Endpoint> a, b;
  Pair(EndpointConfig ca = LoopbackConfig(),
       EndpointConfig cb = LoopbackConfig()) {
    a = Endpoint::Create(io, std::move(ca)).value();
    b = Endpoint::Create(io, std::move(cb)).value();
  }
  Result<std::shared_ptr<Connection>> Dial(Endpoint& from, const NodeAddr& to,
                                           std::string alpn = kAlpn) {
    std::optional<Result<std::shared_ptr<Connection>>> out;
    from.Dial(to, alpn,
              [&](Result<std::shared_ptr<Connection>> r) { out = r; });
    if (!RunUntil(io, [&] { return out.has_value(); }))
      return Err(ErrorCode::kTimeout, "test timeout");
    return *out;
  }
};

// Sends data on a new bidi stream and collects the echo until FIN.
Bytes Echo(Pair& p, Connection& c, const Bytes& data) {
  auto s = c.OpenBi().value();
  size_t off = 0;
  bool finished = false;
  Bytes got;
  bool fin = false;
  auto write = [&] {
    while (off < data.size()) {
      auto n = s->Write(ByteSpan(data).subspan(off));
      if (!n || *n == 0) return;
      off += *n;
    }
    if (!finished) finished = s->Finish().has_value();
  };
  s->OnWritable(write);
  s->OnReadable([&] {
    uint8_t buf[65536];
    for (;;) {
      auto r = s->Read(buf);
      if (!r) return;
      got.insert(got.end(), buf, buf + r->bytes);
      if (r->fin) fin = true;
      if (r->bytes == 0 || r->fin) return;
    }
  });
  write();
  EXPECT_TRUE(RunUntil(p.io, [&] { return fin; }));
  return got;
}

TEST(EndpointTest, DialEchoAndIdentities) {
  Pair p;
  ServeEcho(*p.b);
  std::shared_ptr<Connection> accepted;
  p.b->Register("other/1",
                [&](std::shared_ptr<Connection> c) { accepted = c; });
  auto c = p.Dial(*p.a, AddrOf(*p.b));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ((*c)->remote_id(), p.b->id());
  EXPECT_EQ((*c)->alpn(), kAlpn);
  EXPECT_TRUE((*c)->is_dialer());
  Bytes data(5 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7);
  EXPECT_TRUE(Echo(p, **c, data) == data);
  EXPECT_TRUE(Echo(p, **c, ToBytes("x")) == ToBytes("x"));
  ConnectionStats st = (*c)->Stats();
  EXPECT_GT(st.handshake_ns, 0u);
  EXPECT_GT(st.smoothed_rtt_ns, 0u);
  EXPECT_GT(st.min_rtt_ns, 0u);
  EXPECT_GE(st.bytes_received, data.size());
  EXPECT_EQ(st.remote, p.b->local_endpoints()[0]);
  // The other ALPN reaches its own handler, which sees our id.
  auto c2 = p.Dial(*p.a, AddrOf(*p.b), "other/1");
  ASSERT_TRUE(c2.has_value());
  ASSERT_TRUE(RunUntil(p.io, [&] { return accepted != nullptr; }));
  EXPECT_EQ(accepted->remote_id(), p.a->id());
  EXPECT_FALSE(accepted->is_dialer());
  EXPECT_GE(p.b->stats().connections_accepted, 2u);
  EXPECT_GE(p.a->stats().connections_dialed, 2u);
}

TEST(EndpointTest, RefusalsCarryClearReasons) {
  EndpointConfig cb = LoopbackConfig();
  crypto::SecretKey banned = crypto::SecretKey::Generate();
  cb.allow_peer = [id = banned.public_key()](const NodeId& n) {
    return n != id;
  };
  EndpointConfig ca = LoopbackConfig();
  ca.secret_key = banned;
  Pair p(std::move(ca), std::move(cb));
  ServeEcho(*p.b);
  // Our id is not allowed.
  auto r = p.Dial(*p.a, AddrOf(*p.b));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused) << r.error().ToString();
  // A third node: wrong pinned id, then an ALPN nobody serves.
  auto c_ep = Endpoint::Create(p.io, LoopbackConfig()).value();
  NodeAddr wrong = AddrOf(*p.b);
  wrong.id = crypto::SecretKey::Generate().public_key();
  r = p.Dial(*c_ep, wrong);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_NE(r.error().message.find("is not the dialed"), std::string::npos)
      << r.error().message;
  r = p.Dial(*c_ep, AddrOf(*p.b), "nobody/1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_NE(r.error().message.find("nobody/1"), std::string::npos)
      << r.error().message;
  // Still serving others.
  auto ok = p.Dial(*c_ep, AddrOf(*p.b));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_GE(p.b->stats().handshakes_failed, 3u);
}

TEST(EndpointTest, CloseCodeAndReasonReachThePeer) {
  Pair p;
  std::shared_ptr<Connection> accepted;
  p.b->Register(kAlpn, [&](std::shared_ptr<Connection> c) { accepted = c; });
  auto c = p.Dial(*p.a, AddrOf(*p.b)).value();
  ASSERT_TRUE(RunUntil(p.io, [&] { return accepted != nullptr; }));
  std::optional<CloseInfo> seen;
  accepted->OnClosed([&](const CloseInfo& ci) { seen = ci; });
  c->Close(7, "done here");
  ASSERT_TRUE(RunUntil(p.io, [&] { return seen.has_value(); }));
  EXPECT_EQ(seen->code, 7u);
  EXPECT_EQ(seen->reason, "done here");
  EXPECT_TRUE(seen->by_peer);
}

TEST(EndpointTest, SimultaneousDialsKeepOneConnection) {
  Pair p;
  std::vector<std::shared_ptr<Connection>> a_in, b_in;
  p.a->Register(kAlpn, [&](auto c) { a_in.push_back(c); });
  p.b->Register(kAlpn, [&](auto c) { b_in.push_back(c); });
  std::optional<Result<std::shared_ptr<Connection>>> ra, rb;
  p.a->Dial(AddrOf(*p.b), kAlpn, [&](auto r) { ra = r; });
  p.b->Dial(AddrOf(*p.a), kAlpn, [&](auto r) { rb = r; });
  ASSERT_TRUE(RunUntil(p.io, [&] { return ra && rb; }));
  ASSERT_TRUE(ra->has_value()) << ra->error().ToString();
  ASSERT_TRUE(rb->has_value()) << rb->error().ToString();
  // Let the loser's close settle.
  boost::asio::steady_timer t(p.io, std::chrono::milliseconds(100));
  bool waited = false;
  t.async_wait([&](auto) { waited = true; });
  RunUntil(p.io, [&] { return waited; });
  EXPECT_FALSE((**ra)->closed()) << (**ra)->close_info().ToString();
  EXPECT_FALSE((**rb)->closed()) << (**rb)->close_info().ToString();
  // Both callbacks got the same connection: the one dialed by the smaller id.
  bool a_smaller = p.a->id() < p.b->id();
  EXPECT_EQ((**ra)->is_dialer(), a_smaller);
  EXPECT_EQ((**rb)->is_dialer(), !a_smaller);
  EXPECT_EQ((**ra)->remote_id(), p.b->id());
  EXPECT_EQ((**rb)->remote_id(), p.a->id());
}

TEST(EndpointTest, LoopbackUsesLargePacketsUnlessDisabled) {
  for (bool large : {true, false}) {
    EndpointConfig ca = LoopbackConfig();
    ca.large_loopback_packets = large;
    Pair p(std::move(ca));
    ServeEcho(*p.b);
    auto c = p.Dial(*p.a, AddrOf(*p.b));
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    EXPECT_GT((*c)->handshake_completed_at_ns(), 0u);
    Bytes data(4 << 20);
    for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13);
    EXPECT_TRUE(Echo(p, **c, data) == data);
    ConnectionStats st = (*c)->Stats();
    ASSERT_GT(st.packets_sent, 0u);
    uint64_t avg = st.bytes_sent / st.packets_sent;
    if (large)
      EXPECT_GT(avg, 8000u) << st.bytes_sent << " / " << st.packets_sent;
    else
      EXPECT_LE(avg, 1452u) << st.bytes_sent << " / " << st.packets_sent;
  }
}

TEST(EndpointTest, SlowReaderSlowsWriter) {
  EndpointConfig ca = LoopbackConfig();
  ca.transport.stream_send_buffer = 256 << 10;
  EndpointConfig cb = LoopbackConfig();
  cb.transport.stream_window = 128 << 10;
  cb.transport.max_stream_window = 128 << 10;
  Pair p(std::move(ca), std::move(cb));
  std::shared_ptr<Stream> server_stream;
  p.b->Register(kAlpn, [&](std::shared_ptr<Connection> c) {
    c->OnStream([&](std::shared_ptr<Stream> s) { server_stream = s; });
  });
  auto c = p.Dial(*p.a, AddrOf(*p.b)).value();
  auto s = c->OpenBi().value();
  Bytes big(4 << 20, 0x5a);
  size_t written = 0;
  bool writable_again = false;
  s->OnWritable([&] { writable_again = true; });
  auto write = [&] {
    auto n = s->Write(ByteSpan(big).subspan(written));
    if (n) written += *n;
  };
  write();
  boost::asio::steady_timer t(p.io, std::chrono::milliseconds(300));
  bool waited = false;
  t.async_wait([&](auto) { waited = true; });
  ASSERT_TRUE(RunUntil(p.io, [&] {
    write();
    return waited;
  }));
  // Nobody read: at most the peer's window plus our send buffer left (the
  // window's bytes, once acknowledged, may free buffer space and so give a
  // writable event already).
  EXPECT_LE(written, (128u << 10) + (256u << 10));
  EXPECT_LT(written, big.size());
  writable_again = false;
  ASSERT_TRUE(server_stream);
  size_t read = 0;
  uint8_t buf[65536];
  ASSERT_TRUE(RunUntil(p.io, [&] {
    for (;;) {
      auto r = server_stream->Read(buf);
      if (!r || r->bytes == 0) break;
      read += r->bytes;
    }
    write();
    return read == big.size();
  }));
  EXPECT_TRUE(writable_again);
}

TEST(EndpointTest, DataBeforeOnReadableIsNotMissed) {
  Pair p;
  std::string got;
  bool fin = false;
  std::vector<std::shared_ptr<Stream>> keep;
  p.b->Register(kAlpn, [&](std::shared_ptr<Connection> c) {
    c->OnStream([&](std::shared_ptr<Stream> s) {
      keep.push_back(s);
      // Set the callback only later, without a Read: all the data and the
      // FIN have arrived by then and no new event will come.
      auto t = std::make_shared<boost::asio::steady_timer>(
          p.io, std::chrono::milliseconds(50));
      t->async_wait([&, s, t](auto) {
        s->OnReadable([&, s] {
          uint8_t buf[64];
          for (;;) {
            auto r = s->Read(buf);
            if (!r) return;
            got.append(reinterpret_cast<char*>(buf), r->bytes);
            if (r->fin) fin = true;
            if (r->bytes == 0 || r->fin) return;
          }
        });
      });
    });
  });
  auto c = p.Dial(*p.a, AddrOf(*p.b)).value();
  auto s = c->OpenBi().value();
  ASSERT_EQ(s->Write(AsBytes("early")).value(), 5u);
  ASSERT_TRUE(s->Finish().has_value());
  ASSERT_TRUE(RunUntil(p.io, [&] { return fin; }));
  EXPECT_EQ(got, "early");
}

TEST(EndpointTest, NodeAddrListsLoopback) {
  boost::asio::io_context io;
  EndpointConfig cfg;
  cfg.secret_key = crypto::SecretKey::Generate();
  cfg.bind_v6.reset();
  auto ep = Endpoint::Create(io, std::move(cfg)).value();
  NodeAddr a = ep->node_addr();
  EXPECT_EQ(a.id, ep->id());
  bool has_loopback = false;
  for (auto& d : a.direct_addresses)
    if (d.address() == make_address("127.0.0.1") &&
        d.port() == ep->local_endpoints()[0].port())
      has_loopback = true;
  EXPECT_TRUE(has_loopback);
}

}  // namespace
}  // namespace vudo::net
