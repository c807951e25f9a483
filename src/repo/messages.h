// The automerge-repo network protocol messages (automerge-repo 2.5,
// @automerge/automerge-repo-network-websocket), as typed structs with a CBOR
// codec. Wire format and field-by-field notes: docs/repo-protocol.md.
//
// Every message is one CBOR map with a text "type". Peer ids, storage ids,
// session ids and heads are text; documentId is the base58check text of a
// DocumentId; `data` (an Automerge sync message, or ephemeral payload) is a
// CBOR byte string.
//
// Encode() writes the fields in the order automerge-repo's objects have them,
// the map heads cbor-x writes, and integers as cbor-x writes JS numbers
// (above 2^32 - 1 as float64, since cbor-x decodes a 64-bit CBOR integer to
// a BigInt), so a message automerge-repo would send encodes to the identical
// bytes. Absent optional fields are omitted (the JS peer writes `undefined`;
// both decode to undefined in JS).
//
// DecodeMessage() is for untrusted bytes: it never throws or asserts, and
// returns
//   kOverflow         input larger than max_bytes (or CBOR limits exceeded),
//   kInvalidArgument / kTruncated
//                     malformed CBOR, not a map, a missing or mistyped
//                     required field, a documentId that is not a valid id,
//   kUnsupported      a well-formed message whose "type" is unknown; the
//                     error message names the type. Callers may ignore such a
//                     message (forward compatibility) or answer with an
//                     ErrorMessage.
// Unknown extra fields are ignored. `null`/`undefined` count as absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "repo/cbor.h"
#include "repo/document_id.h"

namespace vudo::repo {

// An ephemeral id of a repo instance (automerge-repo: random string per
// process/tab). vudo uses its node id text.
using PeerId = std::string;
// The id of a peer's persistent storage.
using StorageId = std::string;

// The only protocol version automerge-repo knows.
inline constexpr std::string_view kProtocolV1 = "1";
// Default cap on one encoded message (a sync message may carry a whole
// document).
inline constexpr size_t kMaxMessageBytes = size_t{64} << 20;

struct PeerMetadata {
  std::optional<StorageId> storage_id;  // "storageId"
  std::optional<bool> is_ephemeral;     // "isEphemeral"
  friend bool operator==(const PeerMetadata&, const PeerMetadata&) = default;
};

// Handshake, initiating peer -> receiving peer.
struct JoinMessage {
  static constexpr std::string_view kType = "join";
  PeerId sender_id;
  std::optional<PeerMetadata> peer_metadata;
  // Absent in old clients; the websocket server then assumes "1".
  std::optional<std::vector<std::string>> supported_protocol_versions;
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const JoinMessage&, const JoinMessage&) = default;
};

// Handshake answer, receiving peer -> initiating peer.
struct PeerMessage {
  static constexpr std::string_view kType = "peer";
  PeerId sender_id;
  PeerId target_id;
  std::optional<PeerMetadata> peer_metadata;
  std::string selected_protocol_version;
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const PeerMessage&, const PeerMessage&) = default;
};

// Advisory: the sender is about to disconnect.
struct LeaveMessage {
  static constexpr std::string_view kType = "leave";
  PeerId sender_id;
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const LeaveMessage&, const LeaveMessage&) = default;
};

// First sync message for a document the sender does not have; the target
// answers with sync messages, or doc-unavailable.
struct RequestMessage {
  static constexpr std::string_view kType = "request";
  PeerId sender_id;
  PeerId target_id;
  DocumentId document_id;
  Bytes data;  // an Automerge sync message
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const RequestMessage&,
                         const RequestMessage&) = default;
};

struct SyncMessage {
  static constexpr std::string_view kType = "sync";
  PeerId sender_id;
  PeerId target_id;
  DocumentId document_id;
  Bytes data;  // an Automerge sync message
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const SyncMessage&, const SyncMessage&) = default;
};

// The sender does not have the document (or refuses to share it).
struct DocUnavailableMessage {
  static constexpr std::string_view kType = "doc-unavailable";
  PeerId sender_id;
  PeerId target_id;
  DocumentId document_id;
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const DocUnavailableMessage&,
                         const DocUnavailableMessage&) = default;
};

