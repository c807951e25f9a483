#include "discovery/mdns.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/encoding.h"

namespace vudo {
namespace {

namespace ip = boost::asio::ip;

constexpr uint64_t kResponseDelayNs = 100 * kMs;  // swarm-discovery
constexpr char kRelayKey[] = "relay";
constexpr char kUserDataKey[] = "user-data";

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  }
  return s;
}

// swarm-discovery orders addresses as Rust's (IpAddr, u16): all IPv4
// before IPv6, then by address bytes, then port.
bool AddrLess(const UdpEndpoint& a, const UdpEndpoint& b) {
  bool a4 = a.address().is_v4();
  bool b4 = b.address().is_v4();
  if (a4 != b4) return a4;
  if (a4) {
    auto x = a.address().to_v4().to_bytes();
    auto y = b.address().to_v4().to_bytes();
    if (x != y) return x < y;
  } else {
    auto x = a.address().to_v6().to_bytes();
    auto y = b.address().to_v6().to_bytes();
    if (x != y) return x < y;
  }
  return a.port() < b.port();
}

void SortUnique(std::vector<UdpEndpoint>& addrs) {
  std::sort(addrs.begin(), addrs.end(), AddrLess);
  addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
}

dns::Name HostName(const std::string& id_label, uint16_t port) {
  dns::Name n;
  n.labels = {fmt::format("{}-{}", id_label, port), "local"};
  return n;
}

bool SamePeerData(const MdnsPeer& a, const MdnsPeer& b) {
  return a.addrs == b.addrs && a.relay_url == b.relay_url &&
         a.user_data == b.user_data;
}

}  // namespace

NodeAddr MdnsPeer::ToNodeAddr() const {
  NodeAddr addr;
  addr.id = id;
  addr.direct_addresses = addrs;
  if (relay_url) addr.relay_urls.push_back(*relay_url);
  return addr;
}

dns::Name MdnsServiceName(const std::string& service) {
  dns::Name n;
  n.labels = {"_" + service, "_udp", "local"};
  return n;
}

std::string MdnsIdLabel(const NodeId& id) { return Base32Encode(id.span()); }

Result<NodeId> ParseMdnsIdLabel(std::string_view label) {
  if (label.size() == 64) return NodeId::FromHex(label);
  if (label.size() != 52) {
    return Err(ErrorCode::kInvalidArgument, "mdns: id label of {} chars",
               label.size());
  }
  VUDO_ASSIGN_OR_RETURN(auto bytes, Base32Decode(label));
  return NodeId::FromBytes(bytes);
}

Bytes BuildMdnsQuery(const std::string& service) {
  dns::Message m;
  m.questions.push_back(
      {MdnsServiceName(service), dns::kTypePtr, dns::kClassIn});
  auto bytes = dns::EncodeMessage(m);
  // Only fails for names over 255 bytes; the service name is ours.
  return bytes ? std::move(*bytes) : Bytes{};
}

Result<Bytes> BuildMdnsResponse(const std::string& service, const NodeId& id,
                                const MdnsAnnouncement& announcement) {
  const std::string id_label = MdnsIdLabel(id);
  dns::Name instance = MdnsServiceName(service);
  instance.labels.insert(instance.labels.begin(), id_label);

  if (announcement.user_data &&
      announcement.user_data->size() > kMdnsMaxUserData) {
    return Err(ErrorCode::kInvalidArgument,
               "mdns: user-data of {} bytes (iroh allows {})",
               announcement.user_data->size(), kMdnsMaxUserData);
  }
  std::vector<std::string> txt;
  // Keys in sorted order, as swarm-discovery's BTreeMap writes them.
  if (announcement.relay_url) {
    txt.push_back(std::string(kRelayKey) + "=" + *announcement.relay_url);
  }
  if (announcement.user_data) {
    txt.push_back(std::string(kUserDataKey) + "=" + *announcement.user_data);
  }
  for (const auto& s : txt) {
    if (s.size() > 255) {
      return Err(ErrorCode::kInvalidArgument,
                 "mdns: TXT entry of {} bytes (max 255)", s.size());
    }
  }

  std::vector<UdpEndpoint> addrs = announcement.addrs;
  SortUnique(addrs);
  while (true) {
    std::map<uint16_t, std::vector<ip::address>> by_port;
    for (const auto& a : addrs) by_port[a.port()].push_back(a.address());
    dns::Message m;
    m.flags = dns::kFlagResponse | dns::kFlagAuthoritative;
    for (const auto& [port, ips] : by_port) {
      dns::Name target = HostName(id_label, port);
      m.answers.push_back(
          dns::MakeSrvRecord(instance, 0, dns::SrvData{0, 0, port, target}));
      for (const auto& a : ips) {
        if (a.is_v4()) {
          m.additionals.push_back(
              dns::MakeARecord(target, 0, a.to_v4().to_bytes()));
        } else {
          m.additionals.push_back(
              dns::MakeAaaaRecord(target, 0, a.to_v6().to_bytes()));
        }
      }
    }
    if (!txt.empty()) m.answers.push_back(dns::MakeTxtRecord(instance, 0, txt));
    VUDO_ASSIGN_OR_RETURN(auto bytes, dns::EncodeMessage(m));
    if (bytes.size() <= kMdnsMaxSendSize || addrs.empty()) return bytes;
    addrs.pop_back();  // too big for swarm-discovery's receive buffer
  }
}

