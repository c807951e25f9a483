#include "node/node.h"

#include <sodium.h>

#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "automerge/types.h"
#include "base/log.h"
#include "discovery/ticket.h"

namespace vudo::node {

namespace asio = boost::asio;
using nlohmann::json;

// ---- Link: what we know about one peer ----

struct Node::Link {
  enum class State { kIdle, kDialing, kConnected, kBackoff };
  NodeId id;
  std::optional<NodeAddr> addr;  // known: we (re)dial it
  State state = State::kIdle;
  std::shared_ptr<net::Connection> conn;
  std::shared_ptr<net::Stream> stream;
  std::unique_ptr<QuicByteStream> bytes;
  std::unique_ptr<repo::PeerSession> session;
  std::unique_ptr<asio::steady_timer> timer;
  uint64_t generation = 0;  // bumps on every attach/detach: stale callbacks
  uint64_t backoff_ms = 0;
  uint64_t dial_started_ms = 0;
  uint64_t connected_at_ms = 0;
  uint64_t disconnected_at_ms = 0;
  double last_connect_ms = -1;    // dial start -> session ready
  double last_reconnect_ms = -1;  // disconnect -> session ready again
  uint64_t connects = 0, disconnects = 0, dial_failures = 0;
  std::string last_error;
  std::string remote_address;
  std::string via;  // how we learnt its address: ticket, mdns

  static const char* StateName(State s) {
    switch (s) {
      case State::kIdle:
        return "idle";
      case State::kDialing:
        return "dialing";
      case State::kConnected:
        return "connected";
      case State::kBackoff:
        return "backoff";
    }
    return "?";
  }
};

// Writes session bytes to a QUIC stream, queueing what the stream's send
// buffer does not take yet (backpressure: flushed on OnWritable).
class Node::QuicByteStream : public repo::ByteStream {
 public:
  QuicByteStream(std::shared_ptr<net::Stream> stream,
                 std::shared_ptr<net::Connection> conn)
      : stream_(std::move(stream)), conn_(std::move(conn)) {}
  void Write(Bytes data) override {
    if (closed_) return;
    queued_ += data.size();
    pending_.push_back(std::move(data));
    Flush();
  }
  void Close(std::string_view reason) override {
    if (closed_) return;
    closed_ = true;
    conn_->Close(0, reason);
  }
  size_t queued() const { return queued_; }

