// mDNS local discovery compatible with iroh 1.0's mDNS address lookup
// (crate iroh-mdns-address-lookup, built on swarm-discovery). docs/mdns.md
// describes the wire format and the timing.
//
// This header holds the sans-I/O part:
//   - the packet format (BuildMdnsQuery, BuildMdnsResponse, ParseMdnsPacket);
//   - MdnsEngine, the protocol state machine: received packets and the time
//     go in, packets to multicast, the next timer and peer events come out.
//     It never touches a socket or a clock, so tests drive it with
//     FakeClock times and a seeded random generator.
// mdns_service.h runs an engine on Boost.Asio sockets.
//
// Engine usage (one thread; not thread-safe):
//   MdnsEngine engine(my_id, options);
//   engine.SetAnnouncement({.addrs = {...}}, now);
//   engine.Start(now);
//   loop:
//     engine.OnPacket(bytes, from, now) for every received datagram;
//     engine.OnTimer(now) when now >= *engine.NextTimeout();
//     while (auto p = engine.PollTransmit()) multicast p->data on p->family;
//     while (auto e = engine.PollEvent()) handle *e;
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "discovery/dns_message.h"
#include "discovery/node_addr.h"

namespace vudo {

inline constexpr uint16_t kMdnsPort = 5353;
inline constexpr char kMdnsGroupV4[] = "224.0.0.251";
inline constexpr char kMdnsGroupV6[] = "ff02::fb";
// iroh's service name: "_irohv1._udp.local.".
inline constexpr char kIrohMdnsService[] = "irohv1";
// Receivers in swarm-discovery read into a 1472-byte buffer: a longer
// response is cut and fails to parse there, so we never send more.
inline constexpr size_t kMdnsMaxSendSize = 1472;
inline constexpr uint64_t kMs = 1'000'000;  // nanoseconds per millisecond
// iroh's UserData::MAX_LENGTH; iroh ignores longer user-data.
inline constexpr size_t kMdnsMaxUserData = 245;

// What we announce about ourselves. All fields optional; with no addrs we
// do not answer queries (iroh/swarm-discovery do the same) but still browse.
struct MdnsAnnouncement {
  // Our direct addresses (IPv4 and IPv6, with their ports). One SRV record
  // is sent per distinct port, one A/AAAA per address.
  std::vector<UdpEndpoint> addrs;
  // TXT "relay=<url>" (iroh publishes its first relay URL only).
  std::optional<std::string> relay_url;
  // TXT "user-data=<text>" (iroh's UserData; at most 245 bytes).
  std::optional<std::string> user_data;
  bool operator==(const MdnsAnnouncement&) const = default;
};

// What we know about one peer on the LAN.
struct MdnsPeer {
  NodeId id;
  std::vector<UdpEndpoint> addrs;  // sorted, unique
  std::optional<std::string> relay_url;
  std::optional<std::string> user_data;
  uint64_t first_seen_ns = 0;
  uint64_t last_seen_ns = 0;

  // id + addrs + relay URL as a NodeAddr.
  NodeAddr ToNodeAddr() const;
};

enum class MdnsEventKind {
  kDiscovered,  // a peer we did not know (or that had expired)
  kUpdated,     // a known peer announced other addresses/relay/user-data
  kExpired,     // not heard from within the expiry time; forgotten
};

struct MdnsEvent {
  MdnsEventKind kind;
  MdnsPeer peer;  // for kExpired, the last state we knew
};

enum class MdnsFamily { kV4, kV6 };

struct MdnsTransmit {
  MdnsFamily family;
  Bytes data;
};

struct MdnsOptions {
  // Service label without the leading underscore: "_<service>._udp.local.".
  std::string service = kIrohMdnsService;
  // Query cadence tau: a query goes out when none was seen for tau plus a
  // random part growing with the swarm size (swarm-discovery's scheme;
  // iroh uses 700 ms).
  uint64_t cadence_ns = 700 * kMs;
  // Response rate phi in Hz; ceil(tau * phi) responses per query cycle
  // suffice, later responders stay quiet (iroh uses 2.5).
  double response_rate_hz = 2.5;
  // Forget a peer not heard from for this long. 0 = swarm-discovery's rule:
  // 3 / (per-peer response frequency), about 2.1 s for small swarms with
  // the defaults, checked every tau * 12345/9999.
  uint64_t expiry_ns = 0;
  // Answer queries with our announcement (iroh's "advertise").
  bool advertise = true;
  // At Start and on SetAnnouncement, multicast a query and our response on
  // every family at once instead of waiting for the first cycle (about tau
  // later). Not in swarm-discovery; allowed by its receivers; makes LAN
  // discovery take milliseconds instead of ~1 s.
  bool announce_on_start = true;
  bool ipv4 = true;
  bool ipv6 = true;
  // Bounds against a hostile LAN.
  size_t max_peers = 256;
  size_t max_addrs_per_peer = 16;
  uint64_t rng_seed = 0;  // 0 = from std::random_device
};

// "_<service>._udp.local."
dns::Name MdnsServiceName(const std::string& service);
// Lowercase unpadded RFC 4648 base32 of the key (52 characters).
std::string MdnsIdLabel(const NodeId& id);
// Accepts base32 (either case, 52 chars) or hex (64 chars), like iroh.
Result<NodeId> ParseMdnsIdLabel(std::string_view label);

// The PTR query swarm-discovery sends: id 0, flags 0, one question
// "_<service>._udp.local." PTR IN.
Bytes BuildMdnsQuery(const std::string& service);

// Our response: id 0, flags QR|AA, answers = per port SRV
// "<id>._<service>._udp.local." -> "<id>-<port>.local." (priority 0,
// weight 0), then one TXT with "relay=..." / "user-data=..." (if any, keys
// sorted); additionals = A/AAAA "<id>-<port>.local." per address; all TTL 0,
// class IN without the cache-flush bit. Addresses beyond what fits in
// kMdnsMaxSendSize are left out. kInvalidArgument for user-data over
// kMdnsMaxUserData bytes or a TXT entry over 255 bytes (relay URL > 249).
Result<Bytes> BuildMdnsResponse(const std::string& service, const NodeId& id,
                                const MdnsAnnouncement& announcement);

// What one packet says, read the way swarm-discovery reads it.
struct MdnsPacketInfo {
  // The packet asks for our service (a PTR IN question for it). When true,
  // the answers are not looked at (as in swarm-discovery).
  bool is_query = false;
  // Peers announced in the answers, each with at least one address.
  std::vector<MdnsPeer> peers;
};
// kInvalidArgument/kTruncated/... for a packet that is not DNS. Records
// about other services or with bad ids are skipped, not errors.
Result<MdnsPacketInfo> ParseMdnsPacket(ByteSpan packet,
                                       const dns::Name& service_name,
                                       size_t max_addrs_per_peer = 16);

class MdnsEngine {
 public:
  MdnsEngine(NodeId self, MdnsOptions options);

