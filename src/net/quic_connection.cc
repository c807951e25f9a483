#include "net/quic_connection.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/encoding.h"
#include "base/log.h"

namespace vudo::net {
namespace {

constexpr uint64_t kCryptoErrorBase = 0x100;  // QUIC CRYPTO_ERROR + alert
constexpr uint8_t kAlertNoApplicationProtocol = 120;
// ngtcp2 0.12's default max_tx_udp_payload_size (its PMTUD's ceiling).
constexpr size_t kDefaultMaxUdpPayload = 1452;

// Holds sockaddr copies so that an ngtcp2_path can point at them.
struct PathStorage {
  explicit PathStorage(const NetPath& p) {
    ngtcp2_path_storage_init(
        &ps, reinterpret_cast<const ngtcp2_sockaddr*>(p.local.data()),
        static_cast<ngtcp2_socklen>(p.local.size()),
        reinterpret_cast<const ngtcp2_sockaddr*>(p.remote.data()),
        static_cast<ngtcp2_socklen>(p.remote.size()), nullptr);
  }
  ngtcp2_path_storage ps;
};

UdpEndpoint FromNgAddr(const ngtcp2_addr& a) {
  UdpEndpoint e;
  size_t len = std::min<size_t>(a.addrlen, e.capacity());
  std::memcpy(e.data(), a.addr, len);
  e.resize(len);
  return e;
}

NetPath FromNgPath(const ngtcp2_path& p) {
  return NetPath{FromNgAddr(p.local), FromNgAddr(p.remote)};
}

void Random(uint8_t* data, size_t len) {
  gnutls_rnd(GNUTLS_RND_NONCE, data, len);
}

void NgLog(void*, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  VUDO_LOG_TRACE("ngtcp2: {}", buf);
}

bool IsRefusalAlert(uint8_t alert) {
  switch (alert) {
    case 42:   // bad_certificate
    case 43:   // unsupported_certificate
    case 46:   // certificate_unknown
    case 48:   // unknown_ca
    case 49:   // access_denied
    case 116:  // certificate_required
    case 120:  // no_application_protocol
      return true;
    default:
      return false;
  }
}

QuicConnection* Self(void* ud) { return static_cast<QuicConnection*>(ud); }

}  // namespace

std::array<uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> StatelessResetToken(
    const StatelessResetKey& key, ByteSpan cid) {
  uint8_t digest[32];
  gnutls_hmac_fast(GNUTLS_MAC_SHA256, key.data(), key.size(), cid.data(),
                   cid.size(), digest);
  std::array<uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> token;
  std::memcpy(token.data(), digest, token.size());
  return token;
}

std::string CloseInfo::ToString() const {
  std::string who = by_peer ? "closed by peer" : "closed locally";
  std::string what;
  switch (kind) {
    case Kind::kLocal:
    case Kind::kPeer:
      what = fmt::format("application code {}", code);
      break;
    case Kind::kTransportError:
      what = fmt::format("transport error 0x{:x}", code);
      break;
    case Kind::kIdleTimeout:
      return "idle timeout";
    case Kind::kHandshakeTimeout:
      return "handshake timeout";
    case Kind::kStatelessReset:
      return "stateless reset by peer (it lost the connection)";
    case Kind::kRefused:
      what = fmt::format("refused (0x{:x})", code);
      break;
  }
  if (!reason.empty()) what += ": " + reason;
  return who + ": " + what;
}

// ---------------------------------------------------------------- creation

Result<std::unique_ptr<QuicConnection>> QuicConnection::Connect(Options opts) {
  if (!opts.tls || !opts.expected_peer || opts.alpns.size() != 1 ||
      opts.alpns[0].empty() || opts.alpns[0].size() > 255)
    return Err(ErrorCode::kInvalidArgument,
               "a client connection needs TLS credentials, the peer's node "
               "id and exactly one ALPN (1-255 bytes)");
  std::unique_ptr<QuicConnection> c(new QuicConnection());
  VUDO_TRY(c->Init(opts, /*server=*/false, nullptr));
  return c;
}

Result<std::unique_ptr<QuicConnection>> QuicConnection::Accept(
    Options opts, ByteSpan first_datagram) {
  if (!opts.tls || !opts.tls->id())
    return Err(ErrorCode::kInvalidArgument, "a server needs a node key");
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, first_datagram.data(), first_datagram.size()) != 0)
    return Err(ErrorCode::kInvalidArgument,
               "not an acceptable client Initial packet");
  std::unique_ptr<QuicConnection> c(new QuicConnection());
  VUDO_TRY(c->Init(opts, /*server=*/true, &hd));
  return c;
}