Result<MdnsPacketInfo> ParseMdnsPacket(ByteSpan packet,
                                       const dns::Name& service_name,
                                       size_t max_addrs_per_peer) {
  VUDO_ASSIGN_OR_RETURN(auto m, dns::DecodeMessage(packet));
  MdnsPacketInfo info;
  for (const auto& q : m.questions) {
    if (q.klass != dns::kClassIn || q.type != dns::kTypePtr) continue;
    if (!q.name.EqualsIgnoreCase(service_name)) continue;
    info.is_query = true;
    return info;
  }

  // SRV target (lowercased) -> (port, id label); TXT per id label.
  std::map<std::string, std::vector<std::pair<uint16_t, std::string>>> ports;
  std::map<std::string, std::map<std::string, std::optional<std::string>>> txts;
  for (const auto& rec : m.answers) {
    if (rec.klass != dns::kClassIn) continue;
    if (!rec.name.IsChildOf(service_name, 1)) continue;
    const std::string& label = rec.name.labels[0];
    if (auto* srv = std::get_if<dns::SrvData>(&rec.data)) {
      ports[Lower(srv->target.ToString())].emplace_back(srv->port, label);
    } else if (auto* txt = std::get_if<dns::TxtData>(&rec.data)) {
      auto& map = txts[label];
      for (const auto& s : txt->strings) {
        if (s.empty()) continue;
        size_t eq = s.find('=');
        std::string key = s.substr(0, eq);
        std::optional<std::string> value;
        if (eq != std::string::npos) value = s.substr(eq + 1);
        map.emplace(std::move(key), std::move(value));  // first one wins
      }
    }
  }
  if (ports.empty()) return info;

  dns::Name local;
  local.labels = {"local"};
  std::map<std::string, std::vector<UdpEndpoint>> addrs;  // by id label
  for (const auto& rec : m.additionals) {
    if (rec.klass != dns::kClassIn) continue;
    if (!rec.name.IsChildOf(local, 1)) continue;
    ip::address address;
    if (auto* a = std::get_if<dns::Ipv4Bytes>(&rec.data)) {
      address = ip::address_v4(*a);
    } else if (auto* a6 = std::get_if<dns::Ipv6Bytes>(&rec.data)) {
      address = ip::address_v6(*a6);
    } else {
      continue;
    }
    auto it = ports.find(Lower(rec.name.ToString()));
    if (it == ports.end()) continue;
    for (const auto& [port, label] : it->second) {
      auto& list = addrs[label];
      if (list.size() < max_addrs_per_peer) list.emplace_back(address, port);
    }
  }
  for (auto& [label, list] : addrs) {
    auto id = ParseMdnsIdLabel(label);
    if (!id) continue;  // iroh skips ids it cannot parse
    MdnsPeer peer;
    peer.id = *id;
    peer.addrs = std::move(list);
    SortUnique(peer.addrs);
    auto t = txts.find(label);
    if (t != txts.end()) {
      auto r = t->second.find(kRelayKey);
      if (r != t->second.end() && r->second) peer.relay_url = r->second;
      auto u = t->second.find(kUserDataKey);
      if (u != t->second.end() && u->second) peer.user_data = u->second;
    }
    info.peers.push_back(std::move(peer));
  }
  return info;
}

MdnsEngine::MdnsEngine(NodeId self, MdnsOptions options)
    : self_(self),
      options_(std::move(options)),
      service_name_(MdnsServiceName(options_.service)),
      query_(BuildMdnsQuery(options_.service)),
      have_v4_(options_.ipv4),
      have_v6_(options_.ipv6),
      rng_(options_.rng_seed != 0 ? options_.rng_seed
                                  : (uint64_t(std::random_device{}()) << 32) ^
                                        std::random_device{}()) {
  if (options_.cadence_ns == 0) options_.cadence_ns = 700 * kMs;
  if (!(options_.response_rate_hz > 0)) options_.response_rate_hz = 2.5;
}

