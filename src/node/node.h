// Node: one vudo node. It owns the data dir (identity, store), the repo with
// the TodoApp, the QUIC endpoint serving the automerge-repo protocol on ALPN
// `iroh/automerge-repo/1` (one bidirectional stream per connection, opened by
// the dialer), the control socket, the optional Prometheus endpoint, and the
// links to known peers, which it redials with exponential backoff when they
// drop (100 ms doubling to 5 s, +-20% jitter, reset on success).
//
// Threading: everything runs on the io_context passed in (one thread).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "discovery/mdns_service.h"
#include "discovery/node_addr.h"
#include "net/endpoint.h"
#include "node/control.h"
#include "node/home.h"
#include "node/metrics_http.h"
#include "node/todo_service.h"
#include "repo/repo.h"
#include "repo/session.h"

namespace vudo::node {

inline constexpr char kRepoAlpn[] = "iroh/automerge-repo/1";

struct NodeConfig {
  std::filesystem::path data_dir;
  std::string name;
  // UDP sockets; port 0 = any. An empty address disables that family.
  std::string bind_v4 = "0.0.0.0";
  std::string bind_v6 = "::";
  uint16_t port = 0;
  std::vector<NodeAddr> connect;            // peers to dial and keep dialing
  std::optional<repo::DocumentId> doc;      // the todo document to use
  std::optional<std::string> metrics_addr;  // "IP:PORT" for /metrics
  bool create_doc = true;  // create a todo doc if none is configured (and
                           // none arrives from a peer)
  uint64_t backoff_initial_ms = 100;
  uint64_t backoff_max_ms = 5000;
  // For the first minute after losing a peer we were connected to, redial
  // at least this often: the path may come back at any moment (a healed
  // partition), and a dial's own Initial retransmissions back off to
  // seconds. Then the backoff grows to backoff_max_ms.
  uint64_t backoff_recent_loss_ms = 250;
  uint64_t recent_loss_window_ms = 60000;
  net::TransportConfig transport;
  // LAN discovery (iroh's mDNS conventions). We announce "doc=<id>" of our
  // todo document as user-data and connect to the peers that announce the
  // same document (or, while we have none, to any vudo peer).
  bool mdns = true;
  MdnsServiceOptions mdns_options;
};

// What the node reports as it runs (printed by `vudo start`).
struct NodeEvent {
  std::string type;  // ready, peer-connected, peer-disconnected, changes,
                     // doc-adopted, dial-failed
  nlohmann::json data;
};

class Node {
 public:
  Node(boost::asio::io_context& io, NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Opens the data dir, binds, starts serving and dialing. Errors name what
  // failed (bad config, port in use, a node already running on the dir).
  Status Start();
  // Closes every connection and the sockets; idempotent.
  void Stop();

  void OnEvent(std::function<void(const NodeEvent&)> cb) {
    on_event_ = std::move(cb);
  }

  const NodeId& id() const;
  NodeAddr addr() const;
  std::string ticket() const;
  TodoService& todos() { return *todos_; }
  repo::Repo& repo() { return *repo_; }
  // Dials a peer now and keeps the link up.
  void Connect(const NodeAddr& addr, const std::string& via = "ticket");
  nlohmann::json StatusJson() const;
  std::string PrometheusText() const;
  // Handles a control/stdin command (todo commands, status, peers, ping).
  nlohmann::json Command(const nlohmann::json& request);

 private:
  struct Link;
  class QuicByteStream;

  void Serve(std::shared_ptr<net::Connection> conn);
  void Attach(Link& link, std::shared_ptr<net::Connection> conn,
              std::shared_ptr<net::Stream> stream, bool initiator);
  void Dial(Link& link);
  void ScheduleRedial(Link& link);
  void OnLinkClosed(Link& link, const std::string& why);
  Link& LinkFor(const NodeId& id);
  void OnDocumentEvent(const repo::DocumentEvent& ev);
  void OnMdnsEvent(const MdnsEvent& ev);
  void AnnounceDoc();
  void Emit(const std::string& type, nlohmann::json data);
  uint64_t NowMs() const;

  boost::asio::io_context& io_;
  NodeConfig config_;
  std::unique_ptr<Home> home_;
  std::unique_ptr<repo::Repo> repo_;
  std::unique_ptr<TodoService> todos_;
  std::unique_ptr<net::Endpoint> endpoint_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<MdnsService> mdns_;
  std::map<NodeId, std::unique_ptr<Link>> links_;
  std::function<void(const NodeEvent&)> on_event_;
  bool stopped_ = false;
  uint64_t started_ms_ = 0;
  // Totals for metrics.
  uint64_t changes_received_ = 0;
  uint64_t sync_latency_count_ = 0;
  double sync_latency_sum_ms_ = 0;
  double sync_latency_max_ms_ = 0;
  double last_sync_latency_ms_ = -1;
};

}  // namespace vudo::node
