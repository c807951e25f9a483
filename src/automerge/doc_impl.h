// Internal data structures of Document (not part of the public API).
//
// Op set:
//  - objects by id; a map object keeps, per key, its ops sorted by OpId;
//  - a list/text object keeps its elements in RGA order in a block list:
//    blocks of up to kMaxBlock elements, each block caching the visible
//    width of its elements (1 per list element, UTF-16 units per text
//    element), so an index lookup walks block summaries, not elements. A
//    cursor cache makes runs of nearby edits O(1) amortised.
//  - every element is found by its id through a hash map.
// History: change records in application (causal) order, chunk bytes in a
// block arena, deps as indexes, a hash -> index table.
#pragma once

#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "automerge/change.h"
#include "automerge/document.h"
#include "automerge/types.h"

namespace vudo::automerge {

struct OpIdHash {
  size_t operator()(const OpId& id) const {
    return std::hash<uint64_t>()(id.counter * 0x9e3779b97f4a7c15ull ^
                                 (uint64_t{id.actor} << 40));
  }
};

// One op as held in the op set. Deletes are not held (only as succ ids).
struct Op {
  OpId id;
  OpId elem;  // seq ops: insert -> reference elem; other -> target element
  Action action = Action::kSet;
  bool insert = false;
  bool expand = false;
  uint32_t mark_name = 0;  // 1 + index into Impl::mark_names, 0 = none
  uint32_t inc_count = 0;  // counters: number of inc ops among succ
  int64_t inc_sum = 0;     // counters: sum of those increments
  ScalarValue value;
  std::vector<OpId> succ;  // sorted

  bool IsMake() const {
    return action == Action::kMakeMap || action == Action::kMakeList ||
           action == Action::kMakeText || action == Action::kMakeTable;
  }
  bool Visible() const {
    if (action == Action::kInc || action == Action::kDel ||
        action == Action::kMark)
      return false;
    if (value.type == ScalarType::kCounter && action == Action::kSet)
      return succ.size() == inc_count;
    return succ.empty();
  }
};

struct Block;

// A list/text element: its insert op plus later ops that target it.
struct Elem {
  Op op;                 // the insert op
  std::vector<Op> more;  // set/inc ops on this element, sorted by id
  Block* block = nullptr;
  uint32_t width = 0;  // cached visible width (0 if invisible)
};

struct Obj;

struct Block {
  Obj* owner = nullptr;
  std::vector<Elem*> elems;
  uint64_t width = 0;
  size_t index = 0;  // position in SeqObj::blocks
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

// One applied change.
struct ChangeRecord {
  ChangeHash hash;
  const uint8_t* bytes = nullptr;  // type-1 chunk in the arena
  uint32_t bytes_len = 0;
  uint32_t actor = 0;  // doc actor index
  uint64_t seq = 0;
  uint64_t start_op = 0;
  uint64_t max_op = 0;
  uint32_t deps_off = 0;  // into Impl::dep_indexes
  uint32_t deps_count = 0;
  int64_t time = 0;
  uint32_t msg_off = 0;  // message bytes within the chunk
  uint32_t msg_len = 0;
  uint32_t extra_len = 0;  // extra bytes = the last extra_len chunk bytes
};

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

// Append-only storage of chunk bytes with stable addresses.
class ByteArena {
 public:
  const uint8_t* Add(ByteSpan b);
  size_t size() const { return total_; }

 private:
  static constexpr size_t kBlock = size_t{1} << 20;
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
  size_t used_ = kBlock;  // in the last block
  size_t total_ = 0;
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
  void Rehash(size_t slots);
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
  // Element lookup by id, built lazily after a bulk load (see FindElem).
  mutable ElemIndex elem_index;
  mutable bool elem_index_complete = true;
  Elem* last_inserted = nullptr;  // set by ApplyOp for inserts
  std::deque<Elem> elem_pool;
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
  // A deque: no reallocation copies while a big transaction grows, and it
  // shrinks block by block while Commit moves it into the change.
  std::deque<ChangeOp> pending;  // doc actor indexes
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
  uint32_t WidthOf(const Obj& obj, const Elem& e) const;
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
  void CollectVisible(const std::vector<Op>& ops,
                      std::vector<const Op*>& out) const;
};

// Inserts op into v keeping v sorted by OpId (O(1) when op is the largest).
void InsertOpSorted(std::vector<Op>& v, Op&& op, const Document::Impl& impl);

}  // namespace vudo::automerge
