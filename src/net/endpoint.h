// vudo::net::Endpoint: a node's QUIC endpoint, wire-compatible with iroh 1.0
// direct connections. This is the API the layers above (repo, relay, cli)
// use; the protocol work happens in the sans-I/O engines (endpoint_engine.h,
// quic_connection.h) that this thin Boost.Asio driver feeds.
//
// Identity: the node's Ed25519 key. Peers are named by NodeId (the public
// key); TLS 1.3 with raw public keys proves both ids on every connection.
// A dialer pins the id it dials; an acceptor may refuse ids (allow_peer).
// Every connection negotiates an ALPN; incoming connections are routed to
// the handler registered for theirs, and an ALPN without a handler is
// refused during the handshake (TLS no_application_protocol).
//
// Threading: an Endpoint, its Connections and Streams belong to the thread
// running the io_context (one thread per node). Every method must be called
// on that thread; other threads post() into it. Callbacks run on that
// thread, never re-entrantly from inside a method call, and may call any
// method (including closing or dropping the object they belong to).
//
// Example (the shape of the repo layer: one bidi stream per connection,
// u32-BE-length-prefixed messages):
//
//   boost::asio::io_context io;
//   auto ep = Endpoint::Create(io, {.secret_key = key}).value();
//   ep->Register("iroh/automerge-repo/1", [](std::shared_ptr<Connection> c) {
//     c->OnStream([](std::shared_ptr<Stream> s) {
//       s->OnReadable([s] {
//         uint8_t buf[4096];
//         while (auto r = s->Read(buf)) {
//           if (r->bytes == 0 && !r->fin) break;   // wait for more
//           ... parse frames from buf[0..r->bytes) ...
//           if (r->fin) break;
//         }
//       });
//     });
//     c->OnClosed([](const CloseInfo& why) { ... why.ToString() ... });
//   });
//   ep->Dial(peer_addr, "iroh/automerge-repo/1",
//            [](Result<std::shared_ptr<Connection>> c) {
//              if (!c) return log(c.error().ToString());
//              auto s = (*c)->OpenBi().value();
//              size_t n = s->Write(frame).value();  // may take less: then
//              s->OnWritable([..] { write the rest });  // backpressure
//            });
//   io.run();
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/ed25519.h"
#include "discovery/node_addr.h"
#include "net/endpoint_engine.h"
#include "net/quic_connection.h"

namespace vudo::net {

class EndpointImpl;
class Connection;

// The application code a connection is closed with when simultaneous dials
// produced two connections and this one lost the tie-break.
inline constexpr uint64_t kDuplicateConnectionCode = 0x7664;  // "vd"

// One QUIC stream. Created by Connection::OpenBi/OpenUni or delivered by
// Connection::OnStream.
class Stream {
 public:
  int64_t id() const { return id_; }
  bool bidirectional() const { return QuicConnection::IsBidiStream(id_); }

  // Copies as much of `data` as the stream's send buffer takes and returns
  // that count (0 when full). After a short write, OnWritable fires once
  // space frees up: this is how a slow reader slows the writer down.
  // Errors: kClosed (stream finished/reset or connection closed).
  Result<size_t> Write(ByteSpan data);
  // Write without the copy: the stream references bytes [offset, offset +
  // n) of `data` (n returned, as Write) until the peer acknowledged them;
  // they must not change meanwhile. For bulk senders.
  Result<size_t> WriteShared(std::shared_ptr<const Bytes> data,
                             size_t offset = 0);
  // Ends the sending direction after the data written so far.
  Status Finish();
  // Reads buffered data. {0, false}: nothing yet, wait for OnReadable.
  // {n, true}: the last data (or none) and the peer finished. Errors:
  // kClosed when the peer reset the stream or the connection closed.
  // Flow control credit goes back to the peer only as data is read.
  Result<ReadResult> Read(std::span<uint8_t> out);
  // Read without the copy: `visit` sees the next buffered bytes (at most
  // `max` in all, in one or more pieces, valid only during the call),
  // which then count as read. `visit` must not call into the stream or its
  // connection.
  Result<ReadResult> Consume(size_t max,
                             const std::function<void(ByteSpan)>& visit);
  // Abandons the stream in both directions with an application code.
  Status Reset(uint64_t app_code);
  // Free space in the send buffer.
  size_t WritableBytes() const;

  // Fires when Read may return something new (data, FIN, reset, close).
  // Edge-triggered: read until Read returns 0 bytes. It also fires once
  // soon after being set (posted), so data that arrived before is not
  // missed; a spurious call just reads nothing.
  void OnReadable(std::function<void()> cb);
  // Fires once after a short Write when buffer space is available again.
  void OnWritable(std::function<void()> cb) { on_writable_ = std::move(cb); }

  std::shared_ptr<Connection> connection() const { return conn_.lock(); }

 private:
  friend class EndpointImpl;
  friend class Connection;
  Stream(std::weak_ptr<Connection> conn, int64_t id)
      : conn_(std::move(conn)), id_(id) {}
  std::weak_ptr<Connection> conn_;
  int64_t id_;
  std::function<void()> on_readable_, on_writable_;
};

// A QUIC connection with an authenticated peer.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // The peer's node id (proved by the TLS handshake).
  NodeId remote_id() const;
  const std::string& alpn() const { return quic_->alpn(); }
  // True if we dialed it.
  bool is_dialer() const { return !quic_->is_server(); }
  // The peer's direct address.
  UdpEndpoint remote_address() const { return quic_->path().remote; }