Status QuicConnection::Init(Options& opts, bool server,
                            const ngtcp2_pkt_hd* hd) {
  server_ = server;
  cfg_ = opts.transport;
  path_ = opts.path;
  now_ = created_ns_ = opts.now;
  expected_peer_ = opts.expected_peer;
  if (expected_peer_) expected_spki_ = Ed25519Spki(*expected_peer_);
  alpns_ = opts.alpns;
  allow_peer_ = std::move(opts.allow_peer);
  cids_ = opts.cids;
  reset_key_ = opts.reset_key;

  ngtcp2_callbacks cb{};
  if (server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = [](uint8_t* d, size_t n, const ngtcp2_rand_ctx*) { Random(d, n); };
  cb.get_new_connection_id = OnGetNewCid;
  cb.remove_connection_id = OnRemoveCid;
  cb.handshake_completed = OnHandshakeCompleted;
  cb.handshake_confirmed = OnHandshakeConfirmed;
  cb.recv_stream_data = OnRecvStreamData;
  cb.acked_stream_data_offset = OnAckedStreamData;
  cb.stream_open = OnStreamOpen;
  cb.stream_close = OnStreamClose;
  cb.stream_reset = OnStreamReset;
  cb.stream_stop_sending = OnStreamStopSending;
  cb.extend_max_stream_data = OnExtendMaxStreamData;
  cb.extend_max_local_streams_bidi = OnExtendMaxLocalStreams;
  cb.extend_max_local_streams_uni = OnExtendMaxLocalStreams;
  cb.recv_stateless_reset = OnStatelessReset;

  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = opts.now;
  s.cc_algo = NGTCP2_CC_ALGO_CUBIC;
  s.max_window = cfg_.max_connection_window;
  s.max_stream_window = cfg_.max_stream_window;
  s.handshake_timeout = cfg_.handshake_timeout_ns;
  if (cfg_.max_udp_payload) {
    s.max_tx_udp_payload_size = cfg_.max_udp_payload;
    if (cfg_.max_udp_payload > kDefaultMaxUdpPayload) {
      // A path known to carry such datagrams (loopback): use the size from
      // the start (bounded by the peer's max_udp_payload_size transport
      // parameter) instead of 1200 plus ngtcp2's PMTUD, which stops at 1452.
      s.no_tx_udp_payload_size_shaping = 1;
      s.no_pmtud = 1;
    }
  }
  if (std::getenv("VUDO_NGTCP2_LOG")) s.log_printf = NgLog;

  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = cfg_.stream_window;
  p.initial_max_stream_data_bidi_remote = cfg_.stream_window;
  p.initial_max_stream_data_uni = cfg_.stream_window;
  p.initial_max_data = cfg_.connection_window;
  p.initial_max_streams_bidi = cfg_.max_bidi_streams;
  p.initial_max_streams_uni = cfg_.max_uni_streams;
  p.max_idle_timeout = cfg_.idle_timeout_ns;
  p.active_connection_id_limit = 8;

  ngtcp2_cid scid;
  scid.datalen = kCidLength;
  Random(scid.data, kCidLength);
  PathStorage path(path_);
  int rv;
  if (server) {
    p.original_dcid = hd->dcid;
    p.stateless_reset_token_present = 1;
    auto token = StatelessResetToken(reset_key_, {scid.data, scid.datalen});
    std::memcpy(p.stateless_reset_token, token.data(), token.size());
    rv = ngtcp2_conn_server_new(&conn_, &hd->scid, &scid, &path.ps.path,
                                hd->version, &cb, &s, &p, nullptr, this);
  } else {
    ngtcp2_cid dcid;
    dcid.datalen = kCidLength;
    Random(dcid.data, kCidLength);
    rv =
        ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path.ps.path,
                               NGTCP2_PROTO_VER_V1, &cb, &s, &p, nullptr, this);
  }
  if (rv != 0)
    return Err(ErrorCode::kInternal, "ngtcp2 connection setup failed: {}",
               ngtcp2_strerror(rv));
  if (server) {
    // The client's random DCID routes its retransmitted Initials to us.
    registered_cids_.emplace_back(hd->dcid.data,
                                  hd->dcid.data + hd->dcid.datalen);
    if (cids_) cids_->AddCid(registered_cids_.back(), this);
  }
  registered_cids_.emplace_back(scid.data, scid.data + scid.datalen);
  if (cids_) cids_->AddCid(registered_cids_.back(), this);
  if (cfg_.keep_alive_ns)
    ngtcp2_conn_set_keep_alive_timeout(conn_, cfg_.keep_alive_ns);
  return InitTls(opts);
}

Status QuicConnection::InitTls(const Options& opts) {
  unsigned flags = (server_ ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                   GNUTLS_ENABLE_RAWPK | GNUTLS_NO_END_OF_EARLY_DATA;
  if (int rv = gnutls_init(&session_, flags); rv < 0)
    return Err(ErrorCode::kInternal, "gnutls_init: {}", gnutls_strerror(rv));
  int rv = server_ ? ngtcp2_crypto_gnutls_configure_server_session(session_)
                   : ngtcp2_crypto_gnutls_configure_client_session(session_);
  if (rv != 0)
    return Err(ErrorCode::kInternal, "ngtcp2 crypto session setup failed");
  if (rv = gnutls_priority_set(session_, opts.tls->priority()); rv < 0)
    return Err(ErrorCode::kInternal, "gnutls priority: {}",
               gnutls_strerror(rv));
  // ngtcp2's GnuTLS glue requires the session pointer to be a conn_ref.
  conn_ref_.get_conn = GetConn;
  conn_ref_.user_data = this;
  gnutls_session_set_ptr(session_, &conn_ref_);
  if (rv = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE,
                                  opts.tls->credentials());
      rv < 0)
    return Err(ErrorCode::kInternal, "gnutls credentials: {}",
               gnutls_strerror(rv));
  gnutls_session_set_verify_function(session_, OnVerifyPeer);
  std::vector<gnutls_datum_t> protos;
  for (const auto& a : alpns_)
    protos.push_back(gnutls_datum_t{
        reinterpret_cast<unsigned char*>(const_cast<char*>(a.data())),
        static_cast<unsigned>(a.size())});
  if (!protos.empty()) {
    if (rv = gnutls_alpn_set_protocols(session_, protos.data(),
                                       static_cast<unsigned>(protos.size()),
                                       GNUTLS_ALPN_MANDATORY);
        rv < 0)
      return Err(ErrorCode::kInvalidArgument, "ALPN: {}", gnutls_strerror(rv));
  }
  if (server_)
    gnutls_certificate_server_set_request(session_, GNUTLS_CERT_REQUIRE);
  ngtcp2_conn_set_tls_native_handle(conn_, session_);
  return Ok();
}

