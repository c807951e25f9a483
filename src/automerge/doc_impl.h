// Internal data structures of Document (not part of the public API).
//
// Op set:
//  - objects by id; a map object keeps, per key, its ops sorted by OpId;
//  - a list/text object keeps its elements in RGA order in a block list:
//    blocks of up to kMaxBlock elements, each block caching the visible
//    width of its elements (1 per list element, UTF-16 units per text
//    element), so an index lookup walks block summaries, not elements. A
//    cursor cache makes runs of nearby edits O(1) amortised.
//  - every element is found by its id: the elements of a bulk load through
//    a table of runs (consecutive counters of one actor allocated next to
//    each other), the others through a hash table.
//  - ops are compact (Op, 48 bytes): small values inline, long strings in
//    a string arena, succ ids in a shared pool, rare fields (marks,
//    counters, ops on a list element) in a side table; elements are
//    allocated in chunks.
// Pending transaction: encoded op by op (PendingChange).
// History: change records in application (causal) order, chunk bytes in a
// block arena, deps as indexes, a hash -> index table.
#pragma once

#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "automerge/change.h"
#include "automerge/columnar.h"
#include "automerge/document.h"
#include "automerge/pending.h"
#include "automerge/types.h"

namespace vudo::automerge {

struct OpIdHash {
  size_t operator()(const OpId& id) const {
    return std::hash<uint64_t>()(id.counter * 0x9e3779b97f4a7c15ull ^
                                 (uint64_t{id.actor} << 40));
  }
};

// One op as held in the op set (48 bytes). Deletes are not held (only as
// succ ids). A list/text element is the Op of its insert (see Elem); the
// ops that later target it live in its OpExtra::more.
//
// The value is stored compactly: `tag` is the value-metadata tag (0 null,
// 1 false, 2 true, 3 uint, 4 int, 5 f64, 6 str, 7 bytes, 8 counter,
// 9 timestamp, 10-15 unknown); numbers sit in `payload`; str/bytes/unknown
// payloads of up to 8 bytes sit in `payload` itself (length in the flags),
// longer ones in Impl::str_arena (uleb length + bytes at offset `payload`).
struct Op {
  uint64_t ctr = 0;      // id counter
  uint64_t ref_ctr = 0;  // seq ops: elem counter (insert: the reference)
  uint64_t payload = 0;
  uint32_t actor = 0;      // id actor
  uint32_t ref_actor = 0;  // seq ops: elem actor
  uint32_t succ = 0;   // 0: none; else index into Impl::succ_pool (see Succ)
  uint32_t extra = 0;  // 0: none; else index into Impl::extras
  uint32_t block = 0;  // elements: index into Impl::block_table
  Action action = Action::kSet;
  uint8_t tag = 0;
  // kOpInsert | kOpExpand | kOpArena | kOpSucc1 | inline length << 4
  uint8_t flags = 0;
  uint8_t width = 0;  // elements: cached visible width; 255: see OpExtra

  OpId id() const { return {ctr, actor}; }
  OpId elem() const { return {ref_ctr, ref_actor}; }
  bool insert() const { return flags & 1; }
  bool expand() const { return flags & 2; }
  bool IsMake() const {
    return action == Action::kMakeMap || action == Action::kMakeList ||
           action == Action::kMakeText || action == Action::kMakeTable;
  }
  bool IsCounter() const { return tag == 8; }
};
static_assert(sizeof(Op) == 48);
inline constexpr uint8_t kOpInsert = 1;
inline constexpr uint8_t kOpExpand = 2;
inline constexpr uint8_t kOpArena = 4;
// The op has exactly one succ, stored at succ_pool[succ] (no list header).
inline constexpr uint8_t kOpSucc1 = 8;

// A list/text element: its insert op.
using Elem = Op;

// What few ops need: marks, counters, set ops on a list element, a wide
// element.
struct OpExtra {
  uint32_t mark_name = 0;  // 1 + index into Impl::mark_names, 0 = none
  uint32_t inc_count = 0;  // counters: number of inc ops among succ
  int64_t inc_sum = 0;     // counters: sum of those increments
  uint64_t width = 0;      // elements whose width is >= 255
  std::vector<Op> more;    // elements: set/inc ops on it, sorted by id
};

struct Obj;

struct Block {
  Obj* owner = nullptr;
  std::vector<Elem*> elems;
  uint64_t width = 0;
  size_t index = 0;  // position in SeqObj::blocks
  uint32_t id = 0;   // index in Impl::block_table
};

struct Obj {
  OpId id;
  ObjType type = ObjType::kMap;
  // Map/table objects.
  std::map<std::string, std::vector<Op>, std::less<>> props;
  // List/text objects.
  std::vector<std::unique_ptr<Block>> blocks;
  uint64_t width = 0;    // total visible width
  size_t num_elems = 0;  // all elements, visible or not
  // Cursor cache: block cursor_block starts at visible offset cursor_pos.
  size_t cursor_block = 0;
  uint64_t cursor_pos = 0;
  bool IsSeq() const {
    return type == ObjType::kList || type == ObjType::kText;
  }
};

// One applied change: 80 bytes (a rebuilt history holds one per change,
// written in one go). The chunk's length, message and extra bytes are read
// back from the chunk when asked for (chunk(), tail()).
struct ChangeRecord {
  ChangeHash hash;
  const uint8_t* bytes = nullptr;  // canonical type-1 chunk in the arena
  uint64_t seq = 0;
  uint64_t start_op = 0;
  int64_t time = 0;
  uint32_t actor = 0;     // doc actor index
  uint32_t deps_off = 0;  // into Impl::dep_indexes
  uint32_t deps_count = 0;
  // Ops in the change: < 2^31, as an applied change holds its ops in
  // memory (and ApplyDecoded checks) and a rebuild checks the total.
  uint32_t num_ops : 31 = 0;
  uint32_t has_tail : 1 = 0;  // a message or extra bytes

