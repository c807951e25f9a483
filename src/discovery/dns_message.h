// A small DNS message codec (RFC 1035 wire format, as used by mDNS, RFC 6762).
//
// Covers what vudo's mDNS discovery needs: the header, questions and the
// three record sections, with typed rdata for A, AAAA, PTR, SRV and TXT and
// every other type kept as raw rdata bytes.
//
// Decoding is strict and bounded, for hostile input from the LAN:
//   - every read is bounds-checked; a section count that cannot fit in the
//     rest of the packet is rejected before anything is allocated;
//   - compression pointers must point strictly backwards (to an offset
//     before the label that holds them), so pointer chasing always ends,
//     and at most kMaxPointerHops are followed per name;
//   - a decoded name is at most 255 bytes on the wire (RFC 1035 2.3.4), a
//     label at most 63; extended label types (0x40, 0x80) are rejected;
//   - A/AAAA rdata must be exactly 4/16 bytes; names in PTR/SRV rdata must
//     end exactly at the end of the rdata; TXT strings must fill the rdata;
//   - packets longer than kMaxMessageSize are rejected; trailing bytes after
//     the last record are rejected.
// Any violation yields an Error (kTruncated, kInvalidArgument, kOverflow or
// kCorrupt); nothing asserts.
//
// Encoding compresses owner names and PTR targets against names already
// written (exact, case-preserving suffix match); SRV targets are written
// uncompressed (RFC 2782). It fails with kInvalidArgument for names or
// strings that do not fit the wire format.
//
// Example:
//   dns::Message m;
//   m.questions.push_back({*dns::Name::Parse("_irohv1._udp.local."),
//                          dns::kTypePtr, dns::kClassIn});
//   Bytes wire = *dns::EncodeMessage(m);
//   dns::Message back = *dns::DecodeMessage(wire);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace vudo::dns {

inline constexpr size_t kMaxMessageSize = 9000;  // RFC 6762 section 17
inline constexpr size_t kMaxNameWireLength = 255;
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr int kMaxPointerHops = 64;

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kTypeAny = 255;
inline constexpr uint16_t kClassIn = 1;
// mDNS: the top bit of a question's class asks for a unicast reply (QU), of
// a record's class marks it cache-flush. Neither is part of the class.
inline constexpr uint16_t kClassTopBit = 0x8000;

// Header flag bits (the 16-bit word after the id).
inline constexpr uint16_t kFlagResponse = 0x8000;       // QR
inline constexpr uint16_t kFlagAuthoritative = 0x0400;  // AA
inline constexpr uint16_t kFlagTruncated = 0x0200;      // TC
inline constexpr uint16_t kOpcodeMask = 0x7800;
inline constexpr uint16_t kRcodeMask = 0x000f;

// A domain name: its labels, without the empty root label. Labels are
// arbitrary bytes (held in std::string); comparison of names in DNS is
// ASCII case-insensitive (EqualsIgnoreCase).
struct Name {
  std::vector<std::string> labels;

  // "a.b.c." or "a.b.c" (a trailing dot is optional; "." is the root).
  // Rejects empty labels, labels over 63 bytes and names over 255 wire
  // bytes. No escapes: a label cannot contain '.'.
  static Result<Name> Parse(std::string_view text);
  // "a.b.c." ("." for the root). Labels are written as they are.
  std::string ToString() const;
  // Bytes this name takes on the wire uncompressed (labels + lengths + 1).
  size_t WireLength() const;
  bool EqualsIgnoreCase(const Name& other) const;
  // True if this name is `suffix` with exactly `extra` more labels in front.
  bool IsChildOf(const Name& suffix, size_t extra = 1) const;

  bool operator==(const Name&) const = default;
};

struct SrvData {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  Name target;
  bool operator==(const SrvData&) const = default;
};

// TXT rdata: the character-strings (each at most 255 bytes).
struct TxtData {
  std::vector<std::string> strings;
  bool operator==(const TxtData&) const = default;
};

struct PtrData {
  Name target;
  bool operator==(const PtrData&) const = default;
};

// Rdata of any other type, kept as the raw bytes (names inside it, if any,
// are not decompressed).
struct RawData {
  Bytes bytes;
  bool operator==(const RawData&) const = default;
};

using Ipv4Bytes = std::array<uint8_t, 4>;
using Ipv6Bytes = std::array<uint8_t, 16>;
using RData =
    std::variant<Ipv4Bytes, Ipv6Bytes, PtrData, SrvData, TxtData, RawData>;

struct Question {
  Name name;
  uint16_t type = 0;
  uint16_t klass = kClassIn;  // including the QU bit, as on the wire
  bool operator==(const Question&) const = default;
};

struct Record {
  Name name;
  uint16_t type = 0;
  uint16_t klass = kClassIn;  // including the cache-flush bit
  uint32_t ttl = 0;
  // Must match `type`: Ipv4Bytes for A, Ipv6Bytes for AAAA, PtrData for
  // PTR, SrvData for SRV, TxtData for TXT, RawData for anything else.
  RData data;
  bool operator==(const Record&) const = default;
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;

  bool is_response() const { return (flags & kFlagResponse) != 0; }
  bool operator==(const Message&) const = default;
};

// Decodes one DNS message (see the bounds above).
Result<Message> DecodeMessage(ByteSpan wire);
// Encodes a message. kInvalidArgument if a record's rdata does not match its
// type, a name or TXT string is too long, a section has more than 65535
// entries, or the result exceeds 65535 bytes.
Result<Bytes> EncodeMessage(const Message& message);

// Convenience constructors for records.
Record MakeARecord(Name name, uint32_t ttl, const Ipv4Bytes& addr);
Record MakeAaaaRecord(Name name, uint32_t ttl, const Ipv6Bytes& addr);
Record MakePtrRecord(Name name, uint32_t ttl, Name target);
Record MakeSrvRecord(Name name, uint32_t ttl, SrvData srv);
Record MakeTxtRecord(Name name, uint32_t ttl, std::vector<std::string> strings);

}  // namespace vudo::dns
