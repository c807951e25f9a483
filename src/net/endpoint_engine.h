// EndpointEngine: every QUIC connection of one node, as a sans-I/O engine.
//
// It routes incoming datagrams to connections by destination connection id
// (both roles share one socket), accepts new client Initials, answers
// unknown versions with Version Negotiation, answers short-header packets
// for connections it does not know with a stateless reset, and drops
// anything else with a counted (and debug-logged) reason. Like
// QuicConnection it takes datagrams and `now` in and gives datagrams and an
// expiry out; the Asio driver (endpoint.h) and the fuzzer feed it.
//
//   EndpointEngine eng(cfg);
//   eng.Receive(path, datagram, now);
//   eng.Send(now, sink);
//   for (auto& [conn, ev] : eng.TakeEvents()) ...
//   eng.Reap();  // forget closed connections
//
// Thread-compatible: one thread (the node's loop).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "net/quic_connection.h"

namespace vudo::net {

struct EndpointStats {
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;  // QUIC packets
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t connections_accepted = 0;  // server-role connections created
  uint64_t connections_dialed = 0;    // client-role connections created
  uint64_t connections_established = 0;
  uint64_t handshakes_failed = 0;  // closed before being established
  uint64_t garbage_dropped = 0;    // undecodable or unroutable datagrams
  uint64_t version_negotiations_sent = 0;
  uint64_t stateless_resets_sent = 0;
  uint64_t open_connections = 0;
};

struct EndpointEngineConfig {
  const TlsContext* tls = nullptr;  // required; outlives the engine
  TransportConfig transport;
  // Refuses client node ids (TLS bad_certificate). Optional.
  std::function<bool(const NodeId&)> allow_peer;
  size_t max_connections = 4096;
  // Stateless resets sent per second at most (they answer unauthenticated
  // packets, so they are rate limited).
  uint64_t max_stateless_resets_per_sec = 1000;
  // The max_udp_payload (TransportConfig) for a new connection on `path`;
  // 0 keeps transport.max_udp_payload. Optional.
  std::function<size_t(const NetPath&)> path_max_udp_payload;
  StatelessResetKey reset_key{};  // random unless a test sets it
  bool random_reset_key = true;
};

class EndpointEngine : public CidRegistry {
 public:
  explicit EndpointEngine(EndpointEngineConfig cfg);
  ~EndpointEngine() override;
  EndpointEngine(const EndpointEngine&) = delete;
  EndpointEngine& operator=(const EndpointEngine&) = delete;

  // The ALPNs accepted connections may negotiate (others are refused with
  // TLS no_application_protocol). Applies to connections accepted later.
  void SetAlpns(std::vector<std::string> alpns) { alpns_ = std::move(alpns); }
  const std::vector<std::string>& alpns() const { return alpns_; }

  // Feeds one received datagram; never fails (bad input is dropped and
  // counted).
  void Receive(const NetPath& path, ByteSpan datagram, uint64_t now);
  // Starts a client connection. Errors: kInvalidArgument, kOverflow (too
  // many connections).
  Result<std::shared_ptr<QuicConnection>> Connect(const NetPath& path,
                                                  const NodeId& peer,
                                                  std::string alpn,
                                                  uint64_t now);
  // Marks a connection as having something to send (after the application
  // wrote, read or closed).
  void MarkDirty(QuicConnection* conn);
  // Sends everything that may be sent now.
  void Send(uint64_t now, const TransmitFn& sink);
  uint64_t Expiry() const;
  void HandleTimeout(uint64_t now);

  std::vector<std::pair<std::shared_ptr<QuicConnection>, ConnEvent>>
  TakeEvents();
  // Drops closed connections (call after handling their kClosed events).
  void Reap();
  // Closes every connection with an application code.
  void CloseAll(uint64_t app_code, std::string_view reason, uint64_t now);

  const EndpointStats& stats() const { return stats_; }
  size_t connection_count() const { return conns_.size(); }
  const std::vector<std::shared_ptr<QuicConnection>>& connections() const {
    return conns_;
  }

  // CidRegistry
  void AddCid(ByteSpan cid, QuicConnection* conn) override;
  void RemoveCid(ByteSpan cid) override;

 private:
  QuicConnection::Options BaseOptions(const NetPath& path, uint64_t now);
  void CollectEvents(QuicConnection* conn);
  void SendStatelessReset(const NetPath& path, ByteSpan dcid,
                          size_t trigger_len, uint64_t now);
  void SendVersionNegotiation(const NetPath& path,
                              const ngtcp2_version_cid& vc);
  void Drop(const NetPath& path, std::string_view why);

  EndpointEngineConfig cfg_;
  std::vector<std::string> alpns_;
  std::vector<std::shared_ptr<QuicConnection>> conns_;
  std::unordered_map<std::string, QuicConnection*> cid_map_;
  std::unordered_map<QuicConnection*, std::weak_ptr<QuicConnection>> by_ptr_;
  std::unordered_set<QuicConnection*> dirty_;
  std::unordered_set<QuicConnection*> was_connected_;
  std::vector<std::pair<NetPath, Bytes>> pending_tx_;  // VN, resets
  std::vector<std::pair<std::shared_ptr<QuicConnection>, ConnEvent>> events_;
  uint64_t reset_window_start_ = 0, resets_in_window_ = 0;
  EndpointStats stats_;
};

}  // namespace vudo::net