  uint64_t max_op() const { return start_op + num_ops - 1; }
  // The chunk: magic, checksum, type, uleb(length), body.
  ByteSpan chunk() const;
  struct Tail {
    std::string_view message;
    ByteSpan extra;  // the bytes after the columns
  };
  Tail tail() const;
};
static_assert(sizeof(ChangeRecord) == 80);

// Open-addressing table OpId -> element (the key is read from the element).
class ElemIndex {
 public:
  Elem* Find(const OpId& id) const;
  void Insert(Elem* e);
  void Clear() {
    slots_.clear();
    count_ = 0;
  }

 private:
  static size_t Hash(const OpId& id) {
    uint64_t h = id.counter * 0x9e3779b97f4a7c15ull ^
                 (uint64_t{id.actor} * 0xc2b2ae3d27d4eb4full);
    return static_cast<size_t>(h ^ (h >> 29));
  }
  std::vector<Elem*> slots_;
  size_t count_ = 0;
};

// Elements of a bulk load by id, without a per-element index: the loader
// allocates elements in document order, so a run of elements whose ids are
// consecutive counters of one actor (typed text) sits in consecutive memory.
// The table holds one entry per run, sorted by (actor, counter) on first
// use; a lookup is a binary search. Most documents need far fewer runs than
// elements (the automerge-paper document: see docs/automerge.md).
class ElemRuns {
 public:
  // Called by the loader for each run of elements: ids (actor, ctr) to
  // (actor, ctr + len - 1) at first[0] to first[len - 1].
  void Add(uint64_t ctr, uint32_t actor, uint32_t len, Elem* first) {
    if (runs_.empty()) runs_.reserve(1024);
    runs_.push_back({ctr, actor, len, first});
    sorted_ = false;
  }
  Elem* Find(const OpId& id) const;
  void Clear() {
    runs_.clear();
    runs_.shrink_to_fit();
    sorted_ = true;
  }
  size_t size() const { return runs_.size(); }

 private:
  struct Run {
    uint64_t ctr;  // first counter
    uint32_t actor;
    uint32_t len;
    Elem* first;
  };
  mutable std::vector<Run> runs_;
  mutable bool sorted_ = true;
};

// Asks for transparent huge pages for the 2 MiB-aligned part of [p, p +
// bytes) before its first write (a hint: no effect where THP is off, on
// memory already in use, or for less than 4 MiB). Large fresh arrays fault
// in far faster so.
void AdviseHugePages(const void* p, size_t bytes);

// Append-only storage of chunk bytes with stable addresses. Blocks are
// left uninitialised (every byte handed out is written by the caller) and
// grow with the arena (64 KiB up to 16 MiB). While bulk mode is on (a
// history rebuild writes tens of MB here in one go), blocks of 4 MiB and
// more are aligned to 2 MiB and asked to use transparent huge pages; not
// otherwise (a change applied at a time would leave part of a 2 MiB page
// resident for nothing: ~3-5 MB more peak RSS applying the paper trace).
class ByteArena {
 public:
  void set_bulk(bool on) { bulk_ = on; }
  const uint8_t* Add(ByteSpan b);
  // Room for at least n bytes at the tail, valid until the next call;
  // Commit(k) (k <= n) then keeps the first k bytes and returns their
  // address. Lets a writer build a chunk in place.
  uint8_t* Reserve(size_t n) {
    own_ = nullptr;
    return room_ >= n ? tail_ : NewRoom(n);
  }
  const uint8_t* Commit(size_t k) {
    total_ += k;
    if (own_) return std::exchange(own_, nullptr);
    const uint8_t* p = tail_;
    tail_ += k;
    room_ -= k;
    return p;
  }
  size_t size() const { return total_; }