  // Opens a stream. Errors: kClosed, kOverflow (the peer's stream limit;
  // retry after OnStreamsAvailable).
  Result<std::shared_ptr<Stream>> OpenBi();
  Result<std::shared_ptr<Stream>> OpenUni();
  // Streams the peer opens. Streams opened before a callback is set are
  // queued (bounded by our stream limit) and delivered when it is set.
  void OnStream(std::function<void(std::shared_ptr<Stream>)> cb);
  void OnStreamsAvailable(std::function<void()> cb) {
    on_streams_available_ = std::move(cb);
  }
  // Fires once when the connection ends (by either side, idle timeout...).
  // Set after it ended, it fires at once (posted).
  void OnClosed(std::function<void(const CloseInfo&)> cb);

  // Closes with an application code and reason (sent to the peer).
  void Close(uint64_t app_code, std::string_view reason);
  bool closed() const { return quic_->closing(); }
  const CloseInfo& close_info() const { return quic_->close_info(); }
  ConnectionStats Stats() const { return quic_->Stats(); }
  // Dialer only: when (SystemClock::MonotonicNs) its TLS handshake
  // completed, before the server confirmed it (HANDSHAKE_DONE) and the dial
  // succeeded; the moment quinn's (iroh's) connect returns. 0 otherwise.
  uint64_t handshake_completed_at_ns() const { return handshake_completed_ns_; }

 private:
  friend class EndpointImpl;
  friend class Stream;
  Connection(std::weak_ptr<EndpointImpl> ep,
             std::shared_ptr<QuicConnection> quic)
      : ep_(std::move(ep)), quic_(std::move(quic)) {}
  Result<std::shared_ptr<Stream>> Open(bool bidi);
  // Asks the endpoint to send what this connection has to send.
  void Kick();

  std::weak_ptr<EndpointImpl> ep_;
  std::shared_ptr<QuicConnection> quic_;
  std::map<int64_t, std::shared_ptr<Stream>> streams_;
  std::vector<std::shared_ptr<Stream>> unclaimed_streams_;
  std::function<void(std::shared_ptr<Stream>)> on_stream_;
  std::function<void()> on_streams_available_;
  std::function<void(const CloseInfo&)> on_closed_;
  bool delivered_ = false;  // handed to a handler or dial callback
  bool closed_notified_ = false;
  uint64_t connected_ns_ = 0;
  uint64_t handshake_completed_ns_ = 0;
};

struct EndpointConfig {
  crypto::SecretKey secret_key;
  // Sockets to bind (port 0 = any). A family without an address is not
  // used. Binding the IPv6 one may fail on hosts without IPv6 (ignored if
  // the IPv4 one works).
  std::optional<UdpEndpoint> bind_v4 =
      UdpEndpoint(boost::asio::ip::address_v4::any(), 0);
  std::optional<UdpEndpoint> bind_v6 =
      UdpEndpoint(boost::asio::ip::address_v6::any(), 0);
  TransportConfig transport;
  bool gso = true;  // UDP segmentation offload when the kernel has it
  bool gro = true;  // UDP receive offload when the kernel has it
  // To loopback addresses, send QUIC packets as large as the loopback
  // interface's MTU allows (64 KiB; fewer packets per byte) rather than
  // the 1452 bytes used elsewhere; the peer's max_udp_payload_size
  // transport parameter still bounds them.
  bool large_loopback_packets = true;
  // Refuses incoming node ids (return false). Optional: all allowed.
  std::function<bool(const NodeId&)> allow_peer;
};

class Endpoint {
 public:
  // Binds the sockets and starts serving on `io`. Errors: kIo (bind).
  static Result<std::unique_ptr<Endpoint>> Create(boost::asio::io_context& io,
                                                  EndpointConfig cfg);
  // Closes every connection (CONNECTION_CLOSE, best effort) and the
  // sockets. No callback runs afterwards.
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const NodeId& id() const;
  // The bound sockets.
  std::vector<UdpEndpoint> local_endpoints() const;
  // How peers can reach us: our id and direct addresses (a socket bound to
  // an unspecified address is listed once per local interface address).
  NodeAddr node_addr() const;

  using AcceptHandler = std::function<void(std::shared_ptr<Connection>)>;
  // Serves `alpn`: established incoming connections that negotiated it are
  // passed to `handler`. Replaces an earlier handler for the same ALPN.
  void Register(std::string alpn, AcceptHandler handler);
  void Unregister(const std::string& alpn);

  using DialCallback = std::function<void(Result<std::shared_ptr<Connection>>)>;
  // Connects to `addr.id` at its direct addresses (tried in order until
  // one handshake succeeds; a refusal stops the attempts) and calls `cb`
  // once. If a connection to that node with that ALPN is already
  // established, `cb` gets it. If the peer dials us at the same time, one
  // connection survives (the one dialed by the smaller node id) and `cb`
  // may get the connection the peer dialed (also passed to the handler).
  // Errors: kInvalidArgument (no usable address), kRefused (wrong node id,
  // ALPN not served, our id not allowed), kTimeout, kClosed.
  void Dial(const NodeAddr& addr, std::string alpn, DialCallback cb);

  EndpointStats stats() const;
  // Gracefully closes every connection with an application code.
  void CloseAll(uint64_t app_code, std::string_view reason);

 private:
  explicit Endpoint(std::shared_ptr<EndpointImpl> impl)
      : impl_(std::move(impl)) {}
  std::shared_ptr<EndpointImpl> impl_;
};

}  // namespace vudo::net
