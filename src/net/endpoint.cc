#include "net/endpoint.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/prctl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "base/clock.h"
#include "base/log.h"
#include "net/udp_socket.h"

namespace vudo::net {
namespace {

// A connection younger than this is considered part of a simultaneous dial.
constexpr uint64_t kSimultaneousWindowNs = 1'000'000'000;

uint64_t Now() { return SystemClock::Get().MonotonicNs(); }

UdpEndpoint Unmapped(const UdpEndpoint& ep) {
  if (ep.address().is_v6() && ep.address().to_v6().is_v4_mapped())
    return UdpEndpoint(boost::asio::ip::make_address_v4(
                           boost::asio::ip::v4_mapped, ep.address().to_v6()),
                       ep.port());
  return ep;
}

}  // namespace

struct DialState {
  NodeAddr addr;
  std::string alpn;
  std::vector<Endpoint::DialCallback> callbacks;
  std::vector<UdpEndpoint> candidates;
  size_t next = 0;
  bool done = false;
  Error last_error{ErrorCode::kTimeout, "no address answered"};
};

class EndpointImpl : public std::enable_shared_from_this<EndpointImpl> {
 public:
  EndpointImpl(boost::asio::io_context& io, EndpointConfig cfg)
      : io_(io), cfg_(std::move(cfg)), timer_(io) {}

  Status Start();
  void Shutdown();

  void Register(std::string alpn, Endpoint::AcceptHandler h) {
    handlers_[alpn] = std::move(h);
    SyncAlpns();
  }
  void Unregister(const std::string& alpn) {
    handlers_.erase(alpn);
    SyncAlpns();
  }
  void Dial(const NodeAddr& addr, std::string alpn, Endpoint::DialCallback cb);
  NodeAddr GetNodeAddr() const;
  std::vector<UdpEndpoint> LocalEndpoints() const {
    std::vector<UdpEndpoint> out;
    if (v4_) out.push_back(v4_->local());
    if (v6_) out.push_back(v6_->local());
    return out;
  }

  // Called by Connection/Stream after the application acted.
  void Kick(QuicConnection* q) {
    if (shut_) return;
    engine_->MarkDirty(q);
    SchedulePump();
  }
  void Post(std::function<void()> fn) {
    boost::asio::post(io_, [w = weak_from_this(), fn = std::move(fn)] {
      if (auto self = w.lock(); self && !self->shut_) fn();
    });
  }

  const NodeId& id() const { return cfg_.secret_key.public_key(); }
  const EndpointStats& stats() const { return engine_->stats(); }
  void CloseAll(uint64_t code, std::string_view reason) {
    engine_->CloseAll(code, reason, Now());
    SchedulePump();
  }

 private:
  void SyncAlpns() {
    std::vector<std::string> alpns;
    for (auto& [a, h] : handlers_) alpns.push_back(a);
    engine_->SetAlpns(std::move(alpns));
  }
  void SchedulePump() {
    if (pump_posted_ || in_pump_) return;
    pump_posted_ = true;
    boost::asio::post(io_, [w = weak_from_this()] {
      if (auto self = w.lock()) {
        self->pump_posted_ = false;
        self->Pump();
      }
    });
  }
  void Pump();
  void ArmTimer();
  void OnReadable(UdpSocket* sock);
  void WaitRead(UdpSocket* sock) {
    sock->WaitReadable([w = weak_from_this(), sock](bool ok) {
      auto self = w.lock();
      if (!self || self->shut_ || !ok) return;
      self->OnReadable(sock);
    });
  }
  void Transmit(const NetPath& p, ByteSpan d, size_t seg);
  void OnWritable();
  // The loopback route's payload limit for loopback addresses, else 0.
  size_t LoopbackMaxUdpPayload(const UdpEndpoint& remote) {
    if (!remote.address().is_loopback()) return 0;
    size_t& cached = remote.address().is_v6() ? lo_payload_v6_ : lo_payload_v4_;
    if (cached == SIZE_MAX) cached = UdpSocket::RouteMaxUdpPayload(remote);
    return cached;
  }
  UdpSocket* SocketFor(const UdpEndpoint& remote) {
    return remote.address().is_v4() ? v4_.get() : v6_.get();
  }

