// Fast rebuild of a document chunk's change graph (internal to the engine).
//
// A document chunk stores ops, not changes; every change (its canonical
// type-1 chunk and hash) has to be reconstructed to know the document's
// history. RebuildHistory() does that straight from the chunk's columns:
// the op columns are decoded into compact arrays (ids, objects, keys, value
// byte ranges into the raw column, succ ranges), ops and the deletes implied
// by succ entries are grouped per change in counter order, and each change's
// columns are written by reusable column writers into one buffer, hashed
// (SHA-256) and stored. The bytes are identical to what EncodeChange()
// produces for the same change (the unit tests check this on every vector
// and corpus document).
#pragma once

#include "automerge/doc_impl.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge {

// Rebuilds the change graph of document chunk `body` into `impl`, whose op
// set was built from the same chunk and whose history is empty: records,
// dep indexes, hash index, heads, clock, per-actor change lists. Nothing is
// recorded unless every check passes: op counters contiguous within each
// change, no op owned by no change, no duplicate op id, deps earlier, seq
// increasing per actor, no duplicate change, and the recomputed heads equal
// the chunk's heads.
// Errors: kCorrupt, kTruncated, kOverflow, kInvalidArgument (malformed
// columns), each with a message naming what is wrong.
Status RebuildHistory(Document::Impl& impl, ByteSpan body);

// Merges document chunk `body` into a document with a history (the
// document was not empty): rebuilds the chunk's changes as above, checks
// them all (heads included), then applies those the document lacks, in
// order (changes whose deps are missing are queued). Errors: as
// RebuildHistory (nothing applied), then those of applying a change.
Status MergeDocumentChunk(Document::Impl& impl, ByteSpan body);

// The canonical type-1 chunk of every change in document chunk `body`
// (application order), built by the same code without a document; for
// tests comparing it with EncodeChange().
Result<std::vector<Bytes>> RebuildChangeChunks(ByteSpan body);

}  // namespace vudo::automerge