 private:
  struct Free {
    size_t align = 0;
    void operator()(uint8_t* p) const;
  };
  using Block = std::unique_ptr<uint8_t, Free>;
  static Block NewBlock(size_t size, bool huge);
  uint8_t* NewRoom(size_t n);
  std::vector<Block> blocks_;
  uint8_t* tail_ = nullptr;  // free space of the current block
  size_t room_ = 0;
  uint8_t* own_ = nullptr;  // reserved: a block of its own (large chunk)
  size_t next_block_ = size_t{64} << 10;
  size_t total_ = 0;
  bool bulk_ = false;
};

// Open-addressing table ChangeHash -> record index. A slot holds the first
// 4 hash bytes next to the index, so probes and growth rarely touch the
// records.
class HashIndex {
 public:
  std::optional<uint32_t> Find(const ChangeHash& h,
                               const std::vector<ChangeRecord>& recs) const;
  void Insert(const ChangeHash& h, uint32_t index,
              const std::vector<ChangeRecord>& recs);
  // Inserts unless the hash is present (then returns false).
  bool InsertUnique(const ChangeHash& h, uint32_t index,
                    const std::vector<ChangeRecord>& recs);
  // Makes room for n entries in total.
  void Reserve(size_t n);
  // Bulk build of an empty index: entries are bucketed by home slot as
  // they are added (Bulk::Add, any order), then BuildUnique inserts them
  // stretch by stretch of the table, each written while in cache (in
  // record order every insert was a cache miss). BuildUnique returns false
  // if two records have the same hash.
  class Bulk {
   public:
    explicit Bulk(size_t n);  // n: the entries to come (a bound is fine)
    void Add(const ChangeHash& h, uint32_t index) {
      const uint64_t e = (uint64_t{Prefix(h)} << 32) | index;
      const size_t b = (Prefix(h) & mask_) >> shift_;
      if (fill_[b] < cap_)
        buckets_[b * cap_ + fill_[b]++] = e;
      else
        spill_.push_back(e);  // (a bucket far fuller than the mean)
    }

   private:
    friend class HashIndex;
    static constexpr int kBits = 10;  // 2^kBits buckets
    size_t slots_ = 0;
    size_t mask_ = 0;
    int shift_ = 0;
    size_t cap_ = 0;
    std::unique_ptr<uint64_t[]> buckets_;  // uninitialised until Add
    std::vector<uint32_t> fill_;
    std::vector<uint64_t> spill_;
  };
  bool BuildUnique(Bulk& bulk, const std::vector<ChangeRecord>& recs);
  // Hints the CPU to load the slot where `h` starts probing (bulk inserts
  // prefetch a few entries ahead).
  void Prefetch(const ChangeHash& h) const {
    if (!slots_.empty())
      __builtin_prefetch(&slots_[Prefix(h) & (slots_.size() - 1)], 1);
  }

 private:
  static constexpr uint64_t kEmpty = UINT64_MAX;
  static uint32_t Prefix(const ChangeHash& h) {
    uint32_t v;
    std::memcpy(&v, h.data(), 4);
    return v;
  }
  static size_t SlotsFor(size_t n);
  void Rehash(size_t slots, bool huge = false);
  bool InsertEntryUnique(uint64_t e, const std::vector<ChangeRecord>& recs);
  std::vector<uint64_t> slots_;  // prefix << 32 | index, or kEmpty
  size_t count_ = 0;
};

struct Document::Impl {
  // ---- actors ----
  std::vector<ActorId> actors;
  std::unordered_map<std::string, uint32_t> actor_index;
  std::vector<uint32_t> actor_rank;  // rank by bytes
  uint32_t local_actor = 0;