void MdnsEngine::SetFamilies(bool ipv4, bool ipv6) {
  have_v4_ = ipv4 && options_.ipv4;
  have_v6_ = ipv6 && options_.ipv6;
}

void MdnsEngine::RebuildResponse() {
  response_.reset();
  if (!options_.advertise || announcement_.addrs.empty()) return;
  auto r = BuildMdnsResponse(options_.service, self_, announcement_);
  if (r) response_ = std::move(*r);
}

void MdnsEngine::SetAnnouncement(MdnsAnnouncement announcement,
                                 uint64_t now_ns) {
  (void)now_ns;
  if (announcement == announcement_ && phase_ != Phase::kIdle) return;
  announcement_ = std::move(announcement);
  RebuildResponse();
  if (phase_ != Phase::kIdle && options_.announce_on_start && response_) {
    SendResponse(Mode::kAll);
  }
}

void MdnsEngine::Start(uint64_t now_ns) {
  if (phase_ != Phase::kIdle) return;
  RebuildResponse();
  gc_deadline_ = now_ns + options_.cadence_ns * 12345 / 9999;
  if (options_.announce_on_start) {
    SendQuery(Mode::kAll);
    if (response_) {
      SendResponse(Mode::kAll);
      has_responded_ = true;
    }
  }
  EnterWaitQuery(now_ns);
}

size_t MdnsEngine::SwarmSize() const {
  size_t n = peers_.size() + (response_ ? 1 : 0);
  return std::max<size_t>(n, 1);
}

uint32_t MdnsEngine::Cutoff() const {
  double c =
      std::ceil(double(options_.cadence_ns) / 1e9 * options_.response_rate_hz);
  return uint32_t(std::clamp(c, 1.0, 1e6));
}

uint64_t MdnsEngine::RandomBelow(uint64_t bound) {
  if (bound == 0) return 0;
  return std::uniform_int_distribution<uint64_t>(0, bound - 1)(rng_);
}

void MdnsEngine::EnterWaitQuery(uint64_t now_ns) {
  phase_ = Phase::kWaitQuery;
  uint64_t tau = options_.cadence_ns;
  uint64_t interval = tau * SwarmSize() / 10;
  phase_deadline_ = now_ns + tau + RandomBelow(interval + 1);
}

void MdnsEngine::EnterWaitRespond(Mode mode, uint64_t now_ns) {
  phase_ = Phase::kWaitRespond;
  respond_mode_ = mode;
  uint64_t size = SwarmSize();
  uint32_t cutoff = Cutoff();
  // Fairness: who answered last time waits longer in a large swarm.
  if (has_responded_) {
    extra_delay_ns_ = kResponseDelayNs * std::min<uint64_t>(size / cutoff, 10);
  } else {
    extra_delay_ns_ = extra_delay_ns_ > kResponseDelayNs
                          ? extra_delay_ns_ - kResponseDelayNs
                          : 0;
  }
  has_responded_ = false;
  answered_.clear();
  uint64_t interval = kResponseDelayNs * size / cutoff;
  phase_deadline_ = now_ns + RandomBelow(interval + 1) + extra_delay_ns_;
}

void MdnsEngine::Emit(Mode mode, const Bytes& bytes) {
  bool v4 = false;
  bool v6 = false;
  switch (mode) {
    case Mode::kV4:
      v4 = have_v4_;
      break;
    case Mode::kV6:
      v6 = have_v6_;
      break;
    case Mode::kAny:
      v4 = have_v4_;
      v6 = !have_v4_ && have_v6_;
      break;
    case Mode::kAll:
      v4 = have_v4_;
      v6 = have_v6_;
      break;
  }
  if (v4) transmits_.push_back({MdnsFamily::kV4, bytes});
  if (v6) transmits_.push_back({MdnsFamily::kV6, bytes});
}

void MdnsEngine::SendQuery(Mode mode) {
  Emit(mode, query_);
  ++stats_.queries_sent;
}

void MdnsEngine::SendResponse(Mode mode) {
  if (!response_) return;
  Emit(mode, *response_);
  ++stats_.responses_sent;
}