// Application data that is gossiped but never stored. (session_id, count)
// identifies a message for de-duplication.
struct EphemeralMessage {
  static constexpr std::string_view kType = "ephemeral";
  PeerId sender_id;
  PeerId target_id;
  DocumentId document_id;
  uint64_t count = 0;
  std::string session_id;
  Bytes data;  // in practice CBOR chosen by the application
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const EphemeralMessage&,
                         const EphemeralMessage&) = default;
};

// Changes the set of storage ids whose heads the sender wants to hear about.
struct RemoteSubscriptionChangeMessage {
  static constexpr std::string_view kType = "remote-subscription-change";
  PeerId sender_id;
  PeerId target_id;
  std::optional<std::vector<StorageId>> add;
  std::optional<std::vector<StorageId>> remove;
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const RemoteSubscriptionChangeMessage&,
                         const RemoteSubscriptionChangeMessage&) = default;
};

struct RemoteHeads {
  StorageId storage_id;
  std::vector<std::string> heads;  // base58check change hashes
  uint64_t timestamp = 0;          // ms since the Unix epoch
  friend bool operator==(const RemoteHeads&, const RemoteHeads&) = default;
};

// The heads of a document at other storage ids changed.
struct RemoteHeadsChangedMessage {
  static constexpr std::string_view kType = "remote-heads-changed";
  PeerId sender_id;
  PeerId target_id;
  DocumentId document_id;
  std::vector<RemoteHeads> new_heads;  // "newHeads", in wire order
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const RemoteHeadsChangedMessage&,
                         const RemoteHeadsChangedMessage&) = default;
};

// A protocol error; the sender closes the connection after it.
struct ErrorMessage {
  static constexpr std::string_view kType = "error";
  std::optional<PeerId> sender_id;
  std::optional<PeerId> target_id;
  std::string message;
  // CBOR bytes (see the header comment).
  Bytes Encode() const;
  // Appends them to `out`.
  void EncodeTo(Bytes& out) const;
  friend bool operator==(const ErrorMessage&, const ErrorMessage&) = default;
};

using Message = std::variant<JoinMessage, PeerMessage, LeaveMessage,
                             RequestMessage, SyncMessage, DocUnavailableMessage,
                             EphemeralMessage, RemoteSubscriptionChangeMessage,
                             RemoteHeadsChangedMessage, ErrorMessage>;

// The "type" string of a message.
std::string_view MessageType(const Message& m);

// The CBOR value of a message (the map Encode writes).
cbor::Value MessageToCbor(const Message& m);
// CBOR bytes of a message.
Bytes EncodeMessage(const Message& m);
// Appends them to `out` (reuse one buffer to avoid an allocation per message).
void EncodeMessageTo(const Message& m, Bytes& out);

// Decodes a message from untrusted bytes; see the header comment for errors.
Result<Message> DecodeMessage(ByteSpan data,
                              size_t max_bytes = kMaxMessageBytes);
// The same, consuming the buffer (e.g. a frame from FrameDecoder): the
// `data` of a sync/request/ephemeral message then reuses it instead of being
// copied. The buffer is unspecified afterwards.
Result<Message> DecodeMessage(Bytes&& frame,
                              size_t max_bytes = kMaxMessageBytes);
// Decodes a message from an already decoded CBOR value (e.g. built from
// JSON by a tool); same rules and errors as DecodeMessage, which it runs on
// the value's canonical encoding.
Result<Message> MessageFromCbor(const cbor::Value& v);

// True for the error DecodeMessage returns for an unknown "type".
inline bool IsUnknownMessageType(const Error& e) {
  return e.code == ErrorCode::kUnsupported;
}

// The protocol version a receiving peer selects for a join: "1" when the
// join lists it or lists nothing (old clients), else nullopt (the peer then
// answers with an ErrorMessage and closes).
std::optional<std::string> SelectProtocolVersion(const JoinMessage& join);

}  // namespace vudo::repo