void QuicConnection::DetachRegistry() {
  if (cids_)
    for (const auto& cid : registered_cids_) cids_->RemoveCid(cid);
  cids_ = nullptr;
}

QuicConnection::~QuicConnection() {
  DetachRegistry();
  if (conn_) ngtcp2_conn_del(conn_);
  if (session_) gnutls_deinit(session_);
}

// ---------------------------------------------------------------- I/O

void QuicConnection::Receive(const NetPath& path, ByteSpan datagram,
                             uint64_t now) {
  now_ = now;
  if (state_ == State::kClosed || state_ == State::kDraining) return;
  if (state_ == State::kClosing) {
    close_resend_ = !close_packet_.empty();
    return;
  }
  bytes_received_ += datagram.size();
  ++packets_received_;
  PathStorage ps(path);
  ngtcp2_pkt_info pi{};
  int rv = ngtcp2_conn_read_pkt(conn_, &ps.ps.path, &pi, datagram.data(),
                                datagram.size(), now);
  if (rv != 0 && rv != NGTCP2_ERR_DISCARD_PKT) Fail(rv, now);
  SweepStreams();
}

void QuicConnection::Send(uint64_t now, const TransmitFn& sink) {
  now_ = now;
  if (state_ == State::kClosing && close_resend_) {
    close_resend_ = false;
    sink(path_, close_packet_, close_packet_.size());
    return;
  }
  if (state_ != State::kOpen) return;
  size_t max_payload = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  // ngtcp2 pads datagrams that carry an Initial packet to the whole
  // buffer: with large loopback packets that would make the handshake's
  // datagrams 64 KiB each (a client sends Initial ACKs until it is
  // confirmed).
  if (!connected_) max_payload = std::min(max_payload, kDefaultMaxUdpPayload);
  // One GSO send carries at most 64 KiB: large packets go one by one.
  const size_t max_segments =
      std::max<size_t>(1, std::min(cfg_.max_gso_segments, 65000 / max_payload));
  size_t max_pkts =
      std::max<size_t>(1, ngtcp2_conn_get_send_quantum(conn_) / max_payload);
  max_pkts = std::min<size_t>(max_pkts, max_segments > 1 ? max_segments : 64);
  if (tx_buf_.size() < max_segments * max_payload)
    tx_buf_.resize(max_segments * max_payload);

  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  NetPath batch_path;
  size_t batch_len = 0, batch_pkts = 0, segment = 0, total = 0;
  auto flush = [&] {
    if (batch_len == 0) return;
    sink(batch_path, {tx_buf_.data(), batch_len}, segment);
    bytes_sent_ += batch_len;
    packets_sent_ += batch_pkts;
    batch_len = batch_pkts = 0;
  };
  for (;;) {
    Stream* s = nullptr;
    while (connected_ && !send_queue_.empty()) {
      Stream* c = FindStream(send_queue_.front());
      if (!c || c->write_closed || c->blocked ||
          (c->sent == c->send_end && (!c->fin_queued || c->fin_sent))) {
        if (c) c->queued = false;
        send_queue_.pop_front();
        continue;
      }
      s = c;
      break;
    }
    ngtcp2_vec vec[4];
    size_t nvec = 0;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    int64_t sid = -1;
    if (s) {
      sid = s->id;
      PickStreamData(*s, vec, &nvec);
      uint64_t len = 0;
      for (size_t i = 0; i < nvec; ++i) len += vec[i].len;
      if (s->fin_queued && s->sent + len == s->send_end)
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    ngtcp2_ssize ndata = -1;
    uint8_t* dest = tx_buf_.data() + batch_len;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, dest,
                                               max_payload, &ndata, flags, sid,
                                               nvec ? vec : nullptr, nvec, now);
    if (s && ndata >= 0) {
      s->sent += static_cast<uint64_t>(ndata);
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->sent == s->send_end)
        s->fin_sent = true;
    }
    if (n < 0) {
      if (n == NGTCP2_ERR_WRITE_MORE) continue;
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        s->blocked = true;
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
        s->write_closed = true;
        continue;
      }
      flush();
      Fail(static_cast<int>(n), now);
      return;
    }
    if (n == 0) break;
    size_t len = static_cast<size_t>(n);
    NetPath p = FromNgPath(ps.path);
    if (batch_pkts > 0 && (p != batch_path || len > segment)) {
      // Cannot join this batch: send the batch, move the packet to the front.
      sink(batch_path, {tx_buf_.data(), batch_len}, segment);
      bytes_sent_ += batch_len;
      packets_sent_ += batch_pkts;
      std::memmove(tx_buf_.data(), dest, len);
      batch_len = batch_pkts = 0;
    }
    if (batch_pkts == 0) {
      batch_path = p;
      segment = len;
    }
    batch_len += len;
    ++batch_pkts;
    ++total;
    if (batch_pkts >= max_segments || len < segment) flush();
    if (total >= max_pkts) break;
  }
  flush();
  // ngtcp2 0.12 paces with initial_rtt (333 ms) until the first RTT sample:
  // updating the pacer before it stalls the handshake by ~20 ms.
  ngtcp2_conn_stat st;
  ngtcp2_conn_get_conn_stat(conn_, &st);
  if (st.first_rtt_sample_ts != UINT64_MAX)
    ngtcp2_conn_update_pkt_tx_time(conn_, now);
  SweepStreams();
}

