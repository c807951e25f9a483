#include "net/endpoint_engine.h"

#include <gnutls/crypto.h>

#include <algorithm>

#include "base/log.h"

namespace vudo::net {
namespace {

std::string CidKey(ByteSpan cid) {
  return std::string(reinterpret_cast<const char*>(cid.data()), cid.size());
}

// RFC 9000 14.1: a server only answers (VN) datagrams of at least this size.
constexpr size_t kMinInitialDatagram = 1200;
// Smallest stateless reset: 1 byte header + 4 unpredictable + 16 token
// (we send at least 5 random bytes more so it looks like a short packet).
constexpr size_t kMinStatelessReset = 41;

}  // namespace

EndpointEngine::EndpointEngine(EndpointEngineConfig cfg)
    : cfg_(std::move(cfg)) {
  if (cfg_.random_reset_key)
    gnutls_rnd(GNUTLS_RND_KEY, cfg_.reset_key.data(), cfg_.reset_key.size());
}

EndpointEngine::~EndpointEngine() {
  for (auto& c : conns_) c->DetachRegistry();
}

QuicConnection::Options EndpointEngine::BaseOptions(const NetPath& path,
                                                    uint64_t now) {
  QuicConnection::Options o;
  o.tls = cfg_.tls;
  o.transport = cfg_.transport;
  if (cfg_.path_max_udp_payload)
    if (size_t n = cfg_.path_max_udp_payload(path))
      o.transport.max_udp_payload = n;
  o.path = path;
  o.now = now;
  o.cids = this;
  o.reset_key = cfg_.reset_key;
  return o;
}

void EndpointEngine::AddCid(ByteSpan cid, QuicConnection* conn) {
  cid_map_[CidKey(cid)] = conn;
}

void EndpointEngine::RemoveCid(ByteSpan cid) { cid_map_.erase(CidKey(cid)); }

void EndpointEngine::Drop(const NetPath& path, std::string_view why) {
  ++stats_.garbage_dropped;
  VUDO_LOG_DEBUG("net: dropped datagram from {}:{}: {}",
                 path.remote.address().to_string(), path.remote.port(), why);
}

void EndpointEngine::Receive(const NetPath& path, ByteSpan datagram,
                             uint64_t now) {
  ++stats_.datagrams_received;
  stats_.bytes_received += datagram.size();
  if (datagram.empty()) return Drop(path, "empty");
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, datagram.data(), datagram.size(),
                                         kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (datagram.size() < kMinInitialDatagram)
      return Drop(path, "unsupported version in a short datagram");
    SendVersionNegotiation(path, vc);
    return;
  }
  if (rv != 0) return Drop(path, "not a QUIC packet");
  auto it = cid_map_.find(CidKey({vc.dcid, vc.dcidlen}));
  if (it != cid_map_.end()) {
    QuicConnection* conn = it->second;
    conn->Receive(path, datagram, now);
    MarkDirty(conn);
    CollectEvents(conn);
    return;
  }
  if (vc.version == 0) {
    // A short-header packet for a connection id we do not know. It may be
    // a stateless reset from a peer that lost one of our connections: only
    // the connection can check its token, so connections to that address
    // get to see it (they discard it otherwise).
    bool known_peer = false;
    for (auto& c : conns_) {
      if (c->path().remote != path.remote || c->closing()) continue;
      known_peer = true;
      c->Receive(path, datagram, now);
      MarkDirty(c.get());
      CollectEvents(c.get());
    }
    if (!known_peer)
      SendStatelessReset(path, {vc.dcid, vc.dcidlen}, datagram.size(), now);
    return;
  }
  if (conns_.size() >= cfg_.max_connections)
    return Drop(path, "connection limit reached");
  auto conn = QuicConnection::Accept(
      [&] {
        auto o = BaseOptions(path, now);
        o.alpns = alpns_;
        o.allow_peer = cfg_.allow_peer;
        return o;
      }(),
      datagram);
  if (!conn) return Drop(path, conn.error().message);
  std::shared_ptr<QuicConnection> c = std::move(*conn);
  ++stats_.connections_accepted;
  conns_.push_back(c);
  by_ptr_[c.get()] = c;
  c->Receive(path, datagram, now);
  MarkDirty(c.get());
  CollectEvents(c.get());
}

Result<std::shared_ptr<QuicConnection>> EndpointEngine::Connect(
    const NetPath& path, const NodeId& peer, std::string alpn, uint64_t now) {
  if (conns_.size() >= cfg_.max_connections)
    return Err(ErrorCode::kOverflow, "connection limit ({}) reached",
               cfg_.max_connections);
  auto o = BaseOptions(path, now);
  o.expected_peer = peer;
  o.alpns = {std::move(alpn)};
  VUDO_ASSIGN_OR_RETURN(auto conn, QuicConnection::Connect(std::move(o)));
  std::shared_ptr<QuicConnection> c = std::move(conn);
  ++stats_.connections_dialed;
  conns_.push_back(c);
  by_ptr_[c.get()] = c;
  MarkDirty(c.get());
  return c;
}