  std::shared_ptr<Connection> Wrap(const std::shared_ptr<QuicConnection>& q);
  void Dispatch(const std::shared_ptr<QuicConnection>& q, const ConnEvent& ev);
  void OnEstablished(const std::shared_ptr<Connection>& c);
  void Deliver(const std::shared_ptr<Connection>& c);
  void OnConnClosed(const std::shared_ptr<Connection>& c);
  void StartAttempt(const std::shared_ptr<DialState>& d);
  void ResolveDial(const std::shared_ptr<DialState>& d,
                   Result<std::shared_ptr<Connection>> r);
  NodeId PeerOf(const Connection& c) const;
  void Forget(const std::shared_ptr<Connection>& c);

  boost::asio::io_context& io_;
  EndpointConfig cfg_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<EndpointEngine> engine_;
  std::unique_ptr<UdpSocket> v4_, v6_;
  boost::asio::steady_timer timer_;
  uint64_t timer_at_ = UINT64_MAX;
  size_t lo_payload_v4_ = SIZE_MAX, lo_payload_v6_ = SIZE_MAX;
  std::map<std::string, Endpoint::AcceptHandler> handlers_;
  std::unordered_map<QuicConnection*, std::shared_ptr<Connection>> conns_;
  // Per connection: the dial it is an attempt of, and the dials waiting for
  // it after a tie-break.
  std::unordered_map<Connection*, std::shared_ptr<DialState>> attempt_of_;
  std::unordered_map<Connection*, std::vector<std::shared_ptr<DialState>>>
      waiting_;
  std::vector<std::shared_ptr<DialState>> dials_;
  bool pump_posted_ = false, in_pump_ = false, shut_ = false;
  bool send_blocked_ = false;
  struct Blocked {
    UdpSocket* sock;
    UdpEndpoint to;
    Bytes data;
    size_t segment;
  };
  std::deque<Blocked> blocked_;
  TransmitFn sink_;
};

// ---------------------------------------------------------------- setup

Status EndpointImpl::Start() {
  VUDO_ASSIGN_OR_RETURN(tls_, TlsContext::Create(cfg_.secret_key));
  UdpSocket::Options so{cfg_.gso, cfg_.gro};
  if (cfg_.bind_v4) {
    VUDO_ASSIGN_OR_RETURN(v4_, UdpSocket::Bind(io_, *cfg_.bind_v4, so));
  }
  if (cfg_.bind_v6) {
    auto s = UdpSocket::Bind(io_, *cfg_.bind_v6, so);
    if (s) {
      v6_ = std::move(*s);
    } else if (!v4_) {
      return tl::unexpected(s.error());
    } else {
      VUDO_LOG_INFO("net: no IPv6 socket: {}", s.error().message);
    }
  }
  if (!v4_ && !v6_)
    return Err(ErrorCode::kInvalidArgument, "no socket to bind");
  bool gso = (v4_ ? v4_->gso() : true) && (v6_ ? v6_->gso() : true);
  EndpointEngineConfig ec;
  ec.tls = tls_.get();
  ec.transport = cfg_.transport;
  if (gso && ec.transport.max_gso_segments <= 1)
    ec.transport.max_gso_segments = 40;  // ~58 KB per sendmsg
  ec.allow_peer = cfg_.allow_peer;
  if (cfg_.large_loopback_packets)
    ec.path_max_udp_payload = [this](const NetPath& p) {
      return LoopbackMaxUdpPayload(p.remote);
    };
  engine_ = std::make_unique<EndpointEngine>(std::move(ec));
  sink_ = [this](const NetPath& p, ByteSpan d, size_t seg) {
    Transmit(p, d, seg);
  };
  if (v4_) WaitRead(v4_.get());
  if (v6_) WaitRead(v6_.get());
  VUDO_LOG_INFO("net: endpoint {} on{}{} (gso {}, gro {})", id().ShortHex(),
                v4_ ? " " + FormatSocketAddr(v4_->local()) : "",
                v6_ ? " " + FormatSocketAddr(v6_->local()) : "", gso,
                v4_ ? v4_->gro() : v6_->gro());
  return Ok();
}

void EndpointImpl::Shutdown() {
  if (shut_) return;
  uint64_t now = Now();
  engine_->CloseAll(0, "endpoint closed", now);
  send_blocked_ = false;
  engine_->Send(now, sink_);
  shut_ = true;
  timer_.cancel();
  if (v4_) v4_->Close();
  if (v6_) v6_->Close();
  // Break reference cycles held by application callbacks.
  for (auto& [q, c] : conns_) {
    for (auto& [id, s] : c->streams_) s->on_readable_ = s->on_writable_ = {};
    c->on_stream_ = {};
    c->on_closed_ = {};
    c->on_streams_available_ = {};
    c->streams_.clear();
    c->unclaimed_streams_.clear();
  }
  conns_.clear();
  attempt_of_.clear();
  waiting_.clear();
  dials_.clear();
  handlers_.clear();
}

NodeAddr EndpointImpl::GetNodeAddr() const {
  NodeAddr out;
  out.id = id();
  for (const UdpSocket* s : {v4_.get(), v6_.get()}) {
    if (!s) continue;
    if (!s->local().address().is_unspecified()) {
      out.direct_addresses.push_back(s->local());
      continue;
    }
    ifaddrs* ifs = nullptr;
    if (getifaddrs(&ifs) != 0) continue;
    for (ifaddrs* i = ifs; i; i = i->ifa_next) {
      if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
      int fam = i->ifa_addr->sa_family;
      if (fam != (s->local().address().is_v4() ? AF_INET : AF_INET6)) continue;
      UdpEndpoint ep;
      size_t len = fam == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      std::memcpy(ep.data(), i->ifa_addr, len);
      ep.resize(len);
      if (ep.address().is_v6() && ep.address().to_v6().is_link_local())
        continue;
      ep.port(s->local().port());
      out.direct_addresses.push_back(ep);
    }
    freeifaddrs(ifs);
  }
  return out;
}

// ---------------------------------------------------------------- I/O loop

void EndpointImpl::OnReadable(UdpSocket* sock) {
  uint64_t now = Now();
  NetPath path{sock->local(), {}};
  sock->ReceiveAll([&](const UdpEndpoint& from, ByteSpan d) {
    path.remote = Unmapped(from);
    engine_->Receive(path, d, now);
  });
  Pump();
  if (!shut_) WaitRead(sock);
}

void EndpointImpl::Transmit(const NetPath& p, ByteSpan d, size_t seg) {
  UdpSocket* s = SocketFor(p.remote);
  if (!s) return;
  if (send_blocked_) {
    if (blocked_.size() < 256)
      blocked_.push_back({s, p.remote, ToBytes(d), seg});
    return;
  }
  if (s->Send(p.remote, d, seg) == UdpSocket::SendResult::kWouldBlock) {
    send_blocked_ = true;
    blocked_.push_back({s, p.remote, ToBytes(d), seg});
    s->WaitWritable([w = weak_from_this()](bool ok) {
      auto self = w.lock();
      if (self && !self->shut_ && ok) self->OnWritable();
    });
  }
}

void EndpointImpl::OnWritable() {
  send_blocked_ = false;
  while (!blocked_.empty()) {
    Blocked& b = blocked_.front();
    if (b.sock->Send(b.to, b.data, b.segment) ==
        UdpSocket::SendResult::kWouldBlock) {
      send_blocked_ = true;
      b.sock->WaitWritable([w = weak_from_this()](bool ok) {
        auto self = w.lock();
        if (self && !self->shut_ && ok) self->OnWritable();
      });
      return;
    }
    blocked_.pop_front();
  }
  Pump();
}

void EndpointImpl::Pump() {
  if (shut_ || in_pump_) return;
  in_pump_ = true;
  // Pacing waits are tens of microseconds: the default 50 us timer slack
  // of the loop thread would stretch every one of them.
  static thread_local bool slack_set = false;
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1000UL);
    slack_set = true;
  }
  uint64_t now = Now();
  engine_->HandleTimeout(now);  // only connections whose timers expired
  for (int round = 0; round < 64; ++round) {
    if (!send_blocked_) engine_->Send(now, sink_);
    auto events = engine_->TakeEvents();
    if (events.empty()) break;
    for (auto& [q, ev] : events) {
      Dispatch(q, ev);
      if (shut_) break;
    }
    if (shut_) break;
  }
  in_pump_ = false;
  if (shut_) return;
  engine_->Reap();
  for (auto it = conns_.begin(); it != conns_.end();) {
    auto c = it->second;
    ++it;
    if (c->quic_->closed() && (c->closed_notified_ || !c->delivered_))
      Forget(c);
  }
  ArmTimer();
}