uint64_t QuicConnection::Expiry() const {
  switch (state_) {
    case State::kClosed:
      return UINT64_MAX;
    case State::kClosing:
    case State::kDraining:
      return close_deadline_;
    case State::kOpen:
      break;
  }
  return ngtcp2_conn_get_expiry(conn_);
}

void QuicConnection::HandleTimeout(uint64_t now) {
  now_ = now;
  if (state_ == State::kClosing || state_ == State::kDraining) {
    if (now >= close_deadline_) state_ = State::kClosed;
    return;
  }
  if (state_ != State::kOpen) return;
  if (int rv = ngtcp2_conn_handle_expiry(conn_, now); rv != 0) Fail(rv, now);
  SweepStreams();
}

std::vector<ConnEvent> QuicConnection::TakeEvents() {
  std::vector<ConnEvent> out;
  out.swap(events_);
  return out;
}

void QuicConnection::Emit(ConnEvent::Type type, int64_t stream_id) {
  events_.push_back(ConnEvent{type, stream_id});
}

// ---------------------------------------------------------------- closing

void QuicConnection::Close(uint64_t app_code, std::string_view reason,
                           uint64_t now) {
  now_ = now;
  if (state_ != State::kOpen) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, app_code, reinterpret_cast<const uint8_t*>(reason.data()),
      reason.size());
  CloseInfo info;
  info.kind = CloseInfo::Kind::kLocal;
  info.application = true;
  info.code = app_code;
  info.reason = std::string(reason);
  close_info_ = info;
  WriteClose(ccerr, now);
}

void QuicConnection::WriteClose(const ngtcp2_connection_close_error& ccerr,
                                uint64_t now) {
  Bytes buf(1500);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      conn_, &ps.path, &pi, buf.data(), buf.size(), &ccerr, now);
  if (n > 0) {
    buf.resize(static_cast<size_t>(n));
    close_packet_ = std::move(buf);
    close_resend_ = true;
    state_ = State::kClosing;
    close_deadline_ = now + 3 * ngtcp2_conn_get_pto(conn_);
  } else {
    state_ = State::kClosed;  // nothing to tell the peer (e.g. no keys yet)
  }
  Emit(ConnEvent::Type::kClosed);
}

void QuicConnection::EnterClosed(CloseInfo info) {
  close_info_ = std::move(info);
  state_ = State::kClosed;
  Emit(ConnEvent::Type::kClosed);
}

void QuicConnection::Fail(int rv, uint64_t now) {
  if (state_ != State::kOpen) return;
  CloseInfo info;
  switch (rv) {
    case NGTCP2_ERR_DRAINING: {
      state_ = State::kDraining;
      close_deadline_ = now + 3 * ngtcp2_conn_get_pto(conn_);
      info.by_peer = true;
      if (stateless_reset_) {
        info.kind = CloseInfo::Kind::kStatelessReset;
      } else {
        ngtcp2_connection_close_error ce;
        ngtcp2_conn_get_connection_close_error(conn_, &ce);
        info.code = ce.error_code;
        if (ce.reason && ce.reasonlen)
          info.reason.assign(reinterpret_cast<const char*>(ce.reason),
                             ce.reasonlen);
        if (ce.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
          info.kind = CloseInfo::Kind::kPeer;
          info.application = true;
        } else if (ce.error_code >= kCryptoErrorBase &&
                   ce.error_code < kCryptoErrorBase + 256) {
          uint8_t alert = static_cast<uint8_t>(ce.error_code);
          info.kind = IsRefusalAlert(alert) ? CloseInfo::Kind::kRefused
                                            : CloseInfo::Kind::kTransportError;
          std::string what = "TLS alert " + TlsAlertName(alert);
          if (alert == kAlertNoApplicationProtocol && !server_)
            what += fmt::format(" (peer does not serve ALPN '{}')",
                                alpns_.empty() ? "" : alpns_[0]);
          info.reason = info.reason.empty() ? what : what + ": " + info.reason;
        } else {
          info.kind = CloseInfo::Kind::kTransportError;
        }
      }
      close_info_ = info;
      Emit(ConnEvent::Type::kClosed);
      return;
    }
    case NGTCP2_ERR_IDLE_CLOSE:
      info.kind = CloseInfo::Kind::kIdleTimeout;
      EnterClosed(info);
      return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
      info.kind = CloseInfo::Kind::kHandshakeTimeout;
      EnterClosed(info);
      return;
    case NGTCP2_ERR_DROP_CONN:
      info.kind = CloseInfo::Kind::kTransportError;
      info.reason = "connection dropped (invalid packet from peer)";
      EnterClosed(info);
      return;
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
      info.kind = CloseInfo::Kind::kRefused;
      info.reason = "peer does not support QUIC v1";
      EnterClosed(info);
      return;
    default:
      break;
  }
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  // ccerr points into `reason` (ngtcp2 does not copy it): it must live
  // until WriteClose below.
  std::string reason;
  if (rv == NGTCP2_ERR_CRYPTO) {
    uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
    reason = verify_error_;
    if (reason.empty()) {
      int tls_err = ngtcp2_conn_get_tls_error(conn_);
      reason = tls_err ? gnutls_strerror(tls_err) : "TLS handshake failed";
    }
    info.kind = (verify_refused_ || IsRefusalAlert(alert))
                    ? CloseInfo::Kind::kRefused
                    : CloseInfo::Kind::kTransportError;
    info.code = kCryptoErrorBase + alert;
    info.reason = "TLS alert " + TlsAlertName(alert) + ": " + reason;
    if (alert == kAlertNoApplicationProtocol && server_)
      info.reason += " (no handler for the ALPN the client offered)";
    ngtcp2_connection_close_error_set_transport_error_tls_alert(
        &ccerr, alert, reinterpret_cast<const uint8_t*>(reason.data()),
        std::min<size_t>(reason.size(), 200));
  } else if (rv == NGTCP2_ERR_CALLBACK_FAILURE && !verify_error_.empty()) {
    info.kind = CloseInfo::Kind::kRefused;
    info.code = NGTCP2_PROTOCOL_VIOLATION;
    info.reason = verify_error_;
    ngtcp2_connection_close_error_set_transport_error(
        &ccerr, NGTCP2_PROTOCOL_VIOLATION,
        reinterpret_cast<const uint8_t*>(verify_error_.data()),
        std::min<size_t>(verify_error_.size(), 200));
  } else {
    info.kind = CloseInfo::Kind::kTransportError;
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv,
                                                             nullptr, 0);
    info.code = ccerr.error_code;
    info.reason = ngtcp2_strerror(rv);
  }
  close_info_ = info;
  WriteClose(ccerr, now);
}