 private:
  void Flush() {
    while (!pending_.empty()) {
      Bytes& front = pending_.front();
      auto n = stream_->Write(ByteSpan(front).subspan(offset_));
      if (!n) {
        closed_ = true;
        pending_.clear();
        return;
      }
      offset_ += *n;
      queued_ -= *n;
      if (offset_ < front.size()) {
        stream_->OnWritable([this] { Flush(); });
        return;
      }
      pending_.pop_front();
      offset_ = 0;
    }
  }
  std::shared_ptr<net::Stream> stream_;
  std::shared_ptr<net::Connection> conn_;
  std::deque<Bytes> pending_;
  size_t offset_ = 0;
  size_t queued_ = 0;
  bool closed_ = false;
};

// ---- Node ----

Node::Node(asio::io_context& io, NodeConfig config)
    : io_(io), config_(std::move(config)) {}

Node::~Node() { Stop(); }

uint64_t Node::NowMs() const { return SystemClock::Get().WallNs() / 1'000'000; }

const NodeId& Node::id() const { return endpoint_->id(); }
NodeAddr Node::addr() const { return endpoint_->node_addr(); }
std::string Node::ticket() const { return EncodeTicket(addr()); }

void Node::Emit(const std::string& type, json data) {
  if (on_event_) on_event_(NodeEvent{type, std::move(data)});
}

Status Node::Start() {
  started_ms_ = NowMs();
  VUDO_ASSIGN_OR_RETURN(home_, Home::Open(config_.data_dir));
  repo::RepoOptions ro;
  ro.self = home_->node_id();
  ro.storage_id = home_->node_id();
  ro.store = home_->store.get();
  ro.policy = &home_->policy;
  repo_ = std::make_unique<repo::Repo>(ro);
  repo_->OnChange(
      [this](const repo::DocumentEvent& ev) { OnDocumentEvent(ev); });
  todos_ = std::make_unique<TodoService>(repo_.get(), home_->store.get(),
                                         &SystemClock::Get());

  // The control socket first: it refuses to start a second node on the dir.
  control_ = std::make_unique<ControlServer>(
      io_, [this](const json& req) { return Command(req); });
  VUDO_TRY(control_->Start(home_->control_socket()));

  net::EndpointConfig ec;
  ec.secret_key = home_->key;
  ec.transport = config_.transport;
  auto bind = [&](const std::string& ip,
                  std::optional<UdpEndpoint>& out) -> vudo::Status {
    if (ip.empty()) {
      out.reset();
      return Ok();
    }
    boost::system::error_code aec;
    auto a = asio::ip::make_address(ip, aec);
    if (aec) return Err(ErrorCode::kInvalidArgument, "bad bind address {}", ip);
    out = UdpEndpoint(a, config_.port);
    return Ok();
  };
  VUDO_TRY(bind(config_.bind_v4, ec.bind_v4));
  VUDO_TRY(bind(config_.bind_v6, ec.bind_v6));
  const repo::AllowListPolicy* policy = &home_->policy;
  ec.allow_peer = [policy](const NodeId& id) {
    return policy->AllowPeer(id.ToHex());
  };
  VUDO_ASSIGN_OR_RETURN(endpoint_, net::Endpoint::Create(io_, std::move(ec)));
  endpoint_->Register(kRepoAlpn, [this](std::shared_ptr<net::Connection> c) {
    Serve(std::move(c));
  });

  if (config_.metrics_addr) {
    metrics_ = std::make_unique<MetricsServer>(
        io_, [this] { return PrometheusText(); });
    VUDO_TRY(metrics_->Start(*config_.metrics_addr));
  }

  // The todo document.
  if (config_.doc) {
    VUDO_TRY(todos_->Use(*config_.doc));
  } else {
    VUDO_TRY(todos_->LoadFromSettings());
    if (!todos_->doc() && config_.connect.empty() && config_.create_doc) {
      VUDO_TRY(todos_->CreateNew());
    }
  }

  json ready;
  ready["node_id"] = home_->node_id();
  ready["ticket"] = ticket();
  ready["doc"] = todos_->doc() ? json(todos_->doc()->ToUrl()) : json(nullptr);
  ready["data_dir"] = config_.data_dir.string();
  json addrs = json::array();
  for (const auto& ep : endpoint_->local_endpoints())
    addrs.push_back(FormatSocketAddr(ep));
  ready["bound"] = addrs;
  if (metrics_) ready["metrics_port"] = metrics_->port();
  Emit("ready", ready);

  if (config_.mdns) {
    mdns_ = std::make_unique<MdnsService>(io_, home_->key.public_key(),
                                          endpoint_->local_endpoints(),
                                          config_.mdns_options);
    mdns_->on_event([this](const MdnsEvent& ev) { OnMdnsEvent(ev); });
    AnnounceDoc();
    if (auto s = mdns_->Start(); !s) {
      VUDO_LOG_WARN("mDNS discovery is off: {}", s.error().ToString());
      mdns_.reset();
    }
  }

  for (const auto& a : config_.connect) Connect(a);
  return Ok();
}

void Node::AnnounceDoc() {
  if (!mdns_) return;
  auto doc = todos_->doc();
  (void)mdns_->SetUserData(
      doc ? std::optional<std::string>("doc=" + doc->ToString())
          : std::nullopt);
}

void Node::OnMdnsEvent(const MdnsEvent& ev) {
  if (stopped_ || ev.kind == MdnsEventKind::kExpired) return;
  // Only peers of our document (or any vudo peer while we have none).
  auto doc = todos_->doc();
  const auto& ud = ev.peer.user_data;
  if (!ud || ud->rfind("doc=", 0) != 0) return;
  if (doc && ud->substr(4) != doc->ToString()) return;
  NodeAddr addr = ev.peer.ToNodeAddr();
  if (addr.direct_addresses.empty()) return;
  Connect(addr, "mdns");
  // Hearing from a peer we are waiting to redial is evidence that the path
  // works again (e.g. a partition healed): dial now instead of waiting out
  // the backoff.
  Link& link = LinkFor(addr.id);
  if (ev.kind == MdnsEventKind::kDiscovered &&
      link.state == Link::State::kBackoff) {
    link.timer->cancel();
    link.backoff_ms = config_.backoff_initial_ms;
    Dial(link);
  }
}

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, link] : links_) {
    if (link->timer) link->timer->cancel();
    ++link->generation;
  }
  if (endpoint_) endpoint_->CloseAll(0, "node stopping");
  for (auto& [id, link] : links_) {
    if (link->session) link->session->OnClosed();
    link->session.reset();
    link->bytes.reset();
    link->stream.reset();
    link->conn.reset();
  }
  if (mdns_) mdns_->Stop();
  if (metrics_) metrics_->Stop();
  if (control_) control_->Stop();
  endpoint_.reset();
}

