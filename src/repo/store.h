// Durable storage of a node's documents in one SQLite database (WAL mode,
// synchronous=FULL): every call that writes returns only after the data is
// on disk, so an edit acknowledged to a user survives kill -9 and power loss.
//
// A document is stored as opaque Automerge chunks: at most one snapshot (a
// saved document chunk) plus the change chunks appended since. Loading
// concatenates snapshot + changes, which Automerge's load accepts. Compact()
// replaces everything up to a point with a new snapshot, atomically.
//
// The store knows nothing of Automerge's internals: it takes chunk bytes and
// hashes. Not thread-safe: one owner (the node's event loop).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

struct sqlite3;

namespace vudo::repo {

class Store {
 public:
  // Opens (creating if needed) the database file. Errors: kIo, kCorrupt
  // (not a vudo store / unsupported schema).
  static Result<std::unique_ptr<Store>> Open(const std::filesystem::path& file);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Appends change chunks of a document (ignoring hashes already stored for
  // it) in one durable transaction. `hashes[i]` is the hash of `chunks[i]`.
  // Returns how many were new.
  Result<size_t> AppendChanges(std::string_view doc_id,
                               const std::vector<ByteSpan>& chunks,
                               const std::vector<Bytes>& hashes);
  // Snapshot (if any) followed by the changes appended after it, ready for
  // Automerge's load; nullopt if the document is unknown.
  Result<std::optional<Bytes>> Load(std::string_view doc_id);
  // Number of change chunks stored after the snapshot.
  Result<size_t> PendingChanges(std::string_view doc_id);
  // Replaces every chunk stored for the document (snapshot and changes) by
  // `snapshot`, atomically; the caller passes a save of a document that
  // contains all of them (same event loop, so nothing is appended between).
  Status Compact(std::string_view doc_id, ByteSpan snapshot);
  // Marks a document as known (so ListDocuments returns it) without data.
  Status AddDocument(std::string_view doc_id);
  Result<std::vector<std::string>> ListDocuments();
  Status RemoveDocument(std::string_view doc_id);

  // Small key/value settings of the node (e.g. its default document).
  Status PutSetting(std::string_view key, std::string_view value);
  Result<std::optional<std::string>> GetSetting(std::string_view key);

  // Persistent sync state per (document, peer storage id).
  Status PutSyncState(std::string_view doc_id, std::string_view peer,
                      ByteSpan state);
  Result<std::optional<Bytes>> GetSyncState(std::string_view doc_id,
                                            std::string_view peer);

  // Bytes of chunk data stored for a document.
  Result<uint64_t> StoredBytes(std::string_view doc_id);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  sqlite3* db_;
};

}  // namespace vudo::repo
