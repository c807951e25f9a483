// vudo net listen | ping | bench: the QUIC endpoint from the command line.
//
//   vudo net listen [--port P] [--bind ADDR] --alpn A [--echo] [--quiet]
//     prints its ticket (first stdout line), then (unless --quiet) one JSON
//     line per accepted connection and per close; with --echo it echoes every
//     stream, otherwise it reads each stream to its end and answers with the
//     byte count.
//   vudo net ping TICKET --alpn A [--count N]
//     N fresh connections and N one-byte echoes on one stream; prints
//     {"connect_ms": median, "handshake_ms": median, "rtt_us": {"p50",
//     "p90", "p99"}, ...}: connect_ms until the dial succeeds (the server
//     confirmed the handshake, HANDSHAKE_DONE), handshake_ms until the
//     client's TLS handshake completed (one flight earlier; where quinn's,
//     and so iroh's, connect returns).
//   vudo net bench TICKET --alpn A --bytes N
//     sends N bytes on one stream; prints its throughput as JSON.
//
// Without --name/--data-dir the commands use a fresh random identity.
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/command.h"
#include "cli/node_options.h"
#include "crypto/identity.h"
#include "discovery/ticket.h"
#include "net/endpoint.h"

namespace vudo::cli {
namespace {

using net::Connection;
using net::Endpoint;
using net::Stream;

struct NetArgs {
  NodeOptions node;
  std::string ticket;
  std::vector<std::string> alpns;
  uint16_t port = 0;
  std::string bind = "0.0.0.0";
  bool echo = false;
  bool quiet = false;
  int count = 10;
  uint64_t bytes = 256 << 20;
  double timeout_s = 60;
  bool no_gso = false;
  bool small_packets = false;
};

uint64_t NowNs() { return SystemClock::Get().MonotonicNs(); }

Result<crypto::SecretKey> Identity(const NetArgs& a, CLI::App* cmd) {
  if (cmd->count("--name") == 0 && cmd->count("--data-dir") == 0)
    return crypto::SecretKey::Generate();
  VUDO_ASSIGN_OR_RETURN(auto dir, a.node.DataDir());
  return crypto::LoadOrCreateIdentity(dir);
}

Result<std::unique_ptr<Endpoint>> MakeEndpoint(boost::asio::io_context& io,
                                               const NetArgs& a,
                                               CLI::App* cmd) {
  net::EndpointConfig cfg;
  VUDO_ASSIGN_OR_RETURN(cfg.secret_key, Identity(a, cmd));
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(a.bind, ec);
  if (ec) return Err(ErrorCode::kInvalidArgument, "bad --bind '{}'", a.bind);
  if (addr.is_v4()) {
    cfg.bind_v4 = net::UdpEndpoint(addr, a.port);
    cfg.bind_v6.reset();
  } else {
    cfg.bind_v6 = net::UdpEndpoint(addr, a.port);
    cfg.bind_v4.reset();
  }
  cfg.gso = cfg.gro = !a.no_gso;
  cfg.large_loopback_packets = !a.small_packets;
  return Endpoint::Create(io, std::move(cfg));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

nlohmann::json MetricsJson(const net::ConnectionStats& s) {
  return {{"handshake_us", s.handshake_ns / 1000},
          {"smoothed_rtt_us", s.smoothed_rtt_ns / 1000},
          {"min_rtt_us", s.min_rtt_ns / 1000},
          {"bytes_sent", s.bytes_sent},
          {"bytes_received", s.bytes_received},
          {"packets_sent", s.packets_sent},
          {"packets_received", s.packets_received},
          {"packets_lost", s.packets_lost},
          {"cwnd", s.cwnd},
          {"path", FormatSocketAddr(s.remote)}};
}

// ---------------------------------------------------------------- listen

// Serves one stream: echo (bidi: back on it; uni: on a new uni stream) or
// sink (count the bytes; bidi: answer the count at FIN).
void ServeStream(std::shared_ptr<Connection> conn, std::shared_ptr<Stream> s,
                 bool echo) {
  std::shared_ptr<Stream> out = s;
  if (!s->bidirectional()) {
    if (echo) {
      auto o = conn->OpenUni();
      if (!o) return;
      out = *o;
    } else {
      out = nullptr;
    }
  }
  struct State {
    Bytes pending;
    uint64_t count = 0;
    bool fin = false, done = false;
  };
  auto st = std::make_shared<State>();
  std::weak_ptr<Stream> ws = s, wo = out;
  auto pump = [ws, wo, st, echo] {
    auto s = ws.lock();
    auto out = wo.lock();
    if (!s || st->done) return;
    uint8_t buf[65536];
    for (;;) {
      if (out && !st->pending.empty()) {
        auto n = out->Write(st->pending);
        if (!n) return;
        st->pending.erase(st->pending.begin(), st->pending.begin() + *n);
        if (!st->pending.empty()) return;  // OnWritable resumes
      }
      if (st->fin) {
        if (out) (void)out->Finish();
        st->done = true;
        return;
      }
      // A sink only counts: it reads without copying.
      auto r = echo ? s->Read(buf) : s->Consume(1 << 20, [](ByteSpan) {});
      if (!r) return;
      st->count += r->bytes;
      if (echo && out)
        st->pending.insert(st->pending.end(), buf, buf + r->bytes);
      if (r->fin) {
        st->fin = true;
        if (!echo && out) {
          std::string c = std::to_string(st->count);
          st->pending.assign(c.begin(), c.end());
        }
        continue;
      }
      if (r->bytes == 0) return;
    }
  };
  s->OnReadable(pump);
  if (out) out->OnWritable(pump);
  pump();
}

void RunListen(const NetArgs& a, CLI::App* cmd) {
  boost::asio::io_context io;
  auto ep = MakeEndpoint(io, a, cmd);
  if (!ep) return Fail(ep.error().ToString());
  std::cout << EncodeTicket((*ep)->node_addr()) << std::endl;
  for (const auto& alpn : a.alpns) {
    (*ep)->Register(alpn, [echo = a.echo,
                           quiet = a.quiet](std::shared_ptr<Connection> c) {
      std::weak_ptr<Connection> wc = c;
      c->OnStream([wc, echo](std::shared_ptr<Stream> s) {
        if (auto c = wc.lock()) ServeStream(c, s, echo);
      });
      if (quiet) return;
      nlohmann::json j = {
          {"event", "connected"},
          {"remote_id", c->remote_id().ToHex()},
          {"alpn", c->alpn()},
          {"remote_addr", FormatSocketAddr(c->remote_address())}};
      std::cout << j.dump() << std::endl;
      c->OnClosed([wc](const net::CloseInfo& why) {
        auto c = wc.lock();
        nlohmann::json j = {{"event", "closed"}, {"reason", why.ToString()}};
        if (c) j["metrics"] = MetricsJson(c->Stats());
        std::cout << j.dump() << std::endl;
      });
    });
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  boost::asio::steady_timer deadline(io);
  if (cmd->count("--timeout")) {
    deadline.expires_after(
        std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000)));
    deadline.async_wait([&](auto ec) {
      if (!ec) io.stop();
    });
  }
  io.run();
}

// ---------------------------------------------------------------- clients

// Runs io until done() or the timeout; false on timeout.
bool RunUntil(boost::asio::io_context& io, double timeout_s,
              const std::function<bool()>& done) {
  auto end = std::chrono::steady_clock::now() +
             std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

Result<std::shared_ptr<Connection>> DialSync(boost::asio::io_context& io,
                                             Endpoint& ep, const NodeAddr& to,
                                             const std::string& alpn,
                                             double timeout_s) {
  std::optional<Result<std::shared_ptr<Connection>>> r;
  ep.Dial(to, alpn, [&](Result<std::shared_ptr<Connection>> c) { r = c; });
  if (!RunUntil(io, timeout_s, [&] { return r.has_value(); }))
    return Err(ErrorCode::kTimeout, "dial timed out");
  return *r;
}

void RunPing(const NetArgs& a, CLI::App* cmd) {
  auto to = DecodeTicket(a.ticket);
  if (!to) return Fail("bad ticket: " + to.error().ToString());
  boost::asio::io_context io;
  auto ep = MakeEndpoint(io, a, cmd);
  if (!ep) return Fail(ep.error().ToString());
  const std::string& alpn = a.alpns.at(0);
  std::vector<double> connect_ms, handshake_ms;
  std::shared_ptr<Connection> conn;
  for (int i = 0; i < a.count; ++i) {
    if (conn) conn->Close(0, "next");
    uint64_t t0 = NowNs();
    auto c = DialSync(io, **ep, *to, alpn, a.timeout_s);
    if (!c) return Fail(c.error().ToString());
    connect_ms.push_back(static_cast<double>(NowNs() - t0) / 1e6);
    if (uint64_t hs = (*c)->handshake_completed_at_ns(); hs > t0)
      handshake_ms.push_back(static_cast<double>(hs - t0) / 1e6);
    conn = *c;
  }
  auto s = conn->OpenBi();
  if (!s) return Fail(s.error().ToString());
  std::vector<double> rtt_us;
  uint64_t received = 0;
  (*s)->OnReadable([&] {
    uint8_t buf[256];
    for (;;) {
      auto r = (*s)->Read(buf);
      if (!r || r->bytes == 0) return;
      received += r->bytes;
    }
  });
  const uint8_t one = 'x';
  for (int i = 0; i < a.count; ++i) {
    uint64_t t0 = NowNs();
    auto w = (*s)->Write(ByteSpan(&one, 1));
    if (!w) return Fail(w.error().ToString());
    uint64_t want = static_cast<uint64_t>(i) + 1;
    if (!RunUntil(io, a.timeout_s, [&] { return received >= want; }))
      return Fail("echo timed out (does the listener echo?)");
    rtt_us.push_back(static_cast<double>(NowNs() - t0) / 1e3);
  }
  nlohmann::json j = {{"connect_ms", Percentile(connect_ms, 0.5)},
                      {"connect_ms_p90", Percentile(connect_ms, 0.9)},
                      {"handshake_ms", Percentile(handshake_ms, 0.5)},
                      {"handshake_ms_p90", Percentile(handshake_ms, 0.9)},
                      {"rtt_us",
                       {{"p50", Percentile(rtt_us, 0.5)},
                        {"p90", Percentile(rtt_us, 0.9)},
                        {"p99", Percentile(rtt_us, 0.99)}}},
                      {"count", a.count},
                      {"remote_id", conn->remote_id().ToHex()},
                      {"local_id", (*ep)->id().ToHex()},
                      {"metrics", MetricsJson(conn->Stats())}};
  (void)(*s)->Finish();
  conn->Close(0, "done");
  RunUntil(io, 0.05, [] { return false; });
  std::cout << j.dump() << std::endl;
}

void RunBench(const NetArgs& a, CLI::App* cmd) {
  auto to = DecodeTicket(a.ticket);
  if (!to) return Fail("bad ticket: " + to.error().ToString());
  boost::asio::io_context io;
  auto ep = MakeEndpoint(io, a, cmd);
  if (!ep) return Fail(ep.error().ToString());
  uint64_t t_dial = NowNs();
  auto c = DialSync(io, **ep, *to, a.alpns.at(0), a.timeout_s);
  if (!c) return Fail(c.error().ToString());
  double connect_ms = static_cast<double>(NowNs() - t_dial) / 1e6;
  auto s = (*c)->OpenBi();
  if (!s) return Fail(s.error().ToString());
  auto chunk_buf = std::make_shared<Bytes>(1 << 20);
  Bytes& chunk = *chunk_buf;
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i);
  // The same 1 MiB again and again, referenced rather than copied.
  std::shared_ptr<const Bytes> shared_chunk = chunk_buf;
  uint64_t sent = 0, received = 0;
  bool finished = false, fin = false;
  Bytes reply_head;
  auto write = [&] {
    while (sent < a.bytes) {
      size_t off = sent % chunk.size();
      size_t len = static_cast<size_t>(
          std::min<uint64_t>(chunk.size() - off, a.bytes - sent));
      auto n = len == chunk.size() - off
                   ? (*s)->WriteShared(shared_chunk, off)
                   : (*s)->Write(ByteSpan(chunk).subspan(off, len));
      if (!n || *n == 0) return;
      sent += *n;
    }
    if (!finished) finished = (*s)->Finish().has_value();
  };
  (*s)->OnWritable(write);
  (*s)->OnReadable([&] {
    uint8_t buf[65536];
    for (;;) {
      auto r = (*s)->Read(buf);
      if (!r) return;
      received += r->bytes;
      if (reply_head.size() < 32)
        reply_head.insert(reply_head.end(), buf,
                          buf + std::min<size_t>(r->bytes, 32));
      if (r->fin) fin = true;
      if (r->bytes == 0 || r->fin) return;
    }
  });
  uint64_t t0 = NowNs();
  write();
  if (!RunUntil(io, a.timeout_s, [&] { return fin; }))
    return Fail("bench timed out");
  double secs = static_cast<double>(NowNs() - t0) / 1e9;
  bool echoed = received == a.bytes;
  if (!echoed && std::string(reply_head.begin(), reply_head.end()) !=
                     std::to_string(a.bytes))
    return Fail("peer answered neither an echo nor the byte count");
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv_s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) +
           static_cast<double>(tv.tv_usec) / 1e6;
  };
  double bps = static_cast<double>(a.bytes) / secs;
  nlohmann::json j = {{"bytes", a.bytes},
                      {"seconds", secs},
                      {"mib_per_s", bps / (1 << 20)},
                      {"gib_per_s", bps / (1 << 30)},
                      {"mode", echoed ? "echo" : "sink"},
                      // this process (the sender), whole run
                      {"cpu_s", tv_s(ru.ru_utime) + tv_s(ru.ru_stime)},
                      {"connect_ms", connect_ms},
                      {"metrics", MetricsJson((*c)->Stats())}};
  (*c)->Close(0, "done");
  RunUntil(io, 0.05, [] { return false; });
  std::cout << j.dump() << std::endl;
}