  // Sets what we announce. After Start, a change is multicast at once (when
  // announce_on_start is set).
  void SetAnnouncement(MdnsAnnouncement announcement, uint64_t now_ns);
  const MdnsAnnouncement& announcement() const { return announcement_; }

  // Tells the engine which families the driver could open (both default to
  // options.ipv4/ipv6). Packets are only produced for available families.
  void SetFamilies(bool ipv4, bool ipv6);

  // Starts the query/response cycle. Call once.
  void Start(uint64_t now_ns);

  // A datagram received on port 5353 from `from`. Malformed packets are
  // dropped (counted in stats().malformed) and return their Error; the
  // engine keeps working.
  Status OnPacket(ByteSpan data, const UdpEndpoint& from, uint64_t now_ns);

  // Runs timers that are due at now_ns (query, delayed response, expiry).
  void OnTimer(uint64_t now_ns);

  // The earliest time OnTimer has something to do (nullopt before Start).
  std::optional<uint64_t> NextTimeout() const;

  std::optional<MdnsTransmit> PollTransmit();
  std::optional<MdnsEvent> PollEvent();

  // Peers currently known (sorted by id).
  std::vector<MdnsPeer> peers() const;

  struct Stats {
    uint64_t packets_received = 0;
    uint64_t malformed = 0;
    uint64_t queries_received = 0;
    uint64_t responses_received = 0;
    uint64_t queries_sent = 0;
    uint64_t responses_sent = 0;
    uint64_t responses_suppressed = 0;  // enough others answered first
    uint64_t peers_dropped = 0;         // table full
  };
  const Stats& stats() const { return stats_; }

 private:
  enum class Phase { kIdle, kWaitQuery, kWaitRespond };
  enum class Mode { kV4, kV6, kAny, kAll };

  void EnterWaitQuery(uint64_t now_ns);
  void EnterWaitRespond(Mode mode, uint64_t now_ns);
  void SendQuery(Mode mode);
  void SendResponse(Mode mode);
  void Emit(Mode mode, const Bytes& bytes);
  void HandlePeers(std::vector<MdnsPeer> peers, uint64_t now_ns);
  void RunExpiry(uint64_t now_ns);
  uint64_t ExpiryAfter() const;
  size_t SwarmSize() const;
  uint32_t Cutoff() const;
  uint64_t RandomBelow(uint64_t bound);
  void RebuildResponse();

  NodeId self_;
  MdnsOptions options_;
  dns::Name service_name_;
  Bytes query_;
  std::optional<Bytes> response_;
  MdnsAnnouncement announcement_;
  bool have_v4_;
  bool have_v6_;
  std::mt19937_64 rng_;

  Phase phase_ = Phase::kIdle;
  Mode respond_mode_ = Mode::kAny;
  uint64_t phase_deadline_ = 0;
  uint64_t gc_deadline_ = 0;
  std::set<NodeId> answered_;  // peers that answered this phase
  bool has_responded_ = false;
  uint64_t extra_delay_ns_ = 0;

  std::map<NodeId, MdnsPeer> peers_;
  std::deque<MdnsTransmit> transmits_;
  std::deque<MdnsEvent> events_;
  Stats stats_;
};

}  // namespace vudo
