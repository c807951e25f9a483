// QuicConnection: one QUIC v1 connection as a sans-I/O engine over ngtcp2
// 0.12.1 + GnuTLS (raw public keys, see tls.h).
//
// It never touches a socket or a clock: the owner feeds it datagrams with
// Receive(path, bytes, now), asks it for datagrams with Send(now, sink),
// and calls HandleTimeout(now) once Expiry() has passed. Everything that
// happened (handshake done, stream data, close) is queued as ConnEvents
// that the owner takes with TakeEvents() after each call. User code is
// never called from inside ngtcp2, so event handlers may call any method.
//
//   auto conn = QuicConnection::Connect(opts).value();   // client role
//   conn->Send(now, sink);                               // first Initial
//   ... conn->Receive(path, datagram, now); conn->Send(now, sink);
//   for (auto& ev : conn->TakeEvents()) ...
//
// Identities: the client pins the server's NodeId (Options::expected_peer);
// the server learns the client's NodeId and may refuse it (allow_peer).
// The client trusts the connection only at handshake_confirmed (it is then
// sure the server accepted its key), the server at handshake_completed.
// kConnected is emitted at that point; before it no stream may be used.
//
// Streams: Write copies into a bounded per-stream send buffer (kept until
// the peer acknowledges it, as ngtcp2 requires) and returns how much it
// took; when it took less than offered, a kStreamWritable event follows
// once space frees up. Received data is buffered only up to the flow
// control window we grant; credit is returned as the application Reads, so
// a slow reader slows the writer down.
//
// Thread-compatible: use from one thread (the endpoint's loop).
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "net/tls.h"

namespace vudo::net {

using UdpEndpoint = boost::asio::ip::udp::endpoint;

// Local and remote socket address of a datagram.
struct NetPath {
  UdpEndpoint local;
  UdpEndpoint remote;
  bool operator==(const NetPath&) const = default;
};

// Receives outgoing datagrams. `data` holds one QUIC datagram, or, when
// segment_size < data.size(), several datagrams of segment_size bytes each
// (the last may be shorter) for one GSO send. Valid only during the call.
using TransmitFn =
    std::function<void(const NetPath& path, ByteSpan data, size_t segment)>;

// Our fixed connection id length (ngtcp2 needs one length per endpoint).
inline constexpr size_t kCidLength = 16;

using StatelessResetKey = std::array<uint8_t, 32>;
// The stateless reset token we issue with `cid`: the first 16 bytes of
// HMAC-SHA256(key, cid). The endpoint derives it again for a packet whose
// connection it no longer knows (RFC 9000 10.3).
std::array<uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> StatelessResetToken(
    const StatelessResetKey& key, ByteSpan cid);

// Told about every connection id a connection accepts packets on, so an
// endpoint can route datagrams (demux by destination connection id).
class CidRegistry {
 public:
  virtual ~CidRegistry() = default;
  virtual void AddCid(ByteSpan cid, class QuicConnection* conn) = 0;
  virtual void RemoveCid(ByteSpan cid) = 0;
};

struct TransportConfig {
  uint64_t idle_timeout_ns = 30'000'000'000;  // closes silently after it
  uint64_t keep_alive_ns = 5'000'000'000;     // PING when idle; 0 = off
  uint64_t handshake_timeout_ns = 10'000'000'000;
  uint64_t stream_window = 1 << 20;           // initial, per stream
  uint64_t max_stream_window = 16 << 20;      // auto-tuned up to this
  uint64_t connection_window = 4 << 20;       // initial, all streams
  uint64_t max_connection_window = 64 << 20;  // auto-tuned up to this
  uint64_t max_bidi_streams = 128;            // concurrent, per peer
  uint64_t max_uni_streams = 128;             // concurrent, per peer
  size_t stream_send_buffer = 4 << 20;        // unacked bytes/stream
  size_t max_gso_segments = 1;  // >1 lets Send batch packets for GSO
  // Largest UDP payload we send. 0: ngtcp2's default (1200, raised to at
  // most 1452 by path MTU discovery). Above 1452: used from the start
  // without PMTUD (for paths known to carry it, e.g. loopback), still
  // bounded by the peer's max_udp_payload_size transport parameter.
  size_t max_udp_payload = 0;
};

// Why a connection ended.
struct CloseInfo {
  enum class Kind {
    kLocal,             // we called Close(code, reason)
    kPeer,              // the peer closed with an application code
    kTransportError,    // a protocol or TLS error (either side)
    kIdleTimeout,       // no packet for idle_timeout
    kHandshakeTimeout,  // handshake did not finish in time
    kStatelessReset,    // the peer forgot the connection
    kRefused,           // identity, ALPN or allow-list refusal (either side)
  };
  Kind kind = Kind::kLocal;
  bool by_peer = false;      // the close was initiated by the peer
  bool application = false;  // code is an application code
  uint64_t code = 0;
  std::string reason;