// ---------------------------------------------------------------- streams

Bytes QuicConnection::TakeChunk(size_t capacity) {
  auto* pool = capacity == kSendChunk   ? &spare_send_chunks_
               : capacity == kRecvChunk ? &spare_recv_chunks_
                                        : nullptr;
  Bytes b;
  if (pool && !pool->empty()) {
    b = std::move(pool->back());
    pool->pop_back();
  } else {
    b.reserve(capacity);
  }
  return b;
}

void QuicConnection::RecycleChunk(Bytes&& chunk) {
  // Fresh memory costs page faults at bulk rates: keep up to 1 MiB of
  // each size per connection (a bound on what an idle connection holds).
  size_t cap = chunk.capacity();
  auto* pool = cap == kSendChunk   ? &spare_send_chunks_
               : cap == kRecvChunk ? &spare_recv_chunks_
                                   : nullptr;
  if (!pool || pool->size() >= (1u << 20) / cap) return;
  chunk.clear();
  pool->push_back(std::move(chunk));
}

QuicConnection::Stream* QuicConnection::FindStream(int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

QuicConnection::Stream& QuicConnection::GetStream(int64_t id) {
  Stream& s = streams_[id];
  s.id = id;
  return s;
}

bool QuicConnection::IsLocalStream(int64_t stream_id) const {
  // Bit 0 of a stream id is set for server-initiated streams.
  return ((stream_id & 1) != 0) == server_;
}

void QuicConnection::Enqueue(Stream& s) {
  if (s.queued) return;
  s.queued = true;
  send_queue_.push_back(s.id);
}

void QuicConnection::ReturnStreamCredit(int64_t id, Stream* s) {
  if (s) {
    if (s->credit_returned) return;
    s->credit_returned = true;
  }
  // ngtcp2 0.12 does not hand out new stream credit by itself.
  if (IsBidiStream(id))
    ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  else
    ngtcp2_conn_extend_max_streams_uni(conn_, 1);
}

void QuicConnection::SweepStreams() {
  if (forget_candidates_.empty()) return;
  std::vector<int64_t> ids;
  ids.swap(forget_candidates_);
  for (int64_t id : ids) {
    Stream* s = FindStream(id);
    if (!s) continue;
    bool remote_uni = !IsBidiStream(id) && !IsLocalStream(id);
    if (remote_uni && (s->fin_read || s->reset_received || s->abandoned)) {
      // ngtcp2 0.12.1 never closes a peer's unidirectional stream (it waits
      // for an acknowledged FIN that we cannot send): return the credit
      // when the application is done with it.
      if (state_ == State::kOpen) ReturnStreamCredit(id, s);
      lost_closed_streams_ += s->loss_count;
      streams_.erase(id);
      continue;
    }
    if (!s->transport_closed) continue;
    bool recv_done = s->fin_read || s->reset_received || s->abandoned ||
                     (!IsBidiStream(id) && IsLocalStream(id));
    if (!recv_done) continue;
    lost_closed_streams_ += s->loss_count;
    streams_.erase(id);
  }
}

Result<int64_t> QuicConnection::OpenStream(bool bidirectional) {
  if (state_ != State::kOpen)
    return Err(ErrorCode::kClosed, "connection is closed");
  if (!connected_)
    return Err(ErrorCode::kClosed, "connection is not established yet");
  int64_t id = -1;
  int rv = bidirectional ? ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr)
                         : ngtcp2_conn_open_uni_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
    return Err(ErrorCode::kOverflow, "the peer's stream limit is reached");
  if (rv != 0)
    return Err(ErrorCode::kInternal, "open stream: {}", ngtcp2_strerror(rv));
  GetStream(id);
  return id;
}

bool QuicConnection::PickStreamData(Stream& s, ngtcp2_vec* vec, size_t* nvec) {
  *nvec = 0;
  uint64_t base = s.send_base;
  for (auto& chunk : s.send_chunks) {
    uint64_t end = base + chunk.size();
    if (s.sent < end) {
      uint64_t from = std::max(s.sent, base);
      // ngtcp2 only reads through this pointer (ngtcp2_vec is not const).
      vec[*nvec].base = const_cast<uint8_t*>(chunk.data()) + (from - base);
      vec[*nvec].len = static_cast<size_t>(end - from);
      if (++*nvec == 4) break;
    }
    base = end;
  }
  return *nvec > 0;
}