Node::Link& Node::LinkFor(const NodeId& id) {
  auto& slot = links_[id];
  if (!slot) {
    slot = std::make_unique<Link>();
    slot->id = id;
    slot->backoff_ms = config_.backoff_initial_ms;
    slot->timer = std::make_unique<asio::steady_timer>(io_);
  }
  return *slot;
}

void Node::Connect(const NodeAddr& addr, const std::string& via) {
  if (stopped_ || addr.id == id()) return;
  Link& link = LinkFor(addr.id);
  link.addr = addr;
  if (link.via.empty() || link.state != Link::State::kConnected) link.via = via;
  if (link.state == Link::State::kIdle) Dial(link);
}

void Node::Dial(Link& link) {
  if (stopped_ || !link.addr) return;
  link.state = Link::State::kDialing;
  link.dial_started_ms = NowMs();
  uint64_t gen = ++link.generation;
  Link* lp = &link;
  endpoint_->Dial(*link.addr, kRepoAlpn,
                  [this, lp, gen](Result<std::shared_ptr<net::Connection>> c) {
                    if (stopped_ || lp->generation != gen) {
                      return;
                    }
                    if (!c) {
                      lp->dial_failures++;
                      lp->last_error = c.error().ToString();
                      Emit("dial-failed", {{"peer", lp->id.ToHex()},
                                           {"error", lp->last_error}});
                      return ScheduleRedial(*lp);
                    }
                    if ((*c)->is_dialer()) {
                      auto s = (*c)->OpenBi();
                      if (!s) {
                        lp->last_error = s.error().ToString();
                        (*c)->Close(0, "cannot open stream");
                        return ScheduleRedial(*lp);
                      }
                      Attach(*lp, *c, *s, /*initiator=*/true);
                    } else {
                      // Simultaneous dial: the peer's connection won; it
                      // opens the stream (see Serve).
                      Serve(*c);
                    }
                  });
}

void Node::ScheduleRedial(Link& link) {
  if (stopped_ || !link.addr) {
    link.state = Link::State::kIdle;
    return;
  }
  link.state = Link::State::kBackoff;
  uint32_t r = randombytes_uniform(401);  // 0..400 -> jitter 0.8..1.2
  uint64_t delay = link.backoff_ms * (800 + r) / 1000;
  uint64_t cap = config_.backoff_max_ms;
  if (link.disconnects > 0 &&
      NowMs() - link.disconnected_at_ms < config_.recent_loss_window_ms)
    cap = std::min(cap, config_.backoff_recent_loss_ms);
  link.backoff_ms = std::min(link.backoff_ms * 2, cap);
  delay = std::min(delay, cap * 12 / 10);
  uint64_t gen = ++link.generation;
  Link* lp = &link;
  link.timer->expires_after(std::chrono::milliseconds(delay));
  link.timer->async_wait([this, lp, gen](const boost::system::error_code& ec) {
    if (ec || stopped_ || lp->generation != gen) return;
    Dial(*lp);
  });
}