  // "closed by peer: application code 0x0 'bye'" and the like.
  std::string ToString() const;
};

struct ConnectionStats {
  uint64_t handshake_ns = 0;  // from creation to kConnected (0 before)
  uint64_t smoothed_rtt_ns = 0;
  uint64_t min_rtt_ns = 0;
  uint64_t latest_rtt_ns = 0;
  uint64_t bytes_sent = 0;  // UDP payload bytes
  uint64_t bytes_received = 0;
  uint64_t packets_sent = 0;  // QUIC packets (datagrams)
  uint64_t packets_received = 0;
  uint64_t packets_lost = 0;  // lost packets that carried stream data
  uint64_t cwnd = 0;
  uint64_t bytes_in_flight = 0;
  UdpEndpoint remote;  // the direct address in use
  UdpEndpoint local;
};

struct ConnEvent {
  enum class Type {
    kHandshakeCompleted,  // client only: TLS done, 1-RTT keys (the
                          // server may still refuse our key: no streams
                          // yet; quinn's connect returns here)
    kConnected,           // handshake done and peer trusted
    kStreamOpened,        // the peer opened stream_id
    kStreamReadable,      // stream_id has data, FIN or a reset to Read
    kStreamWritable,      // stream_id has send buffer space again
    kStreamsAvailable,    // the peer raised its stream limit (OpenStream)
    kClosed,              // the connection ended; close_info() says why
  };
  Type type;
  int64_t stream_id = -1;
};

struct ReadResult {
  size_t bytes = 0;
  bool fin = false;  // every byte was read and the peer finished
};

class QuicConnection {
 public:
  struct Options {
    const TlsContext* tls = nullptr;  // required, outlives the connection
    TransportConfig transport;
    NetPath path;
    uint64_t now = 0;
    // Client: the node id the server must prove (required).
    std::optional<NodeId> expected_peer;
    // Client: the one ALPN it asks for. Server: every ALPN it serves; a
    // client offering none of them is refused (no_application_protocol).
    std::vector<std::string> alpns;
    // Server: may refuse a client's node id (return false). Optional.
    std::function<bool(const NodeId&)> allow_peer;
    CidRegistry* cids = nullptr;  // optional
    StatelessResetKey reset_key{};
  };

  // A client connection; its first Initial comes out of the next Send.
  static Result<std::unique_ptr<QuicConnection>> Connect(Options opts);
  // A server connection for the client Initial `first_datagram` (which the
  // caller then passes to Receive). Errors: kInvalidArgument when it is not
  // an acceptable first Initial.
  static Result<std::unique_ptr<QuicConnection>> Accept(
      Options opts, ByteSpan first_datagram);

  ~QuicConnection();
  // Unregisters every connection id from the CidRegistry and forgets it
  // (the owner drops the connection while handles may keep it alive).
  void DetachRegistry();
  QuicConnection(const QuicConnection&) = delete;
  QuicConnection& operator=(const QuicConnection&) = delete;

  // Feeds one datagram. Errors are reported as a kClosed event (the return
  // value only says whether the connection is still alive).
  void Receive(const NetPath& path, ByteSpan datagram, uint64_t now);
  // Writes every datagram that may be sent now (congestion, pacing and
  // flow control permitting) to `sink`.
  void Send(uint64_t now, const TransmitFn& sink);
  // When HandleTimeout must be called next (UINT64_MAX: never).
  uint64_t Expiry() const;
  void HandleTimeout(uint64_t now);

  std::vector<ConnEvent> TakeEvents();
  bool HasEvents() const { return !events_.empty(); }

  bool is_server() const { return server_; }
  bool connected() const { return connected_; }
  // Closing, draining or closed: no more streams.
  bool closing() const { return state_ != State::kOpen; }
  // Fully closed: the owner may destroy it.
  bool closed() const { return state_ == State::kClosed; }
  const CloseInfo& close_info() const { return close_info_; }
  // The peer's node id once the TLS handshake verified it.
  const std::optional<NodeId>& peer_id() const { return peer_id_; }
  // The negotiated ALPN (empty before the handshake completed).
  const std::string& alpn() const { return alpn_; }
  const NetPath& path() const { return path_; }
  ConnectionStats Stats() const;

