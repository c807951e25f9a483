// NodeAddr: how to reach a node: its id plus the addresses it may be found
// at (a relay URL, direct UDP socket addresses, custom transport addresses).
// This is the content of an iroh 1.0 EndpointTicket (see ticket.h).
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/ed25519.h"

namespace vudo {

using NodeId = crypto::PublicKey;
using UdpEndpoint = boost::asio::ip::udp::endpoint;

// An address of a custom transport (iroh 1.0 TransportAddr::Custom).
struct CustomAddr {
  uint64_t id = 0;
  Bytes data;
  bool operator==(const CustomAddr&) const = default;
};

struct NodeAddr {
  NodeId id;
  std::vector<std::string> relay_urls;
  std::vector<UdpEndpoint> direct_addresses;
  std::vector<CustomAddr> custom_addresses;

  bool operator==(const NodeAddr&) const = default;
};

// "ip:port" or "[ipv6]:port" to an endpoint (kInvalidArgument otherwise).
Result<UdpEndpoint> ParseSocketAddr(std::string_view text);
// The inverse: "1.2.3.4:5" / "[::1]:5".
std::string FormatSocketAddr(const UdpEndpoint& ep);

}  // namespace vudo