void Node::Serve(std::shared_ptr<net::Connection> conn) {
  if (stopped_) return;
  Link& link = LinkFor(conn->remote_id());
  if (link.conn == conn) return;
  Link* lp = &link;
  std::weak_ptr<net::Connection> weak = conn;
  conn->OnStream([this, lp, weak](std::shared_ptr<net::Stream> s) {
    auto c = weak.lock();
    if (!c || stopped_ || !s->bidirectional()) return;
    if (lp->conn == c) return;  // one repo stream per connection
    Attach(*lp, c, std::move(s), /*initiator=*/false);
  });
}

void Node::Attach(Link& link, std::shared_ptr<net::Connection> conn,
                  std::shared_ptr<net::Stream> stream, bool initiator) {
  // A newer connection replaces an older one (e.g. the peer restarted).
  if (link.session) {
    link.session->OnClosed();
    link.session.reset();
  }
  if (link.conn && link.conn != conn) link.conn->Close(0, "replaced");
  if (link.timer) link.timer->cancel();
  uint64_t gen = ++link.generation;
  link.conn = conn;
  link.stream = stream;
  link.remote_address = FormatSocketAddr(conn->remote_address());
  link.bytes = std::make_unique<QuicByteStream>(stream, conn);
  repo::PeerSession::Options so;
  so.role = initiator ? repo::PeerSession::Role::kInitiator
                      : repo::PeerSession::Role::kAcceptor;
  so.authenticated_id = link.id.ToHex();
  so.metadata.storage_id = home_->node_id();
  so.metadata.is_ephemeral = false;
  link.session =
      std::make_unique<repo::PeerSession>(repo_.get(), link.bytes.get(), so);
  Link* lp = &link;
  link.session->OnReady([this, lp, gen, initiator](const repo::PeerId&) {
    if (lp->generation != gen) return;
    uint64_t now = NowMs();
    bool reconnect = lp->disconnects > 0;
    lp->state = Link::State::kConnected;
    lp->connected_at_ms = now;
    lp->connects++;
    lp->backoff_ms = config_.backoff_initial_ms;
    if (initiator) lp->last_connect_ms = double(now - lp->dial_started_ms);
    if (reconnect) lp->last_reconnect_ms = double(now - lp->disconnected_at_ms);
    json ev = {{"peer", lp->id.ToHex()},
               {"address", lp->remote_address},
               {"direct", true},
               {"via", lp->via.empty() ? "incoming" : lp->via},
               {"dialed", initiator}};
    if (initiator) ev["connect_ms"] = lp->last_connect_ms;
    if (reconnect) ev["reconnect_ms"] = lp->last_reconnect_ms;
    Emit("peer-connected", ev);
  });
  stream->OnReadable([this, lp, gen] {
    if (lp->generation != gen || !lp->stream || !lp->session) return;
    // Edge-triggered: read until nothing is left (what is buffered is
    // bounded by the flow-control window we grant).
    uint8_t buf[65536];
    for (;;) {
      auto r = lp->stream->Read(buf);
      if (!r) return OnLinkClosed(*lp, "stream closed: " + r.error().message);
      if (r->bytes > 0) lp->session->OnBytes(ByteSpan(buf, r->bytes));
      if (lp->generation != gen || !lp->session) return;
      if (r->fin) return OnLinkClosed(*lp, "peer finished the stream");
      if (r->bytes == 0) return;
    }
  });
  conn->OnClosed([this, lp, gen](const net::CloseInfo& why) {
    if (lp->generation != gen) return;
    OnLinkClosed(*lp, why.ToString());
  });
  link.session->Start();
}