Result<std::pair<QuicConnection::Stream*, size_t>>
QuicConnection::WritableStream(int64_t stream_id) {
  Stream* s = FindStream(stream_id);
  if (!s) return Err(ErrorCode::kNotFound, "no stream {}", stream_id);
  if (state_ != State::kOpen)
    return Err(ErrorCode::kClosed, "connection is closed");
  if (!IsBidiStream(stream_id) && !IsLocalStream(stream_id))
    return Err(ErrorCode::kInvalidArgument,
               "stream {} is the peer's unidirectional stream", stream_id);
  if (s->write_closed || s->fin_queued || s->abandoned)
    return Err(ErrorCode::kClosed, "stream {} is closed for writing",
               stream_id);
  size_t buffered = static_cast<size_t>(s->send_end - s->send_base);
  size_t space = cfg_.stream_send_buffer > buffered
                     ? cfg_.stream_send_buffer - buffered
                     : 0;
  return std::make_pair(s, space);
}

Result<size_t> QuicConnection::Write(int64_t stream_id, ByteSpan data) {
  VUDO_ASSIGN_OR_RETURN(auto sp, WritableStream(stream_id));
  auto [s, space] = sp;
  size_t n = std::min(space, data.size());
  size_t done = 0;
  while (done < n) {
    // Append only within capacity: ngtcp2 keeps pointers into these
    // chunks until the data is acknowledged, so they must never move.
    if (s->send_chunks.empty() || !s->send_chunks.back().appendable())
      s->send_chunks.push_back(SendChunk{TakeChunk(kSendChunk)});
    Bytes& back = s->send_chunks.back().own;
    size_t take = std::min(n - done, back.capacity() - back.size());
    back.insert(back.end(), data.begin() + done, data.begin() + done + take);
    done += take;
  }
  s->send_end += n;
  if (n < data.size()) s->want_writable = true;
  if (n > 0) Enqueue(*s);
  return n;
}

Result<size_t> QuicConnection::WriteShared(int64_t stream_id,
                                           std::shared_ptr<const Bytes> data,
                                           size_t offset) {
  if (!data || offset > data->size())
    return Err(ErrorCode::kInvalidArgument, "offset beyond the data");
  VUDO_ASSIGN_OR_RETURN(auto sp, WritableStream(stream_id));
  auto [s, space] = sp;
  const size_t data_size = data->size();
  size_t n = std::min(space, data_size - offset);
  if (n > 0) {
    SendChunk c;
    c.view = data->data() + offset;
    c.view_len = n;
    c.shared = std::move(data);
    s->send_chunks.push_back(std::move(c));
    s->send_end += n;
    Enqueue(*s);
  }
  if (n < data_size - offset) s->want_writable = true;
  return n;
}

Status QuicConnection::Finish(int64_t stream_id) {
  Stream* s = FindStream(stream_id);
  if (!s) return Err(ErrorCode::kNotFound, "no stream {}", stream_id);
  if (state_ != State::kOpen)
    return Err(ErrorCode::kClosed, "connection is closed");
  if (!IsBidiStream(stream_id) && !IsLocalStream(stream_id))
    return Err(ErrorCode::kInvalidArgument,
               "stream {} is the peer's unidirectional stream", stream_id);
  if (s->write_closed || s->abandoned)
    return Err(ErrorCode::kClosed, "stream {} is closed for writing",
               stream_id);
  s->fin_queued = true;
  Enqueue(*s);
  return Ok();
}

Result<ReadResult> QuicConnection::Read(int64_t stream_id,
                                        std::span<uint8_t> out) {
  size_t done = 0;
  return Consume(stream_id, out.size(), [&](ByteSpan part) {
    std::memcpy(out.data() + done, part.data(), part.size());
    done += part.size();
  });
}

Result<ReadResult> QuicConnection::Consume(
    int64_t stream_id, size_t max, const std::function<void(ByteSpan)>& visit) {
  Stream* s = FindStream(stream_id);
  if (!s) return Err(ErrorCode::kNotFound, "no stream {}", stream_id);
  s->readable_pending = false;
  if (s->reset_received) {
    uint64_t code = s->reset_code;
    forget_candidates_.push_back(stream_id);
    SweepStreams();
    return Err(ErrorCode::kClosed, "stream {} was reset by the peer (code {})",
               stream_id, code);
  }
  size_t n = 0;
  while (n < max && !s->recv_chunks.empty()) {
    Bytes& front = s->recv_chunks.front();
    size_t take = std::min(max - n, front.size() - s->recv_front_pos);
    visit(ByteSpan(front.data() + s->recv_front_pos, take));
    n += take;
    s->recv_front_pos += take;
    if (s->recv_front_pos == front.size()) {
      RecycleChunk(std::move(front));
      s->recv_chunks.pop_front();
      s->recv_front_pos = 0;
    }
  }
  s->recv_buffered -= n;
  if (n > 0 && state_ == State::kOpen && !s->transport_closed) {
    // Consumed: give the peer credit for as much again.
    ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, n);
    ngtcp2_conn_extend_max_offset(conn_, n);
  }
  ReadResult r{n, s->fin_received && s->recv_buffered == 0};
  if (r.fin && !s->fin_read) {
    s->fin_read = true;
    forget_candidates_.push_back(stream_id);
    SweepStreams();
  }
  return r;
}

Status QuicConnection::ResetStream(int64_t stream_id, uint64_t app_code) {
  Stream* s = FindStream(stream_id);
  if (!s) return Err(ErrorCode::kNotFound, "no stream {}", stream_id);
  s->abandoned = true;
  s->write_closed = true;
  s->recv_chunks.clear();
  s->recv_buffered = 0;
  if (state_ == State::kOpen && !s->transport_closed)
    ngtcp2_conn_shutdown_stream(conn_, stream_id, app_code);
  forget_candidates_.push_back(stream_id);
  SweepStreams();
  return Ok();
}

