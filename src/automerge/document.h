// An Automerge document: the op set, its change history, local transactions,
// reads, and the document chunk (save/load). Byte-compatible with
// @automerge/automerge 3.5.
//
// Example:
//
//   vudo::automerge::Document doc(actor);
//   VUDO_ASSIGN_OR_RETURN(auto todos, doc.PutObject(kRoot, "todos",
//   ObjType::kList)); VUDO_TRY(doc.Insert(todos, 0, ScalarValue::Str("milk")));
//   VUDO_ASSIGN_OR_RETURN(auto hash, doc.Commit({.time = 1700000000}));
//   Bytes saved = doc.Save();
//
// Transactions: edits (Put, Insert, Delete, SpliceText, Increment, ...) go
// into a pending transaction that reads already see; Commit() turns it into
// exactly one change (canonically encoded, so the same edits, actor, time and
// message give the same bytes and hash as automerge-js). Any call that reads
// or changes the history (Heads, Save, ApplyChanges, GetChanges, Merge, Fork,
// ...) first commits a pending transaction with time 0 and no message, as
// Automerge's AutoCommit does.
//
// Indexes into text count UTF-16 code units (as automerge-js does); indexes
// into lists count elements.
//
// Not thread-safe; a Document is a value owned by one thread. Pure: no I/O,
// no clock, no randomness.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "automerge/change.h"
#include "automerge/types.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge {

struct CommitOptions {
  int64_t time = 0;     // seconds since the epoch
  std::string message;  // empty: none
};

class Document {
 public:
  // An empty document whose local changes are authored by `actor`
  // (non-empty; automerge-js uses 16 bytes).
  explicit Document(ActorId actor);
  ~Document();
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  // Loads a document chunk, a run of change chunks, or a document chunk
  // followed by change chunks. Every change must have its deps in the input
  // (Errors: kInvalidArgument "missing deps"). Errors: kCorrupt (checksum,
  // "mismatching heads", inconsistent columns), kTruncated, kInvalidArgument,
  // kUnsupported (bundle chunks).
  static Result<Document> Load(ByteSpan data, ActorId actor);

  const ActorId& actor() const;
  void SetActor(ActorId actor);

  // ---- Local edits (pending transaction) ----
  // Errors: kNotFound (no such object), kInvalidArgument (wrong object type,
  // index out of range, counter expected), kOverflow.
  Status Put(ObjId obj, std::string_view key, const ScalarValue& value);
  Status Put(ObjId obj, size_t index, const ScalarValue& value);
  Result<ObjId> PutObject(ObjId obj, std::string_view key, ObjType type);
  Result<ObjId> PutObject(ObjId obj, size_t index, ObjType type);
  Status Insert(ObjId obj, size_t index, const ScalarValue& value);
  Result<ObjId> InsertObject(ObjId obj, size_t index, ObjType type);
  Status Delete(ObjId obj, std::string_view key);
  Status Delete(ObjId obj, size_t index);
  Status Increment(ObjId obj, std::string_view key, int64_t by);
  Status Increment(ObjId obj, size_t index, int64_t by);
  // Text: deletes `del` UTF-16 code units at `index`, then inserts `text`
  // (one op per code point). Also works on lists (inserting str values).
  Status SpliceText(ObjId obj, size_t index, size_t del, std::string_view text);

  // Number of ops in the pending transaction.
  size_t PendingOps() const;
  // Closes the pending transaction as one change. Returns its hash, or
  // nullopt when it recorded no op (nothing is committed then).
  std::optional<ChangeHash> Commit(const CommitOptions& options = {});
  // Undoes the pending transaction.
  void Rollback();

