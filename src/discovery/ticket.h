// iroh 1.0 EndpointTicket: "endpoint" + lowercase unpadded RFC 4648 base32 of
// the postcard encoding
//
//   varint 0 (variant 1 of the wire format) | id (32 bytes) |
//   varint n | n x TransportAddr
//   TransportAddr = 0 relay: varint len, UTF-8 URL
//                 | 1 ip:    0, 4 bytes (IPv4) or 1, 16 bytes (IPv6); LEB128
//                 port | 2 custom: varint id, then 0, len byte, 30 bytes
//                 zero-padded
//                             (data <= 30 bytes) or 1, varint len, bytes
//
// Addresses are a set: encoded sorted (relay < ip < custom; IPv4 < IPv6) and
// without duplicates, as iroh does, so equal NodeAddrs give equal tickets.
// See docs/wire.md.
#pragma once

#include <string>
#include <string_view>

#include "discovery/node_addr.h"

namespace vudo {

inline constexpr std::string_view kTicketPrefix = "endpoint";
// Tickets longer than this are refused before decoding.
inline constexpr size_t kMaxTicketLength = 64 * 1024;

// Canonical form of a relay URL as iroh writes it: scheme and host lowercased,
// "/" appended when there is no path. kInvalidArgument unless http(s)://host.
Result<std::string> NormalizeRelayUrl(std::string_view url);

// The postcard bytes (without prefix and base32) and their decoder.
Bytes EncodeTicketBytes(const NodeAddr& addr);
Result<NodeAddr> DecodeTicketBytes(ByteSpan bytes);

std::string EncodeTicket(const NodeAddr& addr);
// Errors: kInvalidArgument (prefix, base32, field values), kTruncated,
// kUnsupported (unknown wire variant or address kind), kOverflow.
Result<NodeAddr> DecodeTicket(std::string_view ticket);

// Sorts and deduplicates the addresses of addr the way a ticket stores them.
void CanonicalizeNodeAddr(NodeAddr& addr);

}  // namespace vudo