size_t QuicConnection::WritableBytes(int64_t stream_id) const {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  const Stream& s = it->second;
  if (s.write_closed || s.fin_queued || s.abandoned) return 0;
  size_t buffered = static_cast<size_t>(s.send_end - s.send_base);
  return cfg_.stream_send_buffer > buffered ? cfg_.stream_send_buffer - buffered
                                            : 0;
}

ConnectionStats QuicConnection::Stats() const {
  ConnectionStats st;
  if (connected_) st.handshake_ns = connected_ns_ - created_ns_;
  ngtcp2_conn_stat cs;
  ngtcp2_conn_get_conn_stat(conn_, &cs);
  if (cs.first_rtt_sample_ts != UINT64_MAX) {
    st.smoothed_rtt_ns = cs.smoothed_rtt;
    st.min_rtt_ns = cs.min_rtt;
    st.latest_rtt_ns = cs.latest_rtt;
  }
  st.cwnd = cs.cwnd;
  st.bytes_in_flight = cs.bytes_in_flight;
  st.bytes_sent = bytes_sent_;
  st.bytes_received = bytes_received_;
  st.packets_sent = packets_sent_;
  st.packets_received = packets_received_;
  st.packets_lost = lost_closed_streams_;
  for (const auto& [id, s] : streams_)
    st.packets_lost += s.transport_closed
                           ? s.loss_count
                           : ngtcp2_conn_get_stream_loss_count(conn_, id);
  const ngtcp2_path* p = ngtcp2_conn_get_path(conn_);
  st.local = FromNgAddr(p->local);
  st.remote = FromNgAddr(p->remote);
  return st;
}

void QuicConnection::SetConnected() {
  if (connected_) return;
  connected_ = true;
  connected_ns_ = now_;
  Emit(ConnEvent::Type::kConnected);
}

// ---------------------------------------------------------------- callbacks

ngtcp2_conn* QuicConnection::GetConn(ngtcp2_crypto_conn_ref* ref) {
  return Self(ref->user_data)->conn_;
}

int QuicConnection::OnVerifyPeer(gnutls_session_t session) {
  auto* ref =
      static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  QuicConnection* self = Self(ref->user_data);
  auto refuse = [self](std::string why) {
    self->verify_error_ = std::move(why);
    self->verify_refused_ = true;
    return -1;
  };
  if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) !=
      GNUTLS_CRT_RAWPK)
    return refuse("peer did not present a raw public key");
  unsigned n = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &n);
  if (!certs || n != 1) return refuse("peer presented no key");
  ByteSpan spki(certs[0].data, certs[0].size);
  if (!self->server_ && spki.size() == kSpkiLength &&
      std::equal(spki.begin(), spki.end(), self->expected_spki_.begin())) {
    // The pinned id: it was a valid key when the dial began, so the point
    // check (~25 us, on the handshake's critical path) is not needed again.
    self->peer_id_ = *self->expected_peer_;
    return 0;
  }
  auto id = NodeIdFromSpki(spki);
  if (!id) return refuse("peer key: " + id.error().message);
  self->peer_id_ = *id;
  if (!self->server_ && *id != *self->expected_peer_)
    return refuse(fmt::format("peer node id {} is not the dialed {}",
                              id->ToHex(), self->expected_peer_->ToHex()));
  if (self->server_ && self->allow_peer_ && !self->allow_peer_(*id))
    return refuse(fmt::format("node id {} is not allowed", id->ToHex()));
  return 0;
}

int QuicConnection::OnHandshakeCompleted(ngtcp2_conn*, void* ud) {
  QuicConnection* self = Self(ud);
  self->handshake_completed_ = true;
  gnutls_datum_t p{};
  if (gnutls_alpn_get_selected_protocol(self->session_, &p) != 0) {
    self->verify_error_ = "no ALPN was negotiated";
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  self->alpn_.assign(reinterpret_cast<const char*>(p.data), p.size);
  if (!self->server_ && self->alpn_ != self->alpns_[0]) {
    self->verify_error_ = "server selected an ALPN we did not offer";
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!self->peer_id_) {
    self->verify_error_ = "peer presented no key";
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  // The server has verified the client's key by now; the client must wait
  // for HANDSHAKE_DONE to know that the server accepted its key.
  if (self->server_)
    self->SetConnected();
  else
    self->Emit(ConnEvent::Type::kHandshakeCompleted);
  return 0;
}

int QuicConnection::OnHandshakeConfirmed(ngtcp2_conn*, void* ud) {
  QuicConnection* self = Self(ud);
  if (!self->server_) self->SetConnected();
  return 0;
}

int QuicConnection::OnRecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t sid,
                                     uint64_t, const uint8_t* data, size_t len,
                                     void* ud, void*) {
  QuicConnection* self = Self(ud);
  Stream* found = self->FindStream(sid);
  if (!found || found->abandoned) {
    // Nobody will read it (reset or forgotten): hand the credit back.
    ngtcp2_conn_extend_max_stream_offset(self->conn_, sid, len);
    ngtcp2_conn_extend_max_offset(self->conn_, len);
    return 0;
  }
  Stream& s = *found;
  if (len > 0) {
    if (s.recv_chunks.empty() ||
        s.recv_chunks.back().capacity() - s.recv_chunks.back().size() < len)
      s.recv_chunks.push_back(self->TakeChunk(std::max(kRecvChunk, len)));
    Bytes& back = s.recv_chunks.back();
    back.insert(back.end(), data, data + len);
    s.recv_buffered += len;
  }
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) s.fin_received = true;
  if (!s.readable_pending) {
    s.readable_pending = true;
    self->Emit(ConnEvent::Type::kStreamReadable, sid);
  }
  return 0;
}