void EndpointImpl::ArmTimer() {
  uint64_t e = engine_->Expiry();
  if (e == 0) {
    SchedulePump();
    return;
  }
  if (e == UINT64_MAX) return;  // an armed timer just fires spuriously
  if (e <= Now()) {
    SchedulePump();
    return;
  }
  // Re-arming costs a timerfd_settime syscall (pacing moves the expiry on
  // every send): keep an armed timer that fires no later than needed; its
  // handler re-evaluates.
  if (timer_at_ <= e) return;
  timer_at_ = e;
  timer_.expires_at(std::chrono::steady_clock::time_point(
      std::chrono::nanoseconds(static_cast<int64_t>(e))));
  timer_.async_wait(
      [w = weak_from_this(), e](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (!self || self->shut_ || ec) return;
        if (self->timer_at_ == e) self->timer_at_ = UINT64_MAX;
        self->Pump();
      });
}

// ---------------------------------------------------------------- events

std::shared_ptr<Connection> EndpointImpl::Wrap(
    const std::shared_ptr<QuicConnection>& q) {
  auto it = conns_.find(q.get());
  if (it != conns_.end()) return it->second;
  std::shared_ptr<Connection> c(new Connection(weak_from_this(), q));
  conns_[q.get()] = c;
  return c;
}