  // ---- op set ----
  std::unordered_map<OpId, std::unique_ptr<Obj>, OpIdHash> objects;
  // Element lookup by id (see FindElem): the elements of a bulk load by
  // runs, the others (applied one op at a time) in a hash table.
  ElemRuns elem_runs;
  ElemIndex elem_index;
  Elem* last_inserted = nullptr;  // set by ApplyOp for inserts
  // Elements, allocated in chunks of kElemChunk (stable addresses; the
  // memory is left uninitialised until NewElem hands a slot out).
  static constexpr size_t kElemChunk = 4096;
  struct ChunkFree {
    void operator()(Elem* p) const { ::operator delete(p); }
  };
  std::vector<std::unique_ptr<Elem, ChunkFree>> elem_chunks;
  size_t elem_chunk_used = kElemChunk;
  std::vector<Block*> block_table;  // Op::block -> block
  std::vector<OpExtra> extras;      // [0] unused
  // Succ ids: one id alone (kOpSucc1), or a list: at index i, {n,
  // capacity} then capacity slots (ids sorted).
  std::vector<OpId> succ_pool;  // [0] unused
  std::string str_arena;        // long string/bytes values
  std::vector<std::string> mark_names;
  std::unordered_map<std::string, uint32_t> mark_index;
  uint64_t max_op = 0;

  // ---- history ----
  std::vector<ChangeRecord> records;
  std::vector<uint32_t> dep_indexes;
  ByteArena arena;
  HashIndex hash_index;
  std::vector<uint32_t> heads;  // record indexes
  std::vector<uint64_t> clock;  // per actor: last seq applied
  std::vector<std::vector<uint32_t>> actor_changes;  // per actor, by seq
  std::vector<Change> queue;                         // waiting for deps
  size_t saved_upto = 0;  // records covered by the last save
  // Deferred change graph after a bulk load: the document chunk body.
  bool history_lazy = false;
  Bytes lazy_body;
  std::vector<ChangeHash> lazy_heads;  // sorted
  size_t lazy_count = 0;
  std::optional<Error> history_error;
  // The document chunk this document was loaded from, while nothing has
  // changed since (Save() hands it back instead of re-encoding).
  Bytes source_chunk;
  size_t source_count = 0;  // changes it holds
  Bytes corrupt_body;       // the chunk whose history failed to rebuild

  // ---- pending transaction ----
  // Encoded op by op as the edits are made (a few bytes per op).
  PendingChange pending;  // doc actor indexes
  uint64_t pending_start = 0;

  explicit Impl(ActorId actor);

  // Actors.
  uint32_t InternActor(const ActorId& a);
  bool Less(const OpId& a, const OpId& b) const {
    if (a.counter != b.counter) return a.counter < b.counter;
    return actor_rank[a.actor] < actor_rank[b.actor];
  }
  uint32_t InternMark(const std::string& name);