int QuicConnection::OnAckedStreamData(ngtcp2_conn*, int64_t sid,
                                      uint64_t offset, uint64_t len, void* ud,
                                      void*) {
  QuicConnection* self = Self(ud);
  Stream* s = self->FindStream(sid);
  if (!s) return 0;
  uint64_t acked_end = offset + len;
  while (!s->send_chunks.empty() &&
         s->send_base + s->send_chunks.front().size() <= acked_end) {
    s->send_base += s->send_chunks.front().size();
    if (!s->send_chunks.front().shared)
      self->RecycleChunk(std::move(s->send_chunks.front().own));
    s->send_chunks.pop_front();
  }
  if (s->want_writable &&
      self->WritableBytes(sid) >= self->cfg_.stream_send_buffer / 2) {
    s->want_writable = false;
    self->Emit(ConnEvent::Type::kStreamWritable, sid);
  }
  return 0;
}

int QuicConnection::OnStreamOpen(ngtcp2_conn*, int64_t sid, void* ud) {
  QuicConnection* self = Self(ud);
  self->GetStream(sid);
  self->Emit(ConnEvent::Type::kStreamOpened, sid);
  return 0;
}

int QuicConnection::OnStreamClose(ngtcp2_conn* conn, uint32_t flags,
                                  int64_t sid, uint64_t app_error_code,
                                  void* ud, void*) {
  QuicConnection* self = Self(ud);
  Stream* s = self->FindStream(sid);
  if (!ngtcp2_conn_is_local_stream(conn, sid)) self->ReturnStreamCredit(sid, s);
  if (!s) return 0;
  s->transport_closed = true;
  s->loss_count = ngtcp2_conn_get_stream_loss_count(conn, sid);
  s->send_chunks.clear();
  s->send_base = s->sent = s->send_end;
  bool recv_side = IsBidiStream(sid) || !self->IsLocalStream(sid);
  if (recv_side && !s->fin_received && !s->abandoned) {
    s->reset_received = true;
    s->reset_code = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)
                        ? app_error_code
                        : 0;
  }
  if (recv_side && !s->readable_pending && !s->abandoned) {
    s->readable_pending = true;
    self->Emit(ConnEvent::Type::kStreamReadable, sid);
  }
  if (s->want_writable) {
    s->want_writable = false;
    self->Emit(ConnEvent::Type::kStreamWritable, sid);
  }
  self->forget_candidates_.push_back(sid);
  return 0;
}

int QuicConnection::OnStreamReset(ngtcp2_conn*, int64_t sid, uint64_t,
                                  uint64_t app_error_code, void* ud, void*) {
  QuicConnection* self = Self(ud);
  Stream* s = self->FindStream(sid);
  if (!s || s->abandoned) return 0;
  s->reset_received = true;
  s->reset_code = app_error_code;
  s->recv_chunks.clear();
  s->recv_buffered = 0;
  if (!s->readable_pending) {
    s->readable_pending = true;
    self->Emit(ConnEvent::Type::kStreamReadable, sid);
  }
  return 0;
}

int QuicConnection::OnStreamStopSending(ngtcp2_conn*, int64_t sid, uint64_t,
                                        void* ud, void*) {
  QuicConnection* self = Self(ud);
  Stream* s = self->FindStream(sid);
  if (!s) return 0;
  s->write_closed = true;
  if (s->want_writable) {
    s->want_writable = false;
    self->Emit(ConnEvent::Type::kStreamWritable, sid);
  }
  return 0;
}

int QuicConnection::OnExtendMaxStreamData(ngtcp2_conn*, int64_t sid, uint64_t,
                                          void* ud, void*) {
  QuicConnection* self = Self(ud);
  Stream* s = self->FindStream(sid);
  if (s && s->blocked) {
    s->blocked = false;
    self->Enqueue(*s);
  }
  return 0;
}

int QuicConnection::OnExtendMaxLocalStreams(ngtcp2_conn*, uint64_t, void* ud) {
  QuicConnection* self = Self(ud);
  if (self->connected_) self->Emit(ConnEvent::Type::kStreamsAvailable);
  return 0;
}

int QuicConnection::OnGetNewCid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token,
                                size_t cidlen, void* ud) {
  QuicConnection* self = Self(ud);
  Random(cid->data, cidlen);
  cid->datalen = cidlen;
  auto t = StatelessResetToken(self->reset_key_, {cid->data, cidlen});
  std::memcpy(token, t.data(), t.size());
  self->registered_cids_.emplace_back(cid->data, cid->data + cidlen);
  if (self->cids_) self->cids_->AddCid(self->registered_cids_.back(), self);
  return 0;
}

int QuicConnection::OnRemoveCid(ngtcp2_conn*, const ngtcp2_cid* cid, void* ud) {
  QuicConnection* self = Self(ud);
  ByteSpan key(cid->data, cid->datalen);
  auto& v = self->registered_cids_;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it->size() == key.size() &&
        std::equal(it->begin(), it->end(), key.begin())) {
      if (self->cids_) self->cids_->RemoveCid(*it);
      v.erase(it);
      break;
    }
  }
  return 0;
}

int QuicConnection::OnStatelessReset(ngtcp2_conn*,
                                     const ngtcp2_pkt_stateless_reset*,
                                     void* ud) {
  Self(ud)->stateless_reset_ = true;
  return 0;
}

}  // namespace vudo::net
