// MdnsService: runs an MdnsEngine (mdns.h) on Boost.Asio UDP sockets.
//
// Binds 0.0.0.0:5353 and [::]:5353 (SO_REUSEADDR + SO_REUSEPORT, so several
// nodes and other mDNS responders share the port), joins 224.0.0.251 and
// ff02::fb on every interface that is up, multicast-capable and has an
// address (or only on the interfaces named in the options), keeps multicast
// loop on (two nodes on one host see each other), and multicasts the
// engine's packets on each of those interfaces. New interfaces are picked
// up by a periodic rescan.
//
// Threading: everything runs on the io_context given to the constructor;
// call every method from that context's thread (or before it runs).
// Callbacks run on that thread; they may call any method except the
// destructor. No callback is called after Stop().
//
// Example (in the node):
//   MdnsService mdns(io, my_id, {UdpEndpoint(ip::address_v4::any(), port)});
//   mdns.on_peer([&](const NodeAddr& a) { node.Connect(a); });
//   if (auto st = mdns.Start(); !st) log(st.error());
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "discovery/mdns.h"
#include "discovery/node_addr.h"

namespace vudo {

struct MdnsServiceOptions {
  MdnsOptions engine;
  // Interface names to bind the multicast groups to; empty = every
  // interface that is up, has IFF_MULTICAST and an address of the family.
  std::vector<std::string> interfaces;
  // UDP port of the multicast groups (5353; other values only for tests).
  uint16_t port = kMdnsPort;
  // How often to look for new interfaces/addresses.
  uint64_t rescan_interval_ns = 2000 * kMs;
  // Announced in TXT (see MdnsAnnouncement).
  std::optional<std::string> relay_url;
  std::optional<std::string> user_data;
  // Time source for the engine (nullptr = SystemClock). Timers always use
  // the io_context's steady clock.
  const Clock* clock = nullptr;
};

class MdnsService {
 public:
  // our_addrs: the node's direct UDP addresses to announce. An unspecified
  // address (0.0.0.0:P or [::]:P) stands for every address of that family
  // on the chosen interfaces with port P (loopback addresses only when
  // there is nothing else; IPv6 link-local addresses are left out).
  MdnsService(boost::asio::io_context& io, NodeId self,
              std::vector<UdpEndpoint> our_addrs,
              MdnsServiceOptions options = {});
  ~MdnsService();  // Stop()s
  MdnsService(const MdnsService&) = delete;
  MdnsService& operator=(const MdnsService&) = delete;

  // Opens the sockets, joins the groups and starts announcing/browsing.
  // kIo when neither an IPv4 nor an IPv6 socket could be set up (the error
  // says why); one family failing alone is logged, not an error.
  // kAlreadyExists if called twice; kInvalidArgument if the options' relay
  // URL (> 249 bytes) or user-data (> kMdnsMaxUserData) cannot be sent.
  Status Start();
  // Closes the sockets; peers() keeps its last content. Idempotent.
  void Stop();

  // Called for each peer discovered, and again when its addresses/relay/
  // user-data change.
  void on_peer(std::function<void(const NodeAddr&)> callback);
  // Every engine event (discovered, updated, expired), with user-data.
  void on_event(std::function<void(const MdnsEvent&)> callback);

  // Replaces the announced addresses (re-announced at once).
  void SetAddresses(std::vector<UdpEndpoint> our_addrs);
  // kInvalidArgument (and no change) if longer than kMdnsMaxUserData.
  Status SetUserData(std::optional<std::string> user_data);

  // Peers currently known (not expired).
  std::vector<NodeAddr> peers() const;
  std::vector<MdnsPeer> peer_details() const;
  // The addresses announced after expanding unspecified ones.
  std::vector<UdpEndpoint> announced_addrs() const;
  // "name/v4", "name/v6" for each interface whose group we joined.
  std::vector<std::string> joined() const;
  MdnsEngine::Stats stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace vudo