void EndpointEngine::MarkDirty(QuicConnection* conn) { dirty_.insert(conn); }

void EndpointEngine::Send(uint64_t now, const TransmitFn& sink) {
  for (auto& [path, bytes] : pending_tx_) {
    sink(path, bytes, bytes.size());
    ++stats_.datagrams_sent;
    stats_.bytes_sent += bytes.size();
  }
  pending_tx_.clear();
  if (dirty_.empty()) return;
  std::vector<QuicConnection*> dirty(dirty_.begin(), dirty_.end());
  dirty_.clear();
  TransmitFn counting = [&](const NetPath& p, ByteSpan d, size_t seg) {
    stats_.datagrams_sent += (d.size() + seg - 1) / seg;
    stats_.bytes_sent += d.size();
    sink(p, d, seg);
  };
  for (QuicConnection* c : dirty) {
    if (!by_ptr_.count(c)) continue;
    c->Send(now, counting);
    CollectEvents(c);
  }
}

uint64_t EndpointEngine::Expiry() const {
  uint64_t e = UINT64_MAX;
  for (const auto& c : conns_) e = std::min(e, c->Expiry());
  if (!dirty_.empty() || !pending_tx_.empty()) e = 0;
  return e;
}

void EndpointEngine::HandleTimeout(uint64_t now) {
  for (auto& c : conns_) {
    if (c->Expiry() <= now) {
      c->HandleTimeout(now);
      MarkDirty(c.get());
      CollectEvents(c.get());
    }
  }
}

void EndpointEngine::CollectEvents(QuicConnection* conn) {
  if (!conn->HasEvents()) return;
  auto it = by_ptr_.find(conn);
  if (it == by_ptr_.end()) return;
  auto shared = it->second.lock();
  for (auto& ev : conn->TakeEvents()) {
    if (ev.type == ConnEvent::Type::kConnected) {
      ++stats_.connections_established;
      was_connected_.insert(conn);
    } else if (ev.type == ConnEvent::Type::kClosed) {
      if (!was_connected_.count(conn)) {
        ++stats_.handshakes_failed;
        VUDO_LOG_INFO("net: handshake with {}:{} failed: {}",
                      conn->path().remote.address().to_string(),
                      conn->path().remote.port(),
                      conn->close_info().ToString());
      }
    }
    events_.emplace_back(shared, ev);
  }
}

std::vector<std::pair<std::shared_ptr<QuicConnection>, ConnEvent>>
EndpointEngine::TakeEvents() {
  std::vector<std::pair<std::shared_ptr<QuicConnection>, ConnEvent>> out;
  out.swap(events_);
  return out;
}

void EndpointEngine::Reap() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if ((*it)->closed()) {
      QuicConnection* p = it->get();
      p->DetachRegistry();
      by_ptr_.erase(p);
      dirty_.erase(p);
      was_connected_.erase(p);
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.open_connections = conns_.size();
}

void EndpointEngine::CloseAll(uint64_t app_code, std::string_view reason,
                              uint64_t now) {
  for (auto& c : conns_) {
    c->Close(app_code, reason, now);
    MarkDirty(c.get());
    CollectEvents(c.get());
  }
}

void EndpointEngine::SendStatelessReset(const NetPath& path, ByteSpan dcid,
                                        size_t trigger_len, uint64_t now) {
  // Must be shorter than the trigger (no loops between two endpoints).
  if (trigger_len <= kMinStatelessReset)
    return Drop(path, "short packet for an unknown connection");
  if (now - reset_window_start_ >= 1'000'000'000) {
    reset_window_start_ = now;
    resets_in_window_ = 0;
  }
  if (resets_in_window_ >= cfg_.max_stateless_resets_per_sec)
    return Drop(path, "stateless reset rate limit");
  ++resets_in_window_;
  auto token = StatelessResetToken(cfg_.reset_key, dcid);
  size_t len = std::min<size_t>(trigger_len - 1, 64);
  Bytes random(len - 1 - token.size());
  gnutls_rnd(GNUTLS_RND_NONCE, random.data(), random.size());
  Bytes out(len);
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(
      out.data(), out.size(), token.data(), random.data(), random.size());
  if (n <= 0) return Drop(path, "could not build a stateless reset");
  out.resize(static_cast<size_t>(n));
  ++stats_.stateless_resets_sent;
  VUDO_LOG_DEBUG("net: stateless reset to {}:{}",
                 path.remote.address().to_string(), path.remote.port());
  pending_tx_.emplace_back(path, std::move(out));
}

void EndpointEngine::SendVersionNegotiation(const NetPath& path,
                                            const ngtcp2_version_cid& vc) {
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  Bytes out(kMinInitialDatagram);
  uint8_t unused;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
  // The reply swaps the client's connection ids.
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      out.data(), out.size(), unused, vc.scid, vc.scidlen, vc.dcid, vc.dcidlen,
      versions, 1);
  if (n <= 0) return Drop(path, "could not build version negotiation");
  out.resize(static_cast<size_t>(n));
  ++stats_.version_negotiations_sent;
  pending_tx_.emplace_back(path, std::move(out));
}

}  // namespace vudo::net