NodeId EndpointImpl::PeerOf(const Connection& c) const {
  if (c.quic_->peer_id()) return *c.quic_->peer_id();
  auto it = attempt_of_.find(const_cast<Connection*>(&c));
  return it != attempt_of_.end() ? it->second->addr.id : NodeId();
}

void EndpointImpl::Dispatch(const std::shared_ptr<QuicConnection>& q,
                            const ConnEvent& ev) {
  std::shared_ptr<Connection> c = Wrap(q);
  auto stream_cb = [&](bool readable) {
    auto it = c->streams_.find(ev.stream_id);
    if (it == c->streams_.end()) return;
    std::shared_ptr<Stream> s = it->second;
    auto cb = readable ? s->on_readable_ : s->on_writable_;
    if (cb) cb();
    if (!q->HasStream(ev.stream_id)) {
      s->on_readable_ = s->on_writable_ = {};
      c->streams_.erase(ev.stream_id);
    }
  };
  switch (ev.type) {
    case ConnEvent::Type::kHandshakeCompleted:
      c->handshake_completed_ns_ = Now();
      break;
    case ConnEvent::Type::kConnected:
      c->connected_ns_ = Now();
      OnEstablished(c);
      break;
    case ConnEvent::Type::kStreamOpened: {
      std::shared_ptr<Stream> s(new Stream(c, ev.stream_id));
      c->streams_[ev.stream_id] = s;
      if (c->delivered_ && c->on_stream_) {
        auto cb = c->on_stream_;
        cb(s);
      } else {
        c->unclaimed_streams_.push_back(s);
      }
      break;
    }
    case ConnEvent::Type::kStreamReadable:
      stream_cb(true);
      break;
    case ConnEvent::Type::kStreamWritable:
      stream_cb(false);
      break;
    case ConnEvent::Type::kStreamsAvailable:
      if (c->on_streams_available_) {
        auto cb = c->on_streams_available_;
        cb();
      }
      break;
    case ConnEvent::Type::kClosed:
      OnConnClosed(c);
      break;
  }
}

void EndpointImpl::OnEstablished(const std::shared_ptr<Connection>& c) {
  NodeId peer = PeerOf(*c);
  const std::string& alpn = c->alpn();
  std::shared_ptr<Connection> other;
  for (auto& [q, o] : conns_) {
    if (o == c || o->quic_->closing() || o->is_dialer() == c->is_dialer())
      continue;
    if (PeerOf(*o) != peer) continue;
    // An attempt still in its handshake has no negotiated ALPN yet.
    const std::string& oalpn = o->quic_->connected() ? o->alpn()
                               : attempt_of_.count(o.get())
                                   ? attempt_of_[o.get()]->alpn
                                   : o->alpn();
    if (oalpn != alpn) continue;
    other = o;
    break;
  }
  if (!other) return Deliver(c);
  uint64_t now = Now();
  bool simultaneous = !other->quic_->connected() ||
                      now - other->connected_ns_ < kSimultaneousWindowNs;
  std::shared_ptr<Connection> winner;
  if (simultaneous) {
    // Keep the connection dialed by the smaller node id (both sides agree).
    bool we_are_smaller = id() < peer;
    winner = (c->is_dialer() == we_are_smaller) ? c : other;
  } else {
    winner = other;  // an established connection beats a late duplicate
  }
  std::shared_ptr<Connection> loser = winner == c ? other : c;
  VUDO_LOG_INFO("net: duplicate connection with {} ({}), keeping the one {}",
                peer.ShortHex(), alpn,
                winner->is_dialer() ? "we dialed" : "they dialed");
  // Dials that loser stood for move to the winner.
  std::vector<std::shared_ptr<DialState>> moved;
  if (auto it = attempt_of_.find(loser.get()); it != attempt_of_.end()) {
    moved.push_back(it->second);
    attempt_of_.erase(it);
  }
  if (auto it = waiting_.find(loser.get()); it != waiting_.end()) {
    for (auto& d : it->second) moved.push_back(d);
    waiting_.erase(it);
  }
  loser->quic_->Close(kDuplicateConnectionCode, "duplicate connection", now);
  engine_->MarkDirty(loser->quic_.get());
  auto& w = waiting_[winner.get()];
  w.insert(w.end(), moved.begin(), moved.end());
  if (winner == c) {
    Deliver(c);
  } else if (winner->quic_->connected() && winner->delivered_) {
    auto ds = std::move(waiting_[winner.get()]);
    waiting_.erase(winner.get());
    for (auto& d : ds) ResolveDial(d, winner);
  }
}

