// bench_net_engine: the sans-I/O QUIC engines alone, two connections in one
// thread joined in memory (no sockets, no scheduler): the CPU cost of a
// handshake (both sides) and of one-stream bulk (both sides: encrypt, send,
// decrypt, ack). bench/net.sh prints it next to the socket figures, which
// on a busy host are bounded by scheduling rather than by CPU. Bulk runs
// twice: with ngtcp2's packet size (1452) and with 64 KiB packets as on
// loopback paths.
// Usage: bench_net_engine [BULK_BYTES] [HANDSHAKES]
#include <time.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "net/quic_connection.h"

using namespace vudo;
using namespace vudo::net;

namespace {

uint64_t ClockNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

struct Link {
  const TlsContext *ctls, *stls;  // one per endpoint, as in Endpoint
  NodeId server_id;
  std::unique_ptr<QuicConnection> client, server;
  NetPath cpath, spath;
  std::deque<Bytes> to_server, to_client;
  uint64_t now = 1'000'000'000;

  size_t max_udp_payload = 0;  // 0: ngtcp2's 1200..1452 (PMTUD)

  Link(const TlsContext& ck, const TlsContext& sk, size_t payload = 0)
      : ctls(&ck), stls(&sk), max_udp_payload(payload) {
    server_id = *sk.id();
    auto ip = boost::asio::ip::make_address("127.0.0.1");
    cpath = {{ip, 1}, {ip, 2}};
    spath = {{ip, 2}, {ip, 1}};
    QuicConnection::Options o;
    o.tls = ctls;
    o.path = cpath;
    o.now = now;
    o.expected_peer = server_id;
    o.alpns = {"bench/1"};
    o.transport.max_gso_segments = 40;
    o.transport.max_udp_payload = max_udp_payload;
    client = QuicConnection::Connect(o).value();
  }
  void Step() {
    now += 20'000;  // 20 us per step of simulated time
    auto to = [](std::deque<Bytes>& q) {
      return [&q](const NetPath&, ByteSpan d, size_t seg) {
        for (size_t off = 0; off < d.size(); off += seg)
          q.emplace_back(d.begin() + off,
                         d.begin() + off + std::min(seg, d.size() - off));
      };
    };
    client->Send(now, to(to_server));
    if (server) server->Send(now, to(to_client));
    while (!to_server.empty()) {
      if (!server) {
        QuicConnection::Options o;
        o.tls = stls;
        o.path = spath;
        o.now = now;
        o.alpns = {"bench/1"};
        o.transport.max_gso_segments = 40;
        o.transport.max_udp_payload = max_udp_payload;
        server = QuicConnection::Accept(o, to_server.front()).value();
      }
      server->Receive(spath, to_server.front(), now);
      to_server.pop_front();
    }
    while (!to_client.empty()) {
      client->Receive(cpath, to_client.front(), now);
      to_client.pop_front();
    }
    if (client->Expiry() <= now) client->HandleTimeout(now);
    if (server && server->Expiry() <= now) server->HandleTimeout(now);
    client->TakeEvents();
    if (server) server->TakeEvents();
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t bulk = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1ull << 30;
  int handshakes = argc > 2 ? std::atoi(argv[2]) : 200;
  auto ck = crypto::SecretKey::Generate();
  auto sk = crypto::SecretKey::Generate();
  auto ctls = TlsContext::Create(ck).value();
  auto stls = TlsContext::Create(sk).value();

  uint64_t c0 = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  for (int i = 0; i < handshakes; ++i) {
    Link l(*ctls, *stls);
    for (int s = 0; s < 100 && !(l.client->connected() && l.server &&
                                 l.server->connected());
         ++s)
      l.Step();
    if (!l.client->connected()) {
      std::fprintf(stderr, "handshake failed\n");
      return 1;
    }
  }
  double hs_us =
      double(ClockNs(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e3 / handshakes;

  // One-stream bulk, both sides' CPU; negative on failure.
  auto bulk_cpu = [&](size_t payload) -> double {
    Link l(*ctls, *stls, payload);
    while (!(l.client->connected() && l.server && l.server->connected()))
      l.Step();
    int64_t sid = l.client->OpenStream(true).value();
    Bytes chunk(1 << 20, 0x42);
    Bytes buf(1 << 16);
    uint64_t sent = 0, got = 0;
    bool fin_sent = false;
    uint64_t t0 = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
    while (got < bulk) {
      while (sent < bulk) {
        size_t len = size_t(std::min<uint64_t>(chunk.size(), bulk - sent));
        size_t n = l.client->Write(sid, ByteSpan(chunk).first(len)).value();
        if (n == 0) break;
        sent += n;
      }
      if (sent == bulk && !fin_sent)
        fin_sent = l.client->Finish(sid).has_value();
      l.Step();
      for (;;) {
        auto r = l.server->Read(sid, buf);
        if (!r || r->bytes == 0) break;
        got += r->bytes;
      }
      if (l.client->closing()) {
        std::fprintf(stderr, "connection closed: %s\n",
                     l.client->close_info().ToString().c_str());
        return -1;
      }
    }
    return double(ClockNs(CLOCK_PROCESS_CPUTIME_ID) - t0) / 1e9;
  };
  double cpu = bulk_cpu(0);
  // As on loopback paths (EndpointConfig::large_loopback_packets).
  double cpu_large = bulk_cpu(65507);
  if (cpu < 0 || cpu_large < 0) return 1;
  std::printf(
      "{\"handshake_cpu_us_both_sides\": %.1f, \"bulk_bytes\": %llu, "
      "\"bulk_cpu_s_both_sides\": %.3f, \"bulk_gib_per_cpu_s\": %.3f, "
      "\"bulk_64k_packets_cpu_s_both_sides\": %.3f, "
      "\"bulk_64k_packets_gib_per_cpu_s\": %.3f}\n",
      hs_us, static_cast<unsigned long long>(bulk), cpu,
      double(bulk) / cpu / (1 << 30), cpu_large,
      double(bulk) / cpu_large / (1 << 30));
  return 0;
}