  // Closes with an application error code and reason (CONNECTION_CLOSE),
  // then lingers for the closing period. Idempotent.
  void Close(uint64_t app_code, std::string_view reason, uint64_t now);

  // Streams (only after kConnected). Errors: kClosed (connection closing),
  // kOverflow (the peer's stream limit is reached), kNotFound (no stream).
  Result<int64_t> OpenStream(bool bidirectional);
  // Copies up to the free send-buffer space; returns how much it took.
  Result<size_t> Write(int64_t stream_id, ByteSpan data);
  // Like Write without the copy: keeps a reference to `data` and sends
  // bytes [offset, offset + n) of it, n (returned) being what the send
  // buffer takes. The bytes must not change while referenced (until the
  // peer acknowledged them or the stream ended).
  Result<size_t> WriteShared(int64_t stream_id,
                             std::shared_ptr<const Bytes> data,
                             size_t offset = 0);
  // Queues FIN after the data written so far.
  Status Finish(int64_t stream_id);
  // Copies buffered data into out. {0, false}: nothing yet (wait for
  // kStreamReadable). Errors: kClosed when the peer reset the stream.
  Result<ReadResult> Read(int64_t stream_id, std::span<uint8_t> out);
  // Read without the copy: calls `visit` with the next buffered bytes, in
  // order, in one or more pieces of at most `max` bytes in all, which then
  // count as read. The pieces are valid only during the call; `visit` must
  // not call into this connection.
  Result<ReadResult> Consume(int64_t stream_id, size_t max,
                             const std::function<void(ByteSpan)>& visit);
  // Abandons both directions with an application code (RESET_STREAM +
  // STOP_SENDING) and forgets the stream.
  Status ResetStream(int64_t stream_id, uint64_t app_code);
  // Free space in the stream's send buffer.
  size_t WritableBytes(int64_t stream_id) const;
  // True while the engine knows the stream (not yet fully done).
  bool HasStream(int64_t stream_id) const { return streams_.count(stream_id); }
  // True if we opened the stream.
  bool IsLocalStream(int64_t stream_id) const;
  static bool IsBidiStream(int64_t stream_id) { return (stream_id & 2) == 0; }

 private:
  // Buffered send data: an owned buffer (appended to within its fixed
  // capacity) or a view of shared application bytes (WriteShared).
  struct SendChunk {
    Bytes own;
    std::shared_ptr<const Bytes> shared;
    const uint8_t* view = nullptr;
    size_t view_len = 0;
    const uint8_t* data() const { return shared ? view : own.data(); }
    size_t size() const { return shared ? view_len : own.size(); }
    bool appendable() const { return !shared && own.size() < own.capacity(); }
  };
  struct Stream {
    int64_t id = -1;
    // send side: bytes [send_base, send_end) are buffered in send_chunks;
    // [send_base, sent) were given to ngtcp2 and wait for acknowledgement.
    std::deque<SendChunk> send_chunks;
    uint64_t send_base = 0, sent = 0, send_end = 0;
    bool fin_queued = false, fin_sent = false, blocked = false;
    bool want_writable = false, write_closed = false;
    // receive side
    std::deque<Bytes> recv_chunks;
    size_t recv_front_pos = 0, recv_buffered = 0;
    bool fin_received = false, reset_received = false, fin_read = false;
    uint64_t reset_code = 0;
    bool readable_pending = false;
    bool transport_closed = false;  // ngtcp2 forgot it
    bool abandoned = false;         // ResetStream was called
    bool queued = false;            // in send_queue_
    bool credit_returned = false;   // MAX_STREAMS credit given back
    uint64_t loss_count = 0;
  };
  enum class State { kOpen, kClosing, kDraining, kClosed };

  QuicConnection() = default;
  Status Init(Options& opts, bool server, const ngtcp2_pkt_hd* hd);
  // The stream and its free send-buffer space, if it may be written.
  Result<std::pair<Stream*, size_t>> WritableStream(int64_t stream_id);
  Status InitTls(const Options& opts);
  void Emit(ConnEvent::Type type, int64_t stream_id = -1);
  Stream* FindStream(int64_t id);
  Stream& GetStream(int64_t id);
  void Enqueue(Stream& s);
  // Lets the peer open one more stream like `id` (once per stream).
  void ReturnStreamCredit(int64_t id, Stream* s);
  // Erases streams in forget_candidates_ that both sides are done with.
  void SweepStreams();
  // Handles a fatal ngtcp2 error code from read/write/expiry.
  void Fail(int rv, uint64_t now);
  void EnterClosed(CloseInfo info);
  void WriteClose(const ngtcp2_connection_close_error& ccerr, uint64_t now);
  void SetConnected();
  bool PickStreamData(Stream& s, ngtcp2_vec* vec, size_t* nvec);