void Register(CLI::App& app) {
  auto* net = GetOrAddSubcommand(app, "net", "QUIC endpoint tools");
  static NetArgs listen_args, ping_args, bench_args;

  auto* listen = net->add_subcommand(
      "listen",
      "Accept connections; print the ticket, then one JSON line "
      "per connection");
  listen_args.node.AddTo(listen);
  listen->add_option("--port", listen_args.port, "UDP port (0: any)");
  listen->add_option("--bind", listen_args.bind, "Bind address");
  listen->add_option("--alpn", listen_args.alpns, "ALPN to serve (repeatable)")
      ->required();
  listen->add_flag("--echo", listen_args.echo,
                   "Echo every stream (default: answer the byte count)");
  listen->add_option("--timeout", listen_args.timeout_s,
                     "Exit after this many seconds");
  listen->add_flag("--no-gso", listen_args.no_gso, "Disable UDP GSO/GRO");
  listen->add_flag("--quiet", listen_args.quiet,
                   "Print only the ticket (no line per connection)");
  listen->callback([listen] { RunListen(listen_args, listen); });

  auto* ping = net->add_subcommand(
      "ping", "Connect N times and echo 1 byte N times; prints JSON");
  ping_args.node.AddTo(ping);
  ping->add_option("TICKET", ping_args.ticket, "The listener's ticket")
      ->required();
  ping->add_option("--alpn", ping_args.alpns, "ALPN")->required();
  ping->add_option("--count", ping_args.count, "N (default 10)")
      ->check(CLI::Range(1, 1000000));
  ping->add_option("--bind", ping_args.bind, "Bind address");
  ping->add_option("--timeout", ping_args.timeout_s, "Per step, seconds");
  ping->add_flag("--no-gso", ping_args.no_gso, "Disable UDP GSO/GRO");
  ping->callback([ping] { RunPing(ping_args, ping); });

  auto* bench = net->add_subcommand(
      "bench", "Send N bytes on one stream; prints the throughput as JSON");
  bench_args.node.AddTo(bench);
  bench->add_option("TICKET", bench_args.ticket, "The listener's ticket")
      ->required();
  bench->add_option("--alpn", bench_args.alpns, "ALPN")->required();
  bench->add_option("--bytes", bench_args.bytes, "N (default 256 MiB)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  bench->add_option("--bind", bench_args.bind, "Bind address");
  bench->add_option("--timeout", bench_args.timeout_s, "Seconds");
  bench->add_flag("--no-gso", bench_args.no_gso, "Disable UDP GSO/GRO");
  bench->add_flag("--small-packets", bench_args.small_packets,
                  "At most 1452-byte packets on loopback too (as elsewhere)");
  bench->callback([bench] { RunBench(bench_args, bench); });
}
VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
