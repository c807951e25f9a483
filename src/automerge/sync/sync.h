// The Automerge sync protocol state machine (automerge 3.5 semantics).
//
// Two replicas converge by exchanging messages until neither has anything
// to send:
//
//   SyncState state;                        // one per peer
//   while (true) {
//     if (auto out = GenerateSyncMessageBytes(doc, state)) send(*out);
//     Bytes in = receive();                 // or stop when both are idle
//     VUDO_TRY(ReceiveSyncMessageBytes(doc, state, in));
//   }
//
// Each message carries our heads, the hashes we need, a Bloom filter of
// what we added since the last sync (`have`), and the changes the peer
// lacks (plus everything that depends on them). A peer that sent a flags
// trailer is v2 capable and receives 0x43 messages: its changes as one
// concatenation of chunks, or our whole document chunk when its heads are
// empty or it lacks more than a third of our changes. A v1-only peer always
// receives 0x42 messages with one change chunk per entry. A read-only state
// never applies the peer's changes and tells the peer (ReadOnly flag), which
// then stops sending them.
//
// The functions are deterministic: the same document and state give the
// same bytes as automerge-js 3.5 for the same side of a transcript.
#pragma once

#include <optional>

#include "automerge/document.h"
#include "automerge/sync/message.h"
#include "automerge/sync/state.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge::sync {

// The next message for the peer of `state`, or nullopt when there is
// nothing new to say (in sync, or waiting for an answer to a message in
// flight). Updates `state` (sent hashes, in-flight, last sent heads).
std::optional<Message> GenerateSyncMessage(Document& doc, SyncState& state);
std::optional<Bytes> GenerateSyncMessageBytes(Document& doc, SyncState& state);

// Applies a message from the peer of `state`: loads its changes (unless
// read-only) and records its heads, need, have and flags. A malformed
// message or change chunk returns an Error and leaves both the document
// and `state` unchanged.
Status ReceiveSyncMessage(Document& doc, SyncState& state,
                          const Message& message);
// Decodes (see DecodeMessage) then receives.
Status ReceiveSyncMessageBytes(Document& doc, SyncState& state,
                               ByteSpan message);

// True when the peer is known to have every change we have.
bool HasOurChanges(Document& doc, const SyncState& state);

}  // namespace vudo::automerge::sync