void EndpointImpl::Deliver(const std::shared_ptr<Connection>& c) {
  std::vector<std::shared_ptr<DialState>> ds;
  if (auto it = attempt_of_.find(c.get()); it != attempt_of_.end()) {
    ds.push_back(it->second);
    attempt_of_.erase(it);
  }
  if (auto it = waiting_.find(c.get()); it != waiting_.end()) {
    for (auto& d : it->second) ds.push_back(d);
    waiting_.erase(it);
  }
  if (!ds.empty()) {
    for (auto& d : ds) ResolveDial(d, c);
    return;
  }
  if (c->is_dialer()) {
    // A dial whose callers all went elsewhere (tie-break): nobody wants it.
    c->Close(kDuplicateConnectionCode, "duplicate connection");
    return;
  }
  auto h = handlers_.find(c->alpn());
  if (h == handlers_.end()) {
    c->Close(0, "no handler for ALPN " + c->alpn());
    return;
  }
  c->delivered_ = true;
  auto handler = h->second;
  handler(c);
}

void EndpointImpl::ResolveDial(const std::shared_ptr<DialState>& d,
                               Result<std::shared_ptr<Connection>> r) {
  if (d->done) return;
  d->done = true;
  std::erase(dials_, d);
  if (r) (*r)->delivered_ = true;
  for (auto& cb : d->callbacks) cb(r);
}

void EndpointImpl::OnConnClosed(const std::shared_ptr<Connection>& c) {
  const CloseInfo& info = c->quic_->close_info();
  if (auto it = attempt_of_.find(c.get()); it != attempt_of_.end()) {
    std::shared_ptr<DialState> d = it->second;
    attempt_of_.erase(it);
    ErrorCode code =
        info.kind == CloseInfo::Kind::kRefused            ? ErrorCode::kRefused
        : info.kind == CloseInfo::Kind::kHandshakeTimeout ? ErrorCode::kTimeout
                                                          : ErrorCode::kClosed;
    d->last_error = Error{code, "dial " + d->addr.id.ShortHex() + " at " +
                                    FormatSocketAddr(c->remote_address()) +
                                    ": " + info.ToString()};
    if (code == ErrorCode::kRefused || d->next >= d->candidates.size())
      ResolveDial(d, tl::unexpected(d->last_error));
    else
      StartAttempt(d);
  }
  if (auto it = waiting_.find(c.get()); it != waiting_.end()) {
    auto ds = std::move(it->second);
    waiting_.erase(it);
    for (auto& d : ds)
      ResolveDial(d, Err(ErrorCode::kClosed, "dial {}: {}",
                         d->addr.id.ShortHex(), info.ToString()));
  }
  if (c->delivered_ && !c->closed_notified_) {
    c->closed_notified_ = true;
    // Readers learn it from Read (kClosed).
    auto streams = c->streams_;
    for (auto& [id, s] : streams)
      if (auto cb = s->on_readable_) cb();
    if (auto cb = c->on_closed_) cb(info);
  }
}