  // ngtcp2 / GnuTLS callbacks (static trampolines).
  static int OnHandshakeCompleted(ngtcp2_conn* c, void* ud);
  static int OnHandshakeConfirmed(ngtcp2_conn* c, void* ud);
  static int OnRecvStreamData(ngtcp2_conn* c, uint32_t flags, int64_t sid,
                              uint64_t offset, const uint8_t* data, size_t len,
                              void* ud, void* sud);
  static int OnAckedStreamData(ngtcp2_conn* c, int64_t sid, uint64_t offset,
                               uint64_t len, void* ud, void* sud);
  static int OnStreamOpen(ngtcp2_conn* c, int64_t sid, void* ud);
  static int OnStreamClose(ngtcp2_conn* c, uint32_t flags, int64_t sid,
                           uint64_t app_error_code, void* ud, void* sud);
  static int OnStreamReset(ngtcp2_conn* c, int64_t sid, uint64_t final_size,
                           uint64_t app_error_code, void* ud, void* sud);
  static int OnStreamStopSending(ngtcp2_conn* c, int64_t sid,
                                 uint64_t app_error_code, void* ud, void* sud);
  static int OnExtendMaxStreamData(ngtcp2_conn* c, int64_t sid,
                                   uint64_t max_data, void* ud, void* sud);
  static int OnExtendMaxLocalStreams(ngtcp2_conn* c, uint64_t max_streams,
                                     void* ud);
  static int OnGetNewCid(ngtcp2_conn* c, ngtcp2_cid* cid, uint8_t* token,
                         size_t cidlen, void* ud);
  static int OnRemoveCid(ngtcp2_conn* c, const ngtcp2_cid* cid, void* ud);
  static int OnStatelessReset(ngtcp2_conn* c,
                              const ngtcp2_pkt_stateless_reset* sr, void* ud);
  static int OnVerifyPeer(gnutls_session_t session);
  static ngtcp2_conn* GetConn(ngtcp2_crypto_conn_ref* ref);

  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t session_ = nullptr;
  ngtcp2_crypto_conn_ref conn_ref_{};
  bool server_ = false;
  State state_ = State::kOpen;
  bool connected_ = false, handshake_completed_ = false;
  bool close_resend_ = false;  // close_packet_ must go out with next Send
  uint64_t now_ = 0;           // of the current call (for callbacks)
  uint64_t created_ns_ = 0, connected_ns_ = 0, close_deadline_ = 0;
  NetPath path_;
  std::optional<NodeId> expected_peer_, peer_id_;
  Bytes expected_spki_;  // the pinned key's SubjectPublicKeyInfo
  std::vector<std::string> alpns_;
  std::string alpn_;
  std::function<bool(const NodeId&)> allow_peer_;
  CidRegistry* cids_ = nullptr;
  StatelessResetKey reset_key_{};
  TransportConfig cfg_;
  std::vector<Bytes> registered_cids_;
  std::string verify_error_;  // why our TLS verify callback refused
  bool verify_refused_ = false, stateless_reset_ = false;
  CloseInfo close_info_;
  Bytes close_packet_;  // resent in the closing period
  std::map<int64_t, Stream> streams_;
  std::deque<int64_t> send_queue_;  // streams that may have data to send
  std::vector<int64_t> forget_candidates_;
  // Stream data lives in chunks of fixed capacity, recycled.
  static constexpr size_t kSendChunk = 64 * 1024;
  static constexpr size_t kRecvChunk = 256 * 1024;
  Bytes TakeChunk(size_t capacity);  // empty, with that capacity
  void RecycleChunk(Bytes&& chunk);
  std::vector<Bytes> spare_send_chunks_, spare_recv_chunks_;
  std::vector<ConnEvent> events_;
  Bytes tx_buf_;
  uint64_t bytes_sent_ = 0, bytes_received_ = 0, packets_sent_ = 0,
           packets_received_ = 0, lost_closed_streams_ = 0;
};

}  // namespace vudo::net