void Node::OnLinkClosed(Link& link, const std::string& why) {
  if (stopped_) return;
  bool was_connected = link.state == Link::State::kConnected;
  ++link.generation;
  if (link.session) link.session->OnClosed();
  if (link.conn && !link.conn->closed()) link.conn->Close(0, "session ended");
  // Destroy after the current callback returns (we may be inside one of
  // the objects' own callbacks).
  auto session = std::shared_ptr<repo::PeerSession>(std::move(link.session));
  auto bytes = std::shared_ptr<QuicByteStream>(std::move(link.bytes));
  auto stream = std::move(link.stream);
  auto conn = std::move(link.conn);
  asio::post(io_, [session, bytes, stream, conn] {});
  link.last_error = why;
  if (was_connected) {
    link.disconnects++;
    link.disconnected_at_ms = NowMs();
    Emit("peer-disconnected", {{"peer", link.id.ToHex()}, {"reason", why}});
  }
  if (link.addr)
    ScheduleRedial(link);
  else
    link.state = Link::State::kIdle;
}

void Node::OnDocumentEvent(const repo::DocumentEvent& ev) {
  if (!ev.from) return;
  changes_received_ += ev.new_changes;
  auto doc = repo_->Get(ev.id);
  if (!doc) return;
  // Latency: our todo changes carry the author's wall clock ("t=<ms>").
  uint64_t now = NowMs();
  double latency = -1;
  size_t n = (*doc)->NumChanges();
  for (size_t i = n - std::min(n, ev.new_changes); i < n; ++i) {
    auto meta = (*doc)->ChangeMetaAt(i);
    if (meta.message.rfind("t=", 0) != 0) continue;
    int64_t t = 0;
    auto [p, ec] = std::from_chars(
        meta.message.data() + 2, meta.message.data() + meta.message.size(), t);
    if (ec != std::errc() || t <= 0) continue;
    double l = double(int64_t(now) - t);
    if (l < 0) l = 0;
    latency = std::max(latency, l);
  }
  if (latency >= 0) {
    sync_latency_count_++;
    sync_latency_sum_ms_ += latency;
    sync_latency_max_ms_ = std::max(sync_latency_max_ms_, latency);
    last_sync_latency_ms_ = latency;
  }
  // A node without a todo document adopts the first one a peer shares.
  if (!todos_->doc() && (*doc)->Get(automerge::kRoot, "todos")) {
    if (auto s = todos_->Use(ev.id); s) {
      Emit("doc-adopted", {{"doc", ev.id.ToUrl()}, {"from", *ev.from}});
      AnnounceDoc();
    }
  }
  json data = {
      {"from", *ev.from}, {"doc", ev.id.ToUrl()}, {"count", ev.new_changes}};
  if (latency >= 0) data["latency_ms"] = latency;
  if (todos_->doc() && *todos_->doc() == ev.id) {
    json todos = json::array();
    for (const auto& t : todos_->List())
      todos.push_back(TodoService::TodoJson(t));
    data["todos"] = todos;
  }
  Emit("changes", data);
}