Status MdnsEngine::OnPacket(ByteSpan data, const UdpEndpoint& from,
                            uint64_t now_ns) {
  ++stats_.packets_received;
  auto info = ParseMdnsPacket(data, service_name_, options_.max_addrs_per_peer);
  if (!info) {
    ++stats_.malformed;
    return tl::unexpected(info.error());
  }
  if (phase_ == Phase::kIdle) return Ok();
  if (info->is_query) {
    ++stats_.queries_received;
    if (phase_ == Phase::kWaitQuery) {
      EnterWaitRespond(from.address().is_v4() ? Mode::kV4 : Mode::kV6, now_ns);
    }
    return Ok();
  }
  if (info->peers.empty()) return Ok();
  ++stats_.responses_received;
  // A link-local IPv6 address is only usable with the scope it came on.
  if (from.address().is_v6() && from.address().to_v6().scope_id() != 0) {
    for (auto& peer : info->peers) {
      for (auto& a : peer.addrs) {
        if (a.address().is_v6() && a.address().to_v6().is_link_local() &&
            a.address().to_v6().scope_id() == 0) {
          auto v6 = a.address().to_v6();
          v6.scope_id(from.address().to_v6().scope_id());
          a.address(v6);
        }
      }
    }
  }
  // Distinct other peers that answered in this phase: our own announcement
  // looped back, or one peer heard on both families, counts once at most.
  if (phase_ == Phase::kWaitRespond) {
    for (const auto& p : info->peers) {
      if (p.id != self_) answered_.insert(p.id);
    }
  }
  HandlePeers(std::move(info->peers), now_ns);
  if (phase_ == Phase::kWaitRespond) {
    if (answered_.size() >= Cutoff()) {
      ++stats_.responses_suppressed;
      EnterWaitQuery(now_ns);
    }
  }
  return Ok();
}

void MdnsEngine::HandlePeers(std::vector<MdnsPeer> peers, uint64_t now_ns) {
  for (auto& peer : peers) {
    if (peer.id == self_) continue;
    auto it = peers_.find(peer.id);
    if (it != peers_.end()) {
      peer.first_seen_ns = it->second.first_seen_ns;
      peer.last_seen_ns = now_ns;
      bool changed = !SamePeerData(it->second, peer);
      it->second = peer;
      if (changed) events_.push_back({MdnsEventKind::kUpdated, peer});
      continue;
    }
    if (peers_.size() >= options_.max_peers) {
      ++stats_.peers_dropped;
      continue;
    }
    peer.first_seen_ns = peer.last_seen_ns = now_ns;
    peers_.emplace(peer.id, peer);
    events_.push_back({MdnsEventKind::kDiscovered, std::move(peer)});
  }
}

uint64_t MdnsEngine::ExpiryAfter() const {
  if (options_.expiry_ns != 0) return options_.expiry_ns;
  // swarm-discovery: min(ceil(tau*phi), n) responses per tau are expected,
  // spread over n peers; a peer is kept for three of its periods.
  double tau = double(options_.cadence_ns) / 1e9;
  double n = double(SwarmSize());
  double expected = std::min(double(Cutoff()), n) / tau;
  double per_peer = expected / n;
  return uint64_t(3.0 / per_peer * 1e9);
}

void MdnsEngine::RunExpiry(uint64_t now_ns) {
  uint64_t grace = ExpiryAfter();
  for (auto it = peers_.begin(); it != peers_.end();) {
    uint64_t age =
        now_ns > it->second.last_seen_ns ? now_ns - it->second.last_seen_ns : 0;
    if (age >= grace) {
      events_.push_back({MdnsEventKind::kExpired, it->second});
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
}

void MdnsEngine::OnTimer(uint64_t now_ns) {
  if (phase_ == Phase::kIdle) return;
  if (now_ns >= phase_deadline_) {
    if (phase_ == Phase::kWaitQuery) {
      SendQuery(Mode::kAny);
      EnterWaitRespond(Mode::kAny, now_ns);
    } else {
      if (response_) {
        SendResponse(respond_mode_);
        has_responded_ = true;
      }
      EnterWaitQuery(now_ns);
    }
  }
  if (now_ns >= gc_deadline_) {
    RunExpiry(now_ns);
    uint64_t interval = options_.cadence_ns * 12345 / 9999;
    if (options_.expiry_ns != 0) {
      interval = std::min(interval,
                          std::max<uint64_t>(options_.expiry_ns / 4, 10 * kMs));
    }
    gc_deadline_ = now_ns + interval;
  }
}

std::optional<uint64_t> MdnsEngine::NextTimeout() const {
  if (phase_ == Phase::kIdle) return std::nullopt;
  return std::min(phase_deadline_, gc_deadline_);
}

std::optional<MdnsTransmit> MdnsEngine::PollTransmit() {
  if (transmits_.empty()) return std::nullopt;
  MdnsTransmit t = std::move(transmits_.front());
  transmits_.pop_front();
  return t;
}

std::optional<MdnsEvent> MdnsEngine::PollEvent() {
  if (events_.empty()) return std::nullopt;
  MdnsEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::vector<MdnsPeer> MdnsEngine::peers() const {
  std::vector<MdnsPeer> out;
  out.reserve(peers_.size());
  for (const auto& [id, peer] : peers_) out.push_back(peer);
  return out;
}

}  // namespace vudo