  // Op set.
  Obj* FindObj(const OpId& id) const {
    auto it = objects.find(id);
    return it == objects.end() ? nullptr : it->second.get();
  }
  Elem* FindElem(const OpId& id) const;
  Elem* NewElem() {
    static_assert(std::is_trivially_destructible_v<Elem>);
    if (elem_chunk_used == kElemChunk) [[unlikely]]
      NewElemChunk();
    return new (elem_chunks.back().get() + elem_chunk_used++) Elem();
  }
  void NewElemChunk();
  Block* NewBlock(Obj& owner);
  Block* BlockOf(const Elem& e) const { return block_table[e.block]; }
  OpExtra& ExtraOf(Op& op);
  const OpExtra* ExtraIf(const Op& op) const {
    return op.extra ? &extras[op.extra] : nullptr;
  }
  // Set/inc ops on an element (empty if none).
  std::span<const Op> More(const Elem& e) const {
    if (!e.extra) return {};
    return extras[e.extra].more;
  }
  uint32_t MarkOf(const Op& op) const {
    return op.extra ? extras[op.extra].mark_name : 0;
  }
  // Succ ids of an op, sorted.
  std::span<const OpId> Succ(const Op& op) const {
    if (!op.succ) return {};
    if (op.flags & kOpSucc1) return {succ_pool.data() + op.succ, 1};
    return {succ_pool.data() + op.succ + 1,
            static_cast<size_t>(succ_pool[op.succ].counter)};
  }
  size_t SuccCount(const Op& op) const {
    if (!op.succ) return 0;
    if (op.flags & kOpSucc1) return 1;
    return static_cast<size_t>(succ_pool[op.succ].counter);
  }
  // Inserts id into the succ list of op (kept sorted by Less).
  void AddSuccId(Op& op, OpId id);
  // A fresh succ list with room for n ids; returns its index.
  uint32_t NewSuccList(size_t n);
  bool Visible(const Op& op) const {
    if (op.action == Action::kInc || op.action == Action::kDel ||
        op.action == Action::kMark)
      return false;
    if (op.IsCounter() && op.action == Action::kSet)
      return SuccCount(op) == (op.extra ? extras[op.extra].inc_count : 0);
    return op.succ == 0;
  }
  // Values.
  std::string_view StrOf(const Op& op) const;  // str/bytes/unknown payload
  ScalarValue ScalarOf(const Op& op) const;
  void StoreValue(Op& op, const ScalarValue& v);
  // Stores a string-like payload (tag 6, 7 or 10-15).
  void StoreBytes(Op& op, uint8_t tag, std::string_view b);
  // Appends the raw value bytes and returns the metadata (len << 4 | tag).
  uint64_t EncodeOpValue(const Op& op, Bytes& raw) const;
  uint64_t ElemWidth(const Elem& e) const {
    return e.width != 255 ? e.width : extras[e.extra].width;
  }
  void SetWidth(Elem& e, uint64_t w);
  uint64_t WidthOf(const Obj& obj, const Elem& e) const;
  const Op* Winner(const Elem& e) const;
  void Rewidth(Obj& obj, Elem& e);
  // Position helpers.
  size_t ElemPos(const Elem& e) const;  // index within its block
  // Finds the visible element covering visible offset `index`; returns the
  // element and the offset at which it starts.
  Elem* ElemAtIndex(Obj& obj, uint64_t index, uint64_t* start);
  // The last visible element before visible offset `index` (nullptr: head)
  // and the (block, pos) right after it where a new local element goes.
  Elem* InsertRefAt(Obj& obj, uint64_t index);
  void InsertElemAfter(Obj& obj, Elem* ref, Elem* e);  // local placement
  void InsertElemRga(Obj& obj, Elem* e, Elem* ref_hint);
  void PlaceElem(Obj& obj, Block* b, size_t pos, Elem* e);
  void SplitBlock(Obj& obj, Block* b);
  void AdjustWidth(Obj& obj, Block* b, int64_t delta);
  void ResetCursor(Obj& obj);

  // Applies one op (doc actor indexes). The caller validated it.
  // `ref_hint`: the element a local insert goes after, if known.
  void ApplyOp(const ChangeOp& op, OpId id, Elem* ref_hint = nullptr);
  // Checks that the ops of a change can be applied (objects and elements
  // exist or are created earlier in the change).
  Status ValidateOps(const std::vector<ChangeOp>& ops, uint64_t start_op,
                     uint32_t actor);

  // History.
  Status ApplyDecoded(Change&& ch);  // deps present; maps actors
  void RecordChange(const Change& ch, ByteSpan chunk, uint32_t actor,
                    uint64_t max_op);
  void ApplyQueued();
  Status ApplyOrQueue(Change&& ch);
  std::vector<uint32_t> DepsOf(uint32_t index) const;

  // Transactions.
  OpId NextId() const { return {pending_start + pending.size(), local_actor}; }
  void BeginIfNeeded();
  std::optional<ChangeHash> CommitPending(const CommitOptions& opts);

  // Storage (storage.cc).
  Bytes SaveDocument(bool compress);
  // kLazyOps: build the op set of a pristine document and defer the change
  // graph (history_lazy); kHistoryOnly: rebuild that change graph;
  // kMerge: reconstruct the chunk's changes and apply the unknown ones.
  enum class LoadMode { kLazyOps, kHistoryOnly, kMerge };
  Status LoadDocumentChunk(ByteSpan body, LoadMode mode);
  // Rebuilds a deferred change graph (see Document::EnsureHistory).
  Status EnsureHistory();
  Status LoadAll(ByteSpan data, bool require_deps);
  // True if nothing was ever applied (a bulk load may build directly).
  bool IsPristine() const;

  // Reads.
  Value ToValue(const Op& op) const;
  void CollectVisible(std::span<const Op> ops,
                      std::vector<const Op*>& out) const;
  void VisibleOps(const Elem& e, std::vector<const Op*>& out) const;
  // kLazyOps: builds the op set of a pristine document straight from the
  // chunk's op columns (load_ops.cc).
  Status LoadOpSet(ByteSpan body, const std::vector<uint32_t>& amap,
                   const col::Columns& ccols, const col::Columns& ocols,
                   std::vector<ChangeHash> heads_in);
};

// Inserts op into v keeping v sorted by OpId (O(1) when op is the largest).
void InsertOpSorted(std::vector<Op>& v, Op&& op, const Document::Impl& impl);

}  // namespace vudo::automerge