json Node::StatusJson() const {
  json s;
  s["running"] = true;
  s["node_id"] = home_->node_id();
  s["name"] = config_.name;
  s["data_dir"] = config_.data_dir.string();
  s["ticket"] = ticket();
  s["doc"] = todos_->doc() ? json(todos_->doc()->ToUrl()) : json(nullptr);
  s["uptime_ms"] = NowMs() - started_ms_;
  json bound = json::array();
  for (const auto& ep : endpoint_->local_endpoints())
    bound.push_back(FormatSocketAddr(ep));
  s["bound"] = bound;
  json docs = json::array();
  for (const auto& id : repo_->Documents()) {
    json d = {{"url", id.ToUrl()}};
    if (auto doc = repo_->Get(id); doc) {
      d["changes"] = (*doc)->NumChanges();
      json heads = json::array();
      for (const auto& h : (*doc)->Heads())
        heads.push_back(automerge::HashToHex(h));
      d["heads"] = heads;
    }
    docs.push_back(d);
  }
  s["documents"] = docs;
  json peers = json::array();
  for (const auto& [id, link] : links_) {
    json p = {{"id", id.ToHex()},
              {"state", Link::StateName(link->state)},
              {"via", link->via.empty() ? "incoming" : link->via},
              {"path", link->state == Link::State::kConnected ? "direct" : ""},
              {"address", link->remote_address},
              {"connects", link->connects},
              {"disconnects", link->disconnects},
              {"dial_failures", link->dial_failures},
              {"known_address", link->addr.has_value()}};
    if (link->last_connect_ms >= 0) p["connect_ms"] = link->last_connect_ms;
    if (link->last_reconnect_ms >= 0)
      p["reconnect_ms"] = link->last_reconnect_ms;
    if (!link->last_error.empty()) p["last_error"] = link->last_error;
    if (link->conn && link->state == Link::State::kConnected) {
      auto st = link->conn->Stats();
      p["rtt_us"] = st.smoothed_rtt_ns / 1000;
      p["min_rtt_us"] = st.min_rtt_ns / 1000;
      p["bytes_sent"] = st.bytes_sent;
      p["bytes_received"] = st.bytes_received;
      p["packets_lost"] = st.packets_lost;
      p["cwnd"] = st.cwnd;
      p["handshake_ms"] = double(st.handshake_ns) / 1e6;
      uint64_t secs =
          std::max<uint64_t>(1, (NowMs() - link->connected_at_ms) / 1000);
      p["throughput_bps"] = (st.bytes_sent + st.bytes_received) * 8 / secs;
    }
    if (link->session) {
      p["session_bytes_sent"] = link->session->bytes_sent();
      p["session_bytes_received"] = link->session->bytes_received();
    }
    peers.push_back(p);
  }
  s["peers"] = peers;
  json discovered = json::array();
  if (mdns_) {
    for (const auto& p : mdns_->peer_details()) {
      json addrs = json::array();
      for (const auto& a : p.addrs) addrs.push_back(FormatSocketAddr(a));
      discovered.push_back({{"id", p.id.ToHex()},
                            {"addrs", addrs},
                            {"user_data", p.user_data.value_or("")}});
    }
  }
  s["discovered"] = discovered;
  s["mdns"] = mdns_ != nullptr;
  json m;
  m["changes_received"] = changes_received_;
  m["sync_latency_ms"] = {
      {"count", sync_latency_count_},
      {"mean", sync_latency_count_
                   ? sync_latency_sum_ms_ / double(sync_latency_count_)
                   : 0.0},
      {"max", sync_latency_max_ms_},
      {"last", last_sync_latency_ms_}};
  auto es = endpoint_->stats();
  m["endpoint"] = {{"datagrams_sent", es.datagrams_sent},
                   {"datagrams_received", es.datagrams_received},
                   {"bytes_sent", es.bytes_sent},
                   {"bytes_received", es.bytes_received},
                   {"connections_accepted", es.connections_accepted},
                   {"connections_dialed", es.connections_dialed},
                   {"handshakes_failed", es.handshakes_failed},
                   {"garbage_dropped", es.garbage_dropped},
                   {"open_connections", es.open_connections}};
  s["metrics"] = m;
  return s;
}