void EndpointImpl::Forget(const std::shared_ptr<Connection>& c) {
  for (auto& [id, s] : c->streams_) s->on_readable_ = s->on_writable_ = {};
  c->streams_.clear();
  c->unclaimed_streams_.clear();
  c->on_stream_ = {};
  c->on_streams_available_ = {};
  attempt_of_.erase(c.get());
  waiting_.erase(c.get());
  conns_.erase(c->quic_.get());
}

// ---------------------------------------------------------------- dialing

void EndpointImpl::Dial(const NodeAddr& addr, std::string alpn,
                        Endpoint::DialCallback cb) {
  if (addr.id == id()) {
    Post([cb] {
      cb(Err(ErrorCode::kInvalidArgument, "cannot dial ourselves"));
    });
    return;
  }
  for (auto& [q, c] : conns_) {
    if (c->delivered_ && !c->quic_->closing() && c->quic_->connected() &&
        c->remote_id() == addr.id && c->alpn() == alpn) {
      Post([cb, c = c] { cb(c); });
      return;
    }
  }
  for (auto& d : dials_) {
    if (d->addr.id == addr.id && d->alpn == alpn && !d->done) {
      d->callbacks.push_back(std::move(cb));
      return;
    }
  }
  auto d = std::make_shared<DialState>();
  d->addr = addr;
  d->alpn = std::move(alpn);
  d->callbacks.push_back(std::move(cb));
  for (const auto& a : addr.direct_addresses) {
    UdpEndpoint ep = Unmapped(a);
    if (SocketFor(ep) && ep.port() != 0) d->candidates.push_back(ep);
  }
  if (d->candidates.empty()) {
    Post([d] {
      for (auto& c : d->callbacks)
        c(Err(ErrorCode::kInvalidArgument,
              "no direct address of {} is reachable from our sockets",
              d->addr.id.ShortHex()));
    });
    return;
  }
  dials_.push_back(d);
  StartAttempt(d);
}

void EndpointImpl::StartAttempt(const std::shared_ptr<DialState>& d) {
  while (d->next < d->candidates.size()) {
    UdpEndpoint to = d->candidates[d->next++];
    UdpSocket* s = SocketFor(to);
    auto q = engine_->Connect({s->local(), to}, d->addr.id, d->alpn, Now());
    if (!q) {
      d->last_error = q.error();
      continue;
    }
    auto c = Wrap(*q);
    attempt_of_[c.get()] = d;
    SchedulePump();
    return;
  }
  // Resolve asynchronously: Dial() must not call back re-entrantly.
  Post([self = shared_from_this(), d] {
    self->ResolveDial(d, tl::unexpected(d->last_error));
  });
}

// ---------------------------------------------------------------- Stream

Result<size_t> Stream::Write(ByteSpan data) {
  auto c = conn_.lock();
  if (!c) return Err(ErrorCode::kClosed, "connection is gone");
  VUDO_ASSIGN_OR_RETURN(size_t n, c->quic_->Write(id_, data));
  if (n > 0) c->Kick();
  return n;
}

Result<size_t> Stream::WriteShared(std::shared_ptr<const Bytes> data,
                                   size_t offset) {
  auto c = conn_.lock();
  if (!c) return Err(ErrorCode::kClosed, "connection is gone");
  VUDO_ASSIGN_OR_RETURN(size_t n,
                        c->quic_->WriteShared(id_, std::move(data), offset));
  if (n > 0) c->Kick();
  return n;
}

Status Stream::Finish() {
  auto c = conn_.lock();
  if (!c) return Err(ErrorCode::kClosed, "connection is gone");
  VUDO_TRY(c->quic_->Finish(id_));
  c->Kick();
  return Ok();
}

Result<ReadResult> Stream::Read(std::span<uint8_t> out) {
  size_t done = 0;
  return Consume(out.size(), [&](ByteSpan part) {
    std::memcpy(out.data() + done, part.data(), part.size());
    done += part.size();
  });
}

Result<ReadResult> Stream::Consume(size_t max,
                                   const std::function<void(ByteSpan)>& visit) {
  auto c = conn_.lock();
  if (!c) return Err(ErrorCode::kClosed, "connection is gone");
  auto r = c->quic_->Consume(id_, max, visit);
  if (!r) {
    if (r.error().code == ErrorCode::kNotFound && c->quic_->closing())
      return Err(ErrorCode::kClosed, "{}", c->quic_->close_info().ToString());
    return r;
  }
  if (r->bytes > 0) c->Kick();  // flow control credit
  if (r->bytes == 0 && !r->fin && c->quic_->closing())
    return Err(ErrorCode::kClosed, "{}", c->quic_->close_info().ToString());
  return r;
}

