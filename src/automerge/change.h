// Automerge storage chunks and change chunks (decode + canonical encode).
//
// Chunk: 85 6f 4a 83 | checksum(4) | type(1) | uleb(len) | body.
// hash = SHA-256(type || uleb(len) || body) of the uncompressed chunk; the
// checksum is its first 4 bytes. A compressed change (type 2) carries the raw
// DEFLATE of a type-1 body and the checksum of the uncompressed change.
//
// EncodeChange() is canonical: it makes the exact bytes the Rust encoder of
// automerge 3.5 makes for the same change, so hashes agree.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "automerge/types.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge {

inline constexpr uint8_t kMagic[4] = {0x85, 0x6f, 0x4a, 0x83};

enum class ChunkType : uint8_t {
  kDocument = 0,
  kChange = 1,
  kCompressedChange = 2,
  kBundle = 3,
};

// Upper bound on any length we inflate or allocate while decoding untrusted
// input (a guard against decompression bombs).
inline constexpr size_t kMaxInflatedSize = size_t{256} << 20;

// One chunk parsed from the front of a byte string.
struct Chunk {
  ChunkType type = ChunkType::kChange;  // kCompressedChange reported as is
  // The (uncompressed) body. For a compressed change this points into
  // `inflated`; otherwise into the input.
  ByteSpan body;
  Bytes inflated;
  ChangeHash hash{};        // hash of the uncompressed chunk
  size_t encoded_size = 0;  // bytes consumed from the input
};

// Parses the chunk at the start of `data` and verifies its checksum.
// Errors: kTruncated, kInvalidArgument (bad magic, unknown type), kCorrupt
// (checksum mismatch, bad DEFLATE), kOverflow (inflated too large).
Result<Chunk> ReadChunk(ByteSpan data);

// SHA-256(type || uleb(len) || body).
ChangeHash ChunkHash(ChunkType type, ByteSpan body);
// magic | checksum | type | uleb(len) | body.
Bytes WriteChunk(ChunkType type, ByteSpan body);

// Raw DEFLATE helpers (zlib, windowBits -15).
Bytes Deflate(ByteSpan data);
// Errors: kCorrupt (bad stream), kOverflow (output > max_out).
Result<Bytes> Inflate(ByteSpan data, size_t max_out = kMaxInflatedSize);

// Op actions as numbered in the action column.
enum class Action : uint8_t {
  kMakeMap = 0,
  kSet = 1,
  kMakeList = 2,
  kDel = 3,
  kMakeText = 4,
  kInc = 5,
  kMakeTable = 6,
  kMark = 7,
};

// An operation as stored in a change. Actor numbers index the change's actor
// table: 0 = the change's author, i >= 1 = other_actors[i - 1].
struct ChangeOp {
  OpId obj;                // counter 0: the root map
  OpId elem;               // list element, if !key_is_str; counter 0: the head
  std::string key;         // map key, if key_is_str
  ScalarValue value;       // for kSet, kInc (the delta) and kMark (begin)
  std::vector<OpId> pred;  // sorted by (counter, actor bytes)
  std::optional<std::string> mark_name;  // marks only (begin)
  bool key_is_str = false;
  bool insert = false;
  Action action = Action::kSet;
  bool expand = false;  // marks only
};

// A decoded change.
struct Change {
  std::vector<ChangeHash> deps;  // sorted
  ActorId actor;
  uint64_t seq = 0;
  uint64_t start_op = 0;
  int64_t time = 0;                   // seconds
  std::string message;                // empty: none
  std::vector<ActorId> other_actors;  // sorted, without `actor`
  std::vector<ChangeOp> ops;
  Bytes extra;  // bytes after the columns, kept verbatim (hashed)

  // Set by DecodeChange / EncodeChange: the type-1 chunk bytes and hash.
  Bytes bytes;
  ChangeHash hash{};

  uint64_t MaxOp() const { return start_op + ops.size() - 1; }
  // The actor of an op id of this change (0 = author).
  const ActorId& ActorAt(uint32_t index) const {
    return index == 0 ? actor : other_actors[index - 1];
  }
};

// Decodes exactly one change chunk (type 1 or 2) that fills `chunk`.
// Errors: those of ReadChunk, kInvalidArgument for a non-change chunk or
// trailing bytes, kCorrupt/kTruncated/kOverflow for inconsistent columns.
Result<Change> DecodeChange(ByteSpan chunk);
// Decodes the body of a type-1 chunk whose hash is already known.
Result<Change> DecodeChangeBody(ByteSpan body, const ChangeHash& hash);

// The fields of a change body before its columns, plus its extra bytes
// (a cheap partial decode; ops are not decoded).
struct ChangeHeader {
  std::vector<ChangeHash> deps;
  ActorId actor;
  uint64_t seq = 0;
  uint64_t start_op = 0;
  int64_t time = 0;
  std::string message;
  std::vector<ActorId> other_actors;
  ByteSpan extra;  // points into the body
};
// Errors: kTruncated, kCorrupt as DecodeChangeBody.
Result<ChangeHeader> ReadChangeHeader(ByteSpan body);

// Canonical encoding of `change` (its deps, actor, seq, start_op, time,
// message, ops and extra). Op actor numbers refer to [actor, other_actors...]
// as given; other_actors is then rebuilt as Automerge does (only the actors
// the ops reference, sorted by bytes) and the ops renumbered accordingly.
// Fills change.bytes and change.hash.
// Errors: kInvalidArgument if an op refers to an actor index out of range.
Status EncodeChange(Change& change);
// The same with the ops taken from `ops` (renumbered in place) instead of
// change.ops, which is ignored (saves a copy of a big transaction).
Status EncodeChange(Change& change, std::deque<ChangeOp>& ops);

// The type-2 (compressed) form of a type-1 change chunk.
Result<Bytes> CompressChange(ByteSpan change_chunk);

}  // namespace vudo::automerge