std::string Node::PrometheusText() const {
  std::string out;
  auto line = [&](const std::string& name, const std::string& labels,
                  double v) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += fmt::format(" {}\n", v);
  };
  auto help = [&](const std::string& name, const std::string& type,
                  const std::string& text) {
    out +=
        "# HELP " + name + " " + text + "\n# TYPE " + name + " " + type + "\n";
  };
  size_t connected = 0;
  for (const auto& [id, l] : links_)
    if (l->state == Link::State::kConnected) ++connected;
  help("vudo_peers_connected", "gauge", "Peers with an open sync session.");
  line("vudo_peers_connected", "", double(connected));
  help("vudo_changes_received_total", "counter",
       "Automerge changes received from peers.");
  line("vudo_changes_received_total", "", double(changes_received_));
  help("vudo_sync_latency_ms", "summary",
       "Edit on a peer to visible here, from the change's timestamp.");
  line("vudo_sync_latency_ms_sum", "", sync_latency_sum_ms_);
  line("vudo_sync_latency_ms_count", "", double(sync_latency_count_));
  help("vudo_sync_latency_ms_max", "gauge", "Largest sync latency seen.");
  line("vudo_sync_latency_ms_max", "", sync_latency_max_ms_);
  help("vudo_peer_rtt_us", "gauge", "Smoothed RTT per peer.");
  for (const auto& [id, l] : links_)
    if (l->conn && l->state == Link::State::kConnected)
      line("vudo_peer_rtt_us", "peer=\"" + id.ToHex() + "\"",
           double(l->conn->Stats().smoothed_rtt_ns / 1000));
  help("vudo_peer_bytes_sent_total", "counter", "UDP payload bytes per peer.");
  for (const auto& [id, l] : links_)
    if (l->conn)
      line("vudo_peer_bytes_sent_total", "peer=\"" + id.ToHex() + "\"",
           double(l->conn->Stats().bytes_sent));
  help("vudo_peer_bytes_received_total", "counter",
       "UDP payload bytes per peer.");
  for (const auto& [id, l] : links_)
    if (l->conn)
      line("vudo_peer_bytes_received_total", "peer=\"" + id.ToHex() + "\"",
           double(l->conn->Stats().bytes_received));
  help("vudo_peer_connect_ms", "gauge", "Last dial-to-synced time per peer.");
  for (const auto& [id, l] : links_)
    if (l->last_connect_ms >= 0)
      line("vudo_peer_connect_ms", "peer=\"" + id.ToHex() + "\"",
           l->last_connect_ms);
  help("vudo_peer_reconnect_ms", "gauge",
       "Last disconnect-to-reconnected time per peer.");
  for (const auto& [id, l] : links_)
    if (l->last_reconnect_ms >= 0)
      line("vudo_peer_reconnect_ms", "peer=\"" + id.ToHex() + "\"",
           l->last_reconnect_ms);
  help("vudo_peer_disconnects_total", "counter", "Lost sessions per peer.");
  for (const auto& [id, l] : links_)
    line("vudo_peer_disconnects_total", "peer=\"" + id.ToHex() + "\"",
         double(l->disconnects));
  auto es = endpoint_->stats();
  help("vudo_endpoint_datagrams_total", "counter", "QUIC datagrams.");
  line("vudo_endpoint_datagrams_total", "dir=\"sent\"",
       double(es.datagrams_sent));
  line("vudo_endpoint_datagrams_total", "dir=\"received\"",
       double(es.datagrams_received));
  help("vudo_endpoint_garbage_dropped_total", "counter",
       "Datagrams dropped as undecodable or unroutable.");
  line("vudo_endpoint_garbage_dropped_total", "", double(es.garbage_dropped));
  return out;
}

json Node::Command(const json& request) {
  std::string cmd = request.is_object() ? request.value("cmd", "") : "";
  if (cmd == "ping") return {{"ok", true}};
  if (cmd == "status") {
    json s = StatusJson();
    s["ok"] = true;
    return s;
  }
  if (cmd == "peers") {
    return {{"ok", true}, {"peers", StatusJson()["peers"]}};
  }
  if (cmd == "connect") {
    auto addr = DecodeTicket(request.value("ticket", ""));
    if (!addr) return {{"ok", false}, {"error", addr.error().ToString()}};
    Connect(*addr);
    return {{"ok", true}};
  }
  auto before = todos_->doc();
  json answer = todos_->Execute(request);
  if (todos_->doc() != before) AnnounceDoc();
  return answer;
}

}  // namespace vudo::node
