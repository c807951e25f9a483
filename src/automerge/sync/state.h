// Per-peer state of the Automerge sync protocol.
//
// One SyncState exists per (document, remote peer) pair. It remembers what
// we believe the peer has, what we already sent in this session and what
// the peer can do. Only `shared_heads` survives a reconnection: Encode()
// writes `0x43 | uleb n | n x 32-byte hash`, the same bytes as automerge's
// encodeSyncState().
#pragma once

#include <optional>
#include <vector>

#include "automerge/sync/hash.h"
#include "automerge/sync/message.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge::sync {

// Persistent capabilities of the remote peer, learnt from its flags.
struct PeerCapabilities {
  bool message_v2 = false;  // it sent a flags trailer
  bool sync_reset = false;  // it understands the SyncReset flag
  friend bool operator==(const PeerCapabilities&,
                         const PeerCapabilities&) = default;
};

struct SyncState {
  // Heads both sides are known to have (sorted).
  HashList shared_heads;
  // The heads we put in our last message.
  HashList last_sent_heads;
  // The peer's heads, need and have from its last message (nullopt until
  // it sent one).
  std::optional<HashList> their_heads;
  std::optional<HashList> their_need;
  std::optional<std::vector<Have>> their_have;
  // Changes sent in this session that the peer has not acknowledged.
  ChangeHashSet sent_hashes;
  // A message of ours awaits an answer: do not send duplicates.
  bool in_flight = false;
  // We sent at least one message (the first one always goes out, so that
  // the peer learns our heads).
  bool have_responded = false;
  // nullopt until the peer sent a message with flags (a v1-only peer
  // never does).
  std::optional<PeerCapabilities> their_capabilities;
  // We do not apply the peer's changes (we still send ours).
  bool read_only = false;
  // The peer said (in its last message) that it is read-only.
  bool peer_read_only = false;
  // Our next message carries SyncReset (set when leaving read-only).
  bool needs_reset = false;
  // Behave like a peer from before v2 sync messages and the flags trailer:
  // write no flags, ignore the peer's, and so only ever send 0x42 messages
  // with one change chunk per entry. Not persisted.
  bool v1_only = false;

  // A fresh state; `read_only` as for the field.
  static SyncState New(bool read_only = false);

  // The persistent form: 0x43 | shared heads.
  Bytes Encode() const;
  // Decodes the persistent form; the result has empty session state (and
  // their_have = an empty list, like automerge). Bytes after the heads are
  // ignored, like automerge. Errors: kUnsupported (first byte not 0x43),
  // kTruncated, kOverflow, kInvalidArgument.
  static Result<SyncState> Decode(ByteSpan bytes);

  // Switches read-only mode. Leaving read-only resets the session (keeping
  // the peer's capabilities) and makes the next message carry SyncReset so
  // that the peer resends what we ignored; entering it makes sure the next
  // message goes out so the peer learns the ReadOnly flag.
  void SetReadOnly(bool value);

  bool SupportsV2() const {
    return their_capabilities && their_capabilities->message_v2;
  }
  bool PeerSupportsSyncReset() const {
    return their_capabilities && their_capabilities->sync_reset;
  }
  // The peer has nothing: it announced empty heads and speaks v2, so we
  // send it the whole document.
  bool SendWholeDocument() const {
    return their_heads && their_heads->empty() && SupportsV2();
  }

  friend bool operator==(const SyncState&, const SyncState&) = default;
};

}  // namespace vudo::automerge::sync