Status Stream::Reset(uint64_t app_code) {
  auto c = conn_.lock();
  if (!c) return Err(ErrorCode::kClosed, "connection is gone");
  VUDO_TRY(c->quic_->ResetStream(id_, app_code));
  c->Kick();
  return Ok();
}

void Stream::OnReadable(std::function<void()> cb) {
  on_readable_ = std::move(cb);
  auto c = conn_.lock();
  if (!on_readable_ || !c) return;
  if (auto ep = c->ep_.lock()) {
    std::weak_ptr<Connection> wc = c;
    int64_t id = id_;
    ep->Post([wc, id] {
      auto c = wc.lock();
      if (!c) return;
      auto it = c->streams_.find(id);
      if (it == c->streams_.end()) return;
      auto s = it->second;  // keeps the stream alive during the call
      if (auto cb = s->on_readable_) cb();
    });
  }
}

size_t Stream::WritableBytes() const {
  auto c = conn_.lock();
  return c ? c->quic_->WritableBytes(id_) : 0;
}

// ---------------------------------------------------------------- Connection

NodeId Connection::remote_id() const {
  if (quic_->peer_id()) return *quic_->peer_id();
  return NodeId();
}

void Connection::Kick() {
  if (auto ep = ep_.lock()) ep->Kick(quic_.get());
}

Result<std::shared_ptr<Stream>> Connection::Open(bool bidi) {
  VUDO_ASSIGN_OR_RETURN(int64_t id, quic_->OpenStream(bidi));
  std::shared_ptr<Stream> s(new Stream(weak_from_this(), id));
  streams_[id] = s;
  return s;
}

Result<std::shared_ptr<Stream>> Connection::OpenBi() { return Open(true); }
Result<std::shared_ptr<Stream>> Connection::OpenUni() { return Open(false); }

void Connection::OnStream(std::function<void(std::shared_ptr<Stream>)> cb) {
  on_stream_ = std::move(cb);
  if (!on_stream_ || unclaimed_streams_.empty()) return;
  auto ep = ep_.lock();
  if (!ep) return;
  ep->Post([w = weak_from_this()] {
    auto self = w.lock();
    if (!self) return;
    auto pending = std::move(self->unclaimed_streams_);
    self->unclaimed_streams_.clear();
    for (auto& s : pending)
      if (self->on_stream_) self->on_stream_(s);
  });
}

void Connection::OnClosed(std::function<void(const CloseInfo&)> cb) {
  on_closed_ = std::move(cb);
  if (closed_notified_ && on_closed_) {
    if (auto ep = ep_.lock())
      ep->Post([w = weak_from_this()] {
        if (auto self = w.lock(); self && self->on_closed_)
          self->on_closed_(self->quic_->close_info());
      });
  }
}

void Connection::Close(uint64_t app_code, std::string_view reason) {
  if (quic_->closing()) return;
  quic_->Close(app_code, reason, Now());
  Kick();
}

// ---------------------------------------------------------------- Endpoint

Result<std::unique_ptr<Endpoint>> Endpoint::Create(boost::asio::io_context& io,
                                                   EndpointConfig cfg) {
  auto impl = std::make_shared<EndpointImpl>(io, std::move(cfg));
  VUDO_TRY(impl->Start());
  return std::unique_ptr<Endpoint>(new Endpoint(std::move(impl)));
}

Endpoint::~Endpoint() { impl_->Shutdown(); }

const NodeId& Endpoint::id() const { return impl_->id(); }
std::vector<UdpEndpoint> Endpoint::local_endpoints() const {
  return impl_->LocalEndpoints();
}
NodeAddr Endpoint::node_addr() const { return impl_->GetNodeAddr(); }
void Endpoint::Register(std::string alpn, AcceptHandler handler) {
  impl_->Register(std::move(alpn), std::move(handler));
}
void Endpoint::Unregister(const std::string& alpn) { impl_->Unregister(alpn); }
void Endpoint::Dial(const NodeAddr& addr, std::string alpn, DialCallback cb) {
  impl_->Dial(addr, std::move(alpn), std::move(cb));
}
EndpointStats Endpoint::stats() const { return impl_->stats(); }
void Endpoint::CloseAll(uint64_t app_code, std::string_view reason) {
  impl_->CloseAll(app_code, reason);
}

}  // namespace vudo::net