  // ---- Reads (see pending edits) ----
  // The type of an object; nullopt if obj is not a (live or dead) object.
  std::optional<ObjType> ObjectType(ObjId obj) const;
  // The winning value at a key/index; nullopt if absent.
  std::optional<Value> Get(ObjId obj, std::string_view key) const;
  std::optional<Value> Get(ObjId obj, size_t index) const;
  // All conflicting values at a key/index (winner last).
  std::vector<Value> GetAll(ObjId obj, std::string_view key) const;
  std::vector<Value> GetAll(ObjId obj, size_t index) const;
  // Visible keys of a map, in UTF-8 byte order.
  std::vector<std::string> Keys(ObjId obj) const;
  // Entries of a map / list (UTF-16 code units for text).
  size_t Length(ObjId obj) const;
  // The string of a text object ("" if obj is not text).
  std::string Text(ObjId obj) const;
  // The object as JSON, as `vudo doc inspect` prints it: map -> object,
  // list -> array, text/str -> string, numbers and counters -> number,
  // timestamp -> number (ms), bytes -> lowercase hex, winner only.
  nlohmann::json ToJson(ObjId obj = kRoot) const;
  // "counter@actorhex" / "_root", as automerge-js prints object ids.
  std::string ExportId(OpId id) const;

  // ---- History ----
  // Current heads, sorted by bytes.
  std::vector<ChangeHash> Heads();
  // Number of applied changes (not counting queued ones).
  size_t NumChanges();
  bool HasChange(const ChangeHash& hash) const;
  // Index of a change in application order (a causal order), or nullopt.
  std::optional<size_t> ChangeIndex(const ChangeHash& hash) const;
  // The change at `index` < NumChanges(): hash, type-1 chunk bytes and deps.
  // Spans stay valid until the document is next modified.
  const ChangeHash& ChangeHashAt(size_t index) const;
  ByteSpan ChangeBytesAt(size_t index) const;
  std::vector<ChangeHash> ChangeDepsAt(size_t index) const;
  // Deps as change indexes (each smaller than index).
  std::span<const uint32_t> ChangeDepIndexesAt(size_t index) const;
  // Actor, seq, max op, time and message of a change.
  struct ChangeMeta {
    ActorId actor;
    uint64_t seq = 0;
    uint64_t start_op = 0;
    uint64_t max_op = 0;
    int64_t time = 0;
    std::string message;
  };
  ChangeMeta ChangeMetaAt(size_t index) const;
  // Decodes the change at `index` fully.
  Result<Change> DecodeChangeAt(size_t index) const;

  // Changes not ancestors of `since` (hashes unknown here are ignored), in
  // causal order. With empty `since`: every change.
  std::vector<size_t> GetChangeIndexesSince(std::span<const ChangeHash> since);
  std::vector<ByteSpan> GetChangesSince(std::span<const ChangeHash> since);
  // Hashes that `heads` and the queued changes depend on but that are not
  // in the document, sorted.
  std::vector<ChangeHash> GetMissingDeps(std::span<const ChangeHash> heads);

  // Applies change chunks (type 1 or 2). All are decoded and checked first:
  // if any is malformed the document is unchanged and the error returned.
  // Changes already known are ignored; changes whose deps are missing are
  // queued until the deps arrive.
  Status ApplyChanges(std::span<const ByteSpan> chunks);
  Status ApplyChanges(std::span<const Bytes> chunks);
  // Applies everything in a byte string: a document chunk and/or change
  // chunks (also into a non-empty document). Errors as Load.
  Status LoadIncremental(ByteSpan data);
  // Applies every change of `other` that this document lacks.
  Status Merge(Document& other);
  // An independent copy with another actor.
  Document Fork(ActorId actor);
  // A copy as of `heads` (every change that is an ancestor of them).
  Result<Document> ForkAt(std::span<const ChangeHash> heads, ActorId actor);
  // Number of changes waiting for missing deps.
  size_t NumQueued() const;
  // Load() of a document chunk builds the op set at once but rebuilds the
  // change graph (every change's bytes and hash, and the check that they
  // give the chunk's heads) on first use of the history. This does it now.
  // Errors: kCorrupt ("mismatching heads", inconsistent ops). Heads() and
  // NumChanges() answer from the chunk without rebuilding.
  Status EnsureHistory();

  // ---- Storage ----
  // A document chunk (columns over 256 bytes raw-DEFLATEd).
  Bytes Save();
  Bytes SaveNoCompress();
  // The change chunks added since the last Save/SaveIncremental/Load,
  // concatenated.
  Bytes SaveIncremental();

  // Internal state (defined in doc_impl.h; not part of the API).
  struct Impl;
  // Read access to it for engine modules that scan the history in bulk
  // (the sync protocol, through automerge/sync/graph.h).
  const Impl& internal() const;

 private:
  explicit Document(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vudo::automerge
