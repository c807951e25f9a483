#include "automerge/document.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <unordered_set>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "automerge/columnar.h"
#include "automerge/doc_impl.h"
#include "base/encoding.h"

namespace vudo::automerge {

namespace {

constexpr size_t kMaxBlock = 128;

size_t Utf16Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) ++n;  // a lead byte starts a code point
    if (c >= 0xf0) ++n;           // 4-byte sequence: a surrogate pair
  }
  return n;
}

// Splits valid UTF-8 into code points.
std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

Action MakeAction(ObjType t) {
  switch (t) {
    case ObjType::kMap:
      return Action::kMakeMap;
    case ObjType::kList:
      return Action::kMakeList;
    case ObjType::kText:
      return Action::kMakeText;
    case ObjType::kTable:
      return Action::kMakeTable;
  }
  return Action::kMakeMap;
}

ObjType TypeOfMake(Action a) {
  switch (a) {
    case Action::kMakeList:
      return ObjType::kList;
    case Action::kMakeText:
      return ObjType::kText;
    case Action::kMakeTable:
      return ObjType::kTable;
    default:
      return ObjType::kMap;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// ByteArena / HashIndex

ByteSpan ChangeRecord::chunk() const {
  // The arena holds chunks this code wrote or re-encoded: the length is a
  // valid uleb after magic, checksum and type.
  uint64_t len = 0;
  size_t i = 9;
  for (int shift = 0; shift < 64; shift += 7) {
    const uint8_t b = bytes[i++];
    len |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) break;
  }
  return ByteSpan(bytes, i + len);
}

ChangeRecord::Tail ChangeRecord::tail() const {
  Tail t;
  if (!has_tail) return t;
  ByteReader r(chunk().subspan(9));
  if (!ReadUleb(r)) return t;
  auto skip_sized = [&](uint64_t unit) -> bool {
    auto n = ReadUleb(r);
    return n && *n <= r.remaining() / unit && r.Skip(*n * unit).has_value();
  };
  // Deps, actor, seq, start op, time, message.
  if (!skip_sized(32) || !skip_sized(1) || !ReadUleb(r) || !ReadUleb(r) ||
      !ReadSleb(r))
    return t;
  auto mlen = ReadUleb(r);
  if (!mlen || *mlen > r.remaining()) return t;
  ByteSpan msg = *r.ReadSpan(*mlen);
  t.message =
      std::string_view(reinterpret_cast<const char*>(msg.data()), msg.size());
  // Other actors, column metadata and data; the rest is the extra bytes.
  auto nother = ReadUleb(r);
  if (!nother) return t;
  for (uint64_t i = 0; i < *nother; ++i)
    if (!skip_sized(1)) return t;
  auto ncols = ReadUleb(r);
  if (!ncols) return t;
  uint64_t data = 0;
  for (uint64_t i = 0; i < *ncols; ++i) {
    auto spec = ReadUleb(r);
    auto len = spec ? ReadUleb(r) : spec;
    if (!len) return t;
    data += *len;
    if (data > r.remaining()) return t;
  }
  if (!r.Skip(data)) return t;
  t.extra = r.rest();
  return t;
}

void AdviseHugePages(const void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr size_t kHuge = size_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  uintptr_t b = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t e = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

void ByteArena::Free::operator()(uint8_t* p) const {
  if (align)
    ::operator delete (p, std::align_val_t{align});
  else
    ::operator delete(p);
}

ByteArena::Block ByteArena::NewBlock(size_t size, bool huge) {
  constexpr size_t kHuge = size_t{2} << 20;
  if (!huge || size < 2 * kHuge)
    return Block(static_cast<uint8_t*>(::operator new(size)), Free{0});
  size = (size + kHuge - 1) & ~(kHuge - 1);
  auto* p =
      static_cast<uint8_t*>(::operator new (size, std::align_val_t{kHuge}));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, size, MADV_HUGEPAGE);  // a hint: no effect where THP is off
#endif
  return Block(p, Free{kHuge});
}

uint8_t* ByteArena::NewRoom(size_t n) {
  constexpr size_t kMaxBlock = size_t{16} << 20;
  if (n > next_block_ / 4) {
    // A large chunk gets a block of its own; the current one stays.
    blocks_.push_back(NewBlock(n, bulk_));
    own_ = blocks_.back().get();
    return own_;
  }
  blocks_.push_back(NewBlock(next_block_, bulk_));
  tail_ = blocks_.back().get();
  room_ = next_block_;
  next_block_ = std::min(next_block_ * 2, kMaxBlock);
  return tail_;
}

const uint8_t* ByteArena::Add(ByteSpan b) {
  uint8_t* p = Reserve(b.size());
  if (!b.empty()) std::memcpy(p, b.data(), b.size());
  return Commit(b.size());
}

std::optional<uint32_t> HashIndex::Find(
    const ChangeHash& h, const std::vector<ChangeRecord>& recs) const {
  if (slots_.empty()) return std::nullopt;
  const size_t mask = slots_.size() - 1;
  const uint32_t prefix = Prefix(h);
  for (size_t i = prefix & mask;; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == kEmpty) return std::nullopt;
    if (static_cast<uint32_t>(s >> 32) == prefix &&
        recs[static_cast<uint32_t>(s)].hash == h)
      return static_cast<uint32_t>(s);
  }
}

void HashIndex::Rehash(size_t n, bool huge) {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.reserve(n);
  if (huge) AdviseHugePages(slots_.data(), n * sizeof(uint64_t));
  slots_.assign(n, kEmpty);
  const size_t mask = n - 1;
  for (uint64_t s : old) {
    if (s == kEmpty) continue;
    size_t i = static_cast<size_t>(s >> 32) & mask;
    while (slots_[i] != kEmpty) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void HashIndex::Reserve(size_t n) {
  const size_t want = SlotsFor(n);
  if (want > slots_.size()) Rehash(want);
}

bool HashIndex::InsertUnique(const ChangeHash& h, uint32_t index,
                             const std::vector<ChangeRecord>& recs) {
  if ((count_ + 1) * 2 > slots_.size())
    Rehash(slots_.empty() ? 64 : slots_.size() * 2);
  const size_t mask = slots_.size() - 1;
  const uint32_t prefix = Prefix(h);
  size_t i = prefix & mask;
  for (; slots_[i] != kEmpty; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (static_cast<uint32_t>(s >> 32) == prefix &&
        recs[static_cast<uint32_t>(s)].hash == h)
      return false;
  }
  slots_[i] = (uint64_t{prefix} << 32) | index;
  ++count_;
  return true;
}

HashIndex::Bulk::Bulk(size_t n) : slots_(SlotsFor(n)), mask_(slots_ - 1) {
  // Up to 2^kBits buckets of at least 64 slots; each sized for its mean
  // share plus 4 standard deviations (overflow goes to spill_).
  const int bits = std::bit_width(mask_);
  shift_ = bits > kBits + 6 ? bits - kBits : std::min(bits, 6);
  const size_t nbuckets = slots_ >> shift_;
  const size_t mean = n / nbuckets + 1;
  size_t sd = 1;
  while (sd * sd < mean) ++sd;
  cap_ = mean + 4 * sd + 8;
  buckets_.reset(new uint64_t[nbuckets * cap_]);
  fill_.assign(nbuckets, 0);
}

size_t HashIndex::SlotsFor(size_t n) {
  size_t want = 64;
  while (want < 2 * n) want *= 2;
  return want;
}

bool HashIndex::InsertEntryUnique(uint64_t e,
                                  const std::vector<ChangeRecord>& recs) {
  const size_t mask = slots_.size() - 1;
  const uint32_t prefix = static_cast<uint32_t>(e >> 32);
  size_t i = prefix & mask;
  for (; slots_[i] != kEmpty; i = (i + 1) & mask) {
    const uint64_t s = slots_[i];
    if (static_cast<uint32_t>(s >> 32) == prefix &&
        recs[static_cast<uint32_t>(s)].hash ==
            recs[static_cast<uint32_t>(e)].hash)
      return false;
  }
  slots_[i] = e;
  ++count_;
  return true;
}

bool HashIndex::BuildUnique(Bulk& bulk, const std::vector<ChangeRecord>& recs) {
  size_t total = count_ + bulk.spill_.size();
  for (uint32_t f : bulk.fill_) total += f;
  // (More entries than Bulk was told: a larger table, same result.)
  Rehash(std::max(bulk.slots_, SlotsFor(total)), /*huge=*/true);
  const size_t nbuckets = bulk.fill_.size();
  // Bucket b homes in slots [b << shift, (b + 1) << shift): that stretch
  // is fetched while the one before is filled (the inserts land at random
  // within it, where the hardware prefetcher cannot help): 3.3 -> 2.3 ms
  // for 260k entries.
  const bool stretches = slots_.size() == bulk.slots_;
  const size_t stretch_bytes = (size_t{1} << bulk.shift_) * sizeof(uint64_t);
  auto fetch = [&](size_t b) {
    const char* p =
        reinterpret_cast<const char*>(slots_.data() + (b << bulk.shift_));
    for (size_t off = 0; off < stretch_bytes; off += 64)
      __builtin_prefetch(p + off, 1);
  };
  if (stretches) fetch(0);
  for (size_t b = 0; b < nbuckets; ++b) {
    if (stretches && b + 1 < nbuckets) fetch(b + 1);
    const uint64_t* e = bulk.buckets_.get() + b * bulk.cap_;
    for (uint32_t k = 0; k < bulk.fill_[b]; ++k)
      if (!InsertEntryUnique(e[k], recs)) return false;
  }
  for (uint64_t e : bulk.spill_)
    if (!InsertEntryUnique(e, recs)) return false;
  return true;
}

void HashIndex::Insert(const ChangeHash& h, uint32_t index,
                       const std::vector<ChangeRecord>&) {
  if ((count_ + 1) * 2 > slots_.size())
    Rehash(slots_.empty() ? 64 : slots_.size() * 2);
  const size_t mask = slots_.size() - 1;
  const uint32_t prefix = Prefix(h);
  size_t i = prefix & mask;
  while (slots_[i] != kEmpty) i = (i + 1) & mask;
  slots_[i] = (uint64_t{prefix} << 32) | index;
  ++count_;
}

Elem* ElemIndex::Find(const OpId& id) const {
  if (slots_.empty()) return nullptr;
  size_t mask = slots_.size() - 1;
  for (size_t i = Hash(id) & mask;; i = (i + 1) & mask) {
    Elem* e = slots_[i];
    if (!e) return nullptr;
    if (e->ctr == id.counter && e->actor == id.actor) return e;
  }
}

void ElemIndex::Insert(Elem* e) {
  if ((count_ + 1) * 2 > slots_.size()) {
    size_t n = slots_.empty() ? 1024 : slots_.size() * 2;
    std::vector<Elem*> old = std::move(slots_);
    slots_.assign(n, nullptr);
    count_ = 0;
    for (Elem* x : old)
      if (x) Insert(x);
  }
  size_t mask = slots_.size() - 1;
  size_t i = Hash(e->id()) & mask;
  while (slots_[i]) i = (i + 1) & mask;
  slots_[i] = e;
  ++count_;
}

// ---------------------------------------------------------------------------
// Impl: actors, op set

Elem* ElemRuns::Find(const OpId& id) const {
  if (runs_.empty()) return nullptr;
  auto less = [](const Run& a, const Run& b) {
    return a.actor != b.actor ? a.actor < b.actor : a.ctr < b.ctr;
  };
  if (!sorted_) {
    if (!std::is_sorted(runs_.begin(), runs_.end(), less))
      std::sort(runs_.begin(), runs_.end(), less);
    sorted_ = true;
  }
  // The last run starting at or before id.
  auto it = std::upper_bound(runs_.begin(), runs_.end(),
                             Run{id.counter, id.actor, 0, nullptr}, less);
  if (it == runs_.begin()) return nullptr;
  --it;
  if (it->actor != id.actor || id.counter - it->ctr >= it->len) return nullptr;
  return it->first + (id.counter - it->ctr);
}

Elem* Document::Impl::FindElem(const OpId& id) const {
  if (Elem* e = elem_index.Find(id)) return e;
  return elem_runs.Find(id);
}

void Document::Impl::NewElemChunk() {
  elem_chunks.emplace_back(
      static_cast<Elem*>(::operator new(kElemChunk * sizeof(Elem))));
  elem_chunk_used = 0;
}

Block* Document::Impl::NewBlock(Obj& owner) {
  auto b = std::make_unique<Block>();
  b->owner = &owner;
  b->id = static_cast<uint32_t>(block_table.size());
  block_table.push_back(b.get());
  Block* p = b.get();
  b->index = owner.blocks.size();
  owner.blocks.push_back(std::move(b));
  return p;
}

OpExtra& Document::Impl::ExtraOf(Op& op) {
  if (!op.extra) {
    op.extra = static_cast<uint32_t>(extras.size());
    extras.emplace_back();
  }
  return extras[op.extra];
}

uint32_t Document::Impl::NewSuccList(size_t n) {
  size_t cap = 1;
  while (cap < n) cap *= 2;
  uint32_t at = static_cast<uint32_t>(succ_pool.size());
  succ_pool.resize(succ_pool.size() + 1 + cap);
  succ_pool[at] = OpId{0, static_cast<uint32_t>(cap)};
  return at;
}

void Document::Impl::AddSuccId(Op& op, OpId id) {
  if (!op.succ) {
    op.succ = static_cast<uint32_t>(succ_pool.size());
    succ_pool.push_back(id);
    op.flags |= kOpSucc1;
    return;
  }
  if (op.flags & kOpSucc1) {
    // A second succ: move the first into a list.
    OpId first = succ_pool[op.succ];
    uint32_t list = NewSuccList(2);
    succ_pool[list].counter = 1;
    succ_pool[list + 1] = first;
    op.succ = list;
    op.flags &= static_cast<uint8_t>(~kOpSucc1);
  }
  size_t n = static_cast<size_t>(succ_pool[op.succ].counter);
  size_t cap = succ_pool[op.succ].actor;
  if (n == cap) {
    // Full: move to a list of twice the room (O(1) amortised, garbage at
    // most the live size).
    uint32_t moved = NewSuccList(cap * 2);
    std::copy(succ_pool.begin() + op.succ + 1,
              succ_pool.begin() + op.succ + 1 + n,
              succ_pool.begin() + moved + 1);
    op.succ = moved;
  }
  OpId* v = succ_pool.data() + op.succ + 1;
  size_t pos = n;
  while (pos > 0 && Less(id, v[pos - 1])) {
    v[pos] = v[pos - 1];
    --pos;
  }
  v[pos] = id;
  succ_pool[op.succ].counter = n + 1;
}

std::string_view Document::Impl::StrOf(const Op& op) const {
  if (op.flags & kOpArena) {
    const char* p = str_arena.data() + op.payload;
    uint64_t len = 0;
    unsigned shift = 0;
    for (;;) {
      uint8_t b = static_cast<uint8_t>(*p++);
      len |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    return {p, static_cast<size_t>(len)};
  }
  return {reinterpret_cast<const char*>(&op.payload),
          static_cast<size_t>(op.flags >> 4)};
}

void Document::Impl::StoreBytes(Op& op, uint8_t tag, std::string_view b) {
  op.tag = tag;
  op.flags &= kOpInsert | kOpExpand | kOpSucc1;
  op.payload = 0;
  if (b.size() <= 8) {
    std::memcpy(&op.payload, b.data(), b.size());
    op.flags |= static_cast<uint8_t>(b.size() << 4);
    return;
  }
  op.flags |= kOpArena;
  op.payload = str_arena.size();
  uint64_t len = b.size();
  do {
    uint8_t byte = len & 0x7f;
    len >>= 7;
    if (len) byte |= 0x80;
    str_arena.push_back(static_cast<char>(byte));
  } while (len);
  str_arena.append(b);
}

void Document::Impl::StoreValue(Op& op, const ScalarValue& v) {
  op.flags &= kOpInsert | kOpExpand | kOpSucc1;
  op.payload = 0;
  switch (v.type) {
    case ScalarType::kNull:
      op.tag = 0;
      break;
    case ScalarType::kBool:
      op.tag = v.b ? 2 : 1;
      break;
    case ScalarType::kUint:
      op.tag = 3;
      op.payload = v.u;
      break;
    case ScalarType::kInt:
      op.tag = 4;
      op.payload = static_cast<uint64_t>(v.i);
      break;
    case ScalarType::kF64:
      op.tag = 5;
      std::memcpy(&op.payload, &v.f, 8);
      break;
    case ScalarType::kStr:
      StoreBytes(op, 6, v.s);
      break;
    case ScalarType::kBytes:
      StoreBytes(op, 7, v.s);
      break;
    case ScalarType::kCounter:
      op.tag = 8;
      op.payload = static_cast<uint64_t>(v.i);
      break;
    case ScalarType::kTimestamp:
      op.tag = 9;
      op.payload = static_cast<uint64_t>(v.i);
      break;
    case ScalarType::kUnknown:
      StoreBytes(op, v.unknown_tag, v.s);
      break;
  }
}

ScalarValue Document::Impl::ScalarOf(const Op& op) const {
  switch (op.tag) {
    case 0:
      return ScalarValue::Null();
    case 1:
    case 2:
      return ScalarValue::Bool(op.tag == 2);
    case 3:
      return ScalarValue::Uint(op.payload);
    case 4:
      return ScalarValue::Int(static_cast<int64_t>(op.payload));
    case 5: {
      double f;
      std::memcpy(&f, &op.payload, 8);
      return ScalarValue::F64(f);
    }
    case 6:
      return ScalarValue::Str(std::string(StrOf(op)));
    case 7:
      return ScalarValue::BytesValue(std::string(StrOf(op)));
    case 8:
      return ScalarValue::Counter(static_cast<int64_t>(op.payload));
    case 9:
      return ScalarValue::Timestamp(static_cast<int64_t>(op.payload));
    default:
      return ScalarValue::Unknown(op.tag, std::string(StrOf(op)));
  }
}

uint64_t Document::Impl::EncodeOpValue(const Op& op, Bytes& raw) const {
  size_t before = raw.size();
  switch (op.tag) {
    case 0:
    case 1:
    case 2:
      break;
    case 3:
      AppendUleb(raw, op.payload);
      break;
    case 4:
    case 8:
    case 9:
      AppendSleb(raw, static_cast<int64_t>(op.payload));
      break;
    case 5:
      for (int i = 0; i < 8; ++i) raw.push_back(uint8_t(op.payload >> (8 * i)));
      break;
    default: {
      std::string_view s = StrOf(op);
      raw.insert(raw.end(), s.begin(), s.end());
      break;
    }
  }
  return (uint64_t(raw.size() - before) << 4) | op.tag;
}

void Document::Impl::SetWidth(Elem& e, uint64_t w) {
  if (w < 255) {
    e.width = static_cast<uint8_t>(w);
  } else {
    e.width = 255;
    ExtraOf(e).width = w;
  }
}

Document::Impl::Impl(ActorId actor) {
  local_actor = InternActor(actor);
  auto root = std::make_unique<Obj>();
  root->type = ObjType::kMap;
  objects.emplace(kRoot, std::move(root));
  extras.emplace_back();
  succ_pool.emplace_back();
}

uint32_t Document::Impl::InternActor(const ActorId& a) {
  std::string key(a.begin(), a.end());
  auto it = actor_index.find(key);
  if (it != actor_index.end()) return it->second;
  uint32_t idx = static_cast<uint32_t>(actors.size());
  actors.push_back(a);
  actor_index.emplace(std::move(key), idx);
  clock.push_back(0);
  actor_changes.emplace_back();
  // Recompute ranks (actors are few; this is rare).
  std::vector<uint32_t> order(actors.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t x, uint32_t y) { return actors[x] < actors[y]; });
  actor_rank.assign(actors.size(), 0);
  for (uint32_t r = 0; r < order.size(); ++r) actor_rank[order[r]] = r;
  return idx;
}

uint32_t Document::Impl::InternMark(const std::string& name) {
  auto it = mark_index.find(name);
  if (it != mark_index.end()) return it->second;
  mark_names.push_back(name);
  uint32_t v = static_cast<uint32_t>(mark_names.size());
  mark_index.emplace(name, v);
  return v;
}

const Op* Document::Impl::Winner(const Elem& e) const {
  if (e.extra) {
    const auto& more = extras[e.extra].more;
    for (auto it = more.rbegin(); it != more.rend(); ++it)
      if (Visible(*it)) return &*it;
  }
  if (Visible(e)) return &e;
  return nullptr;
}

uint64_t Document::Impl::WidthOf(const Obj& obj, const Elem& e) const {
  const Op* w = Winner(e);
  if (!w) return 0;
  if (obj.type == ObjType::kText && !w->IsMake() && w->tag == 6)
    return Utf16Length(StrOf(*w));
  return 1;
}

void Document::Impl::AdjustWidth(Obj& obj, Block* b, int64_t delta) {
  if (delta == 0) return;
  b->width += delta;
  obj.width += delta;
  if (b->index < obj.cursor_block) obj.cursor_pos += delta;
}

void Document::Impl::Rewidth(Obj& obj, Elem& e) {
  uint64_t w = WidthOf(obj, e);
  uint64_t old = ElemWidth(e);
  if (w != old) {
    int64_t d = static_cast<int64_t>(w - old);
    SetWidth(e, w);
    AdjustWidth(obj, BlockOf(e), d);
  }
}

void Document::Impl::ResetCursor(Obj& obj) {
  obj.cursor_block = 0;
  obj.cursor_pos = 0;
}

size_t Document::Impl::ElemPos(const Elem& e) const {
  const auto& v = BlockOf(e)->elems;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == &e) return i;
  return v.size();  // unreachable for a placed element
}

void Document::Impl::SplitBlock(Obj& obj, Block* b) {
  auto nb = std::make_unique<Block>();
  nb->owner = &obj;
  nb->id = static_cast<uint32_t>(block_table.size());
  block_table.push_back(nb.get());
  size_t half = b->elems.size() / 2;
  nb->elems.reserve(kMaxBlock + 1);
  nb->elems.assign(b->elems.begin() + half, b->elems.end());
  b->elems.resize(half);
  uint64_t w = 0;
  for (Elem* e : nb->elems) {
    e->block = nb->id;
    w += ElemWidth(*e);
  }
  nb->width = w;
  b->width -= w;
  size_t at = b->index + 1;
  obj.blocks.insert(obj.blocks.begin() + at, std::move(nb));
  for (size_t i = at; i < obj.blocks.size(); ++i) obj.blocks[i]->index = i;
  if (obj.cursor_block > b->index) ++obj.cursor_block;
}

void Document::Impl::PlaceElem(Obj& obj, Block* b, size_t pos, Elem* e) {
  b->elems.insert(b->elems.begin() + pos, e);
  e->block = b->id;
  ++obj.num_elems;
  AdjustWidth(obj, b, static_cast<int64_t>(ElemWidth(*e)));
  if (b->elems.size() > kMaxBlock) SplitBlock(obj, b);
}

Elem* Document::Impl::ElemAtIndex(Obj& obj, uint64_t index, uint64_t* start) {
  if (index >= obj.width || obj.blocks.empty()) return nullptr;
  size_t n = obj.blocks.size();
  size_t bi = obj.cursor_block;
  uint64_t pos = obj.cursor_pos;
  if (bi >= n) {
    bi = 0;
    pos = 0;
  }
  while (index < pos) {
    --bi;
    pos -= obj.blocks[bi]->width;
  }
  while (bi < n && pos + obj.blocks[bi]->width <= index) {
    pos += obj.blocks[bi]->width;
    ++bi;
  }
  if (bi >= n) return nullptr;
  obj.cursor_block = bi;
  obj.cursor_pos = pos;
  for (Elem* e : obj.blocks[bi]->elems) {
    if (e->width == 0) continue;
    uint64_t w = ElemWidth(*e);
    if (index < pos + w) {
      if (start) *start = pos;
      return e;
    }
    pos += w;
  }
  return nullptr;
}

Elem* Document::Impl::InsertRefAt(Obj& obj, uint64_t index) {
  if (index == 0) return nullptr;
  return ElemAtIndex(obj, index - 1, nullptr);
}

void Document::Impl::InsertElemRga(Obj& obj, Elem* e, Elem* ref_hint) {
  if (obj.blocks.empty()) NewBlock(obj);
  Block* b;
  size_t pos;
  if (e->ref_ctr == 0) {
    b = obj.blocks[0].get();
    pos = 0;
  } else {
    Elem* r = ref_hint && ref_hint->ctr == e->ref_ctr &&
                      ref_hint->actor == e->ref_actor
                  ? ref_hint
                  : FindElem(e->elem());
    b = BlockOf(*r);
    pos = ElemPos(*r) + 1;
  }
  const OpId id = e->id();
  for (;;) {
    if (pos == b->elems.size()) {
      if (b->index + 1 < obj.blocks.size()) {
        Block* nb = obj.blocks[b->index + 1].get();
        if (nb->elems.empty() || !Less(id, nb->elems[0]->id())) break;
        b = nb;
        pos = 0;
        continue;
      }
      break;
    }
    if (Less(id, b->elems[pos]->id()))
      ++pos;
    else
      break;
  }
  PlaceElem(obj, b, pos, e);
}

namespace {

void AddSucc(Document::Impl& impl, Op& target, const ChangeOp& op, OpId id) {
  impl.AddSuccId(target, id);
  if (op.action == Action::kInc && target.action == Action::kSet &&
      target.IsCounter()) {
    int64_t by = op.value.type == ScalarType::kUint
                     ? static_cast<int64_t>(op.value.u)
                     : op.value.i;
    OpExtra& x = impl.ExtraOf(target);
    ++x.inc_count;
    x.inc_sum = static_cast<int64_t>(static_cast<uint64_t>(x.inc_sum) +
                                     static_cast<uint64_t>(by));
  }
}

void FillOp(Document::Impl& impl, Op& op, const ChangeOp& cop, OpId id,
            uint32_t mark) {
  op.ctr = id.counter;
  op.actor = id.actor;
  if (!cop.key_is_str) {
    op.ref_ctr = cop.elem.counter;
    op.ref_actor = cop.elem.actor;
  }
  op.action = cop.action;
  op.flags = (cop.insert ? kOpInsert : 0) | (cop.expand ? kOpExpand : 0);
  impl.StoreValue(op, cop.value);
  if (mark) impl.ExtraOf(op).mark_name = mark;
}

}  // namespace

void InsertOpSorted(std::vector<Op>& v, Op&& op, const Document::Impl& impl) {
  if (v.empty() || impl.Less(v.back().id(), op.id())) {
    v.push_back(std::move(op));
    return;
  }
  auto it = std::lower_bound(
      v.begin(), v.end(), op.id(),
      [&](const Op& a, const OpId& b) { return impl.Less(a.id(), b); });
  v.insert(it, std::move(op));
}

void Document::Impl::ApplyOp(const ChangeOp& cop, OpId id, Elem* ref_hint) {
  if (id.counter > max_op) max_op = id.counter;
  Obj* obj = FindObj(cop.obj.counter == 0 ? kRoot : cop.obj);
  uint32_t mark = cop.mark_name ? InternMark(*cop.mark_name) : 0;
  if (!obj->IsSeq()) {
    auto it = obj->props.find(cop.key);
    if (it == obj->props.end())
      it = obj->props.emplace(cop.key, std::vector<Op>{}).first;
    auto& vec = it->second;
    for (const OpId& p : cop.pred)
      for (Op& o : vec)
        if (o.ctr == p.counter && o.actor == p.actor) {
          AddSucc(*this, o, cop, id);
          break;
        }
    if (cop.action != Action::kDel) {
      Op op;
      FillOp(*this, op, cop, id, mark);
      InsertOpSorted(vec, std::move(op), *this);
    }
  } else if (cop.insert) {
    Elem& e = *NewElem();
    FillOp(*this, e, cop, id, mark);
    SetWidth(e, WidthOf(*obj, e));
    InsertElemRga(*obj, &e, ref_hint);
    elem_index.Insert(&e);
    last_inserted = &e;
  } else {
    Elem* e = FindElem(cop.elem);
    for (const OpId& p : cop.pred) {
      if (e->ctr == p.counter && e->actor == p.actor) {
        AddSucc(*this, *e, cop, id);
        continue;
      }
      if (!e->extra) continue;
      // (AddSucc may add extras, but `more` buffers do not move.)
      Op* b = extras[e->extra].more.data();
      Op* end = b + extras[e->extra].more.size();
      for (Op* o = b; o != end; ++o)
        if (o->ctr == p.counter && o->actor == p.actor) {
          AddSucc(*this, *o, cop, id);
          break;
        }
    }
    if (cop.action != Action::kDel) {
      Op op;
      FillOp(*this, op, cop, id, mark);
      ExtraOf(*e);
      InsertOpSorted(extras[e->extra].more, std::move(op), *this);
    }
    Rewidth(*obj, *e);
  }
  if (cop.action == Action::kMakeMap || cop.action == Action::kMakeList ||
      cop.action == Action::kMakeText || cop.action == Action::kMakeTable) {
    auto child = std::make_unique<Obj>();
    child->id = id;
    child->type = TypeOfMake(cop.action);
    objects.emplace(id, std::move(child));
  }
}

Status Document::Impl::ValidateOps(const std::vector<ChangeOp>& ops,
                                   uint64_t start_op, uint32_t actor) {
  // Objects and elements created by earlier ops of this change.
  std::unordered_map<OpId, ObjType, OpIdHash> new_objs;
  std::unordered_map<OpId, OpId, OpIdHash> new_elems;  // elem -> obj
  for (size_t i = 0; i < ops.size(); ++i) {
    const ChangeOp& op = ops[i];
    OpId oid = op.obj.counter == 0 ? kRoot : op.obj;
    ObjType type;
    if (const Obj* o = FindObj(oid)) {
      type = o->type;
    } else {
      auto it = new_objs.find(oid);
      if (it == new_objs.end())
        return Err(ErrorCode::kInvalidArgument,
                   "op {} refers to unknown object", start_op + i);
      type = it->second;
    }
    bool seq = type == ObjType::kList || type == ObjType::kText;
    if (seq == op.key_is_str)
      return Err(ErrorCode::kInvalidArgument,
                 "op {}: key kind does not match {}", start_op + i,
                 ObjTypeName(type));
    if (seq) {
      if (op.elem.counter == 0) {
        if (!op.insert)
          return Err(ErrorCode::kInvalidArgument,
                     "op {}: non-insert op on the list head", start_op + i);
      } else {
        const Elem* e = FindElem(op.elem);
        bool ok = false;
        if (e) {
          ok = BlockOf(*e)->owner->id == oid;
        } else {
          auto it = new_elems.find(op.elem);
          ok = it != new_elems.end() && it->second == oid;
        }
        if (!ok)
          return Err(ErrorCode::kInvalidArgument,
                     "op {} refers to unknown element", start_op + i);
      }
    } else if (op.insert) {
      return Err(ErrorCode::kInvalidArgument, "op {}: insert into a map",
                 start_op + i);
    }
    if (op.action == Action::kInc && op.value.type != ScalarType::kInt &&
        op.value.type != ScalarType::kUint)
      return Err(ErrorCode::kInvalidArgument, "op {}: increment by a non-int",
                 start_op + i);
    if (op.action == Action::kMakeMap || op.action == Action::kMakeList ||
        op.action == Action::kMakeText || op.action == Action::kMakeTable)
      new_objs.emplace(OpId{start_op + i, actor}, TypeOfMake(op.action));
    if (op.insert) new_elems.emplace(OpId{start_op + i, actor}, oid);
  }
  return Ok();
}

// ---------------------------------------------------------------------------
// History

std::vector<uint32_t> Document::Impl::DepsOf(uint32_t index) const {
  const ChangeRecord& r = records[index];
  return std::vector<uint32_t>(dep_indexes.begin() + r.deps_off,
                               dep_indexes.begin() + r.deps_off + r.deps_count);
}

void Document::Impl::RecordChange(const Change& ch, ByteSpan chunk,
                                  uint32_t actor, uint64_t max_op_of_change) {
  ChangeRecord r;
  r.hash = ch.hash;
  r.bytes = arena.Add(chunk);
  r.actor = actor;
  r.seq = ch.seq;
  r.start_op = ch.start_op;
  r.num_ops = static_cast<uint32_t>(max_op_of_change + 1 - ch.start_op);
  r.deps_off = static_cast<uint32_t>(dep_indexes.size());
  r.time = ch.time;
  r.has_tail = !ch.message.empty() || !ch.extra.empty();
  uint32_t idx = static_cast<uint32_t>(records.size());
  for (const auto& d : ch.deps) {
    auto di = hash_index.Find(d, records);
    dep_indexes.push_back(*di);
    // A dep stops being a head.
    auto it = std::find(heads.begin(), heads.end(), *di);
    if (it != heads.end()) heads.erase(it);
  }
  r.deps_count = static_cast<uint32_t>(ch.deps.size());
  records.push_back(r);
  hash_index.Insert(r.hash, idx, records);
  heads.push_back(idx);
  if (clock[actor] < ch.seq) clock[actor] = ch.seq;
  actor_changes[actor].push_back(idx);
  if (r.max_op() > max_op) max_op = r.max_op();
}

Status Document::Impl::ApplyDecoded(Change&& ch) {
  // Map change actor numbers to document actors.
  std::vector<uint32_t> map;
  map.push_back(InternActor(ch.actor));
  for (const auto& a : ch.other_actors) map.push_back(InternActor(a));
  uint32_t actor = map[0];
  if (clock[actor] >= ch.seq)
    return Err(ErrorCode::kInvalidArgument, "duplicate seq {} for actor {}",
               ch.seq, HexEncode(ch.actor));
  if (ch.start_op + ch.ops.size() < ch.start_op)
    return Err(ErrorCode::kOverflow, "op counter overflow");
  if (ch.ops.size() >= (size_t{1} << 31))  // (ChangeRecord::num_ops)
    return Err(ErrorCode::kOverflow, "{} ops in one change", ch.ops.size());
  for (auto& op : ch.ops) {
    if (op.obj.counter != 0) op.obj.actor = map[op.obj.actor];
    if (!op.key_is_str && op.elem.counter != 0)
      op.elem.actor = map[op.elem.actor];
    for (auto& p : op.pred) p.actor = map[p.actor];
    // pred lists are sorted by the change's own actor order; resort by ours.
  }
  VUDO_TRY(ValidateOps(ch.ops, ch.start_op, actor));
  for (size_t i = 0; i < ch.ops.size(); ++i)
    ApplyOp(ch.ops[i], OpId{ch.start_op + i, actor});
  RecordChange(ch, ch.bytes, actor, ch.start_op + ch.ops.size() - 1);
  return Ok();
}

Status Document::Impl::ApplyOrQueue(Change&& ch) {
  if (hash_index.Find(ch.hash, records)) return Ok();
  for (const auto& d : ch.deps) {
    if (!hash_index.Find(d, records)) {
      for (const auto& q : queue)
        if (q.hash == ch.hash) return Ok();
      queue.push_back(std::move(ch));
      return Ok();
    }
  }
  VUDO_TRY(ApplyDecoded(std::move(ch)));
  ApplyQueued();
  return Ok();
}

void Document::Impl::ApplyQueued() {
  bool progress = true;
  while (progress && !queue.empty()) {
    progress = false;
    for (size_t i = 0; i < queue.size();) {
      Change& q = queue[i];
      if (hash_index.Find(q.hash, records)) {
        queue.erase(queue.begin() + i);
        continue;
      }
      bool ready = true;
      for (const auto& d : q.deps)
        if (!hash_index.Find(d, records)) {
          ready = false;
          break;
        }
      if (!ready) {
        ++i;
        continue;
      }
      Change c = std::move(q);
      queue.erase(queue.begin() + i);
      // A queued change that turns out invalid is dropped.
      (void)ApplyDecoded(std::move(c));
      progress = true;
    }
  }
}

// ---------------------------------------------------------------------------
// Transactions

void Document::Impl::BeginIfNeeded() {
  if (pending.empty()) pending_start = max_op + 1;
}

std::optional<ChangeHash> Document::Impl::CommitPending(
    const CommitOptions& opts) {
  if (pending.empty()) return std::nullopt;
  // A deferred change graph must exist before a change is added to it. (If
  // it cannot be rebuilt the document is corrupt and the change gets no
  // deps.)
  (void)EnsureHistory();
  Change ch;
  for (uint32_t h : heads) ch.deps.push_back(records[h].hash);
  std::sort(ch.deps.begin(), ch.deps.end());
  ch.seq = clock[local_actor] + 1;
  ch.start_op = pending_start;
  ch.time = opts.time;
  ch.message = opts.message;
  const uint64_t n = pending.size();
  pending.Finish(ch, actors, local_actor);
  RecordChange(ch, ch.bytes, local_actor, ch.start_op + n - 1);
  return ch.hash;
}

// ---------------------------------------------------------------------------
// Reads

Value Document::Impl::ToValue(const Op& op) const {
  Value v;
  v.id = op.id();
  if (op.IsMake()) {
    v.is_object = true;
    v.obj = op.id();
    v.obj_type = TypeOfMake(op.action);
  } else {
    v.scalar = ScalarOf(op);
    if (op.IsCounter() && op.extra)
      v.scalar.i =
          static_cast<int64_t>(static_cast<uint64_t>(v.scalar.i) +
                               static_cast<uint64_t>(extras[op.extra].inc_sum));
  }
  return v;
}

void Document::Impl::CollectVisible(std::span<const Op> ops,
                                    std::vector<const Op*>& out) const {
  for (const Op& o : ops)
    if (Visible(o)) out.push_back(&o);
}

void Document::Impl::VisibleOps(const Elem& e,
                                std::vector<const Op*>& out) const {
  if (Visible(e)) out.push_back(&e);
  CollectVisible(More(e), out);
}

// ---------------------------------------------------------------------------
// Document

Document::Document(ActorId actor) : impl_(std::make_unique<Impl>(actor)) {}
Document::Document(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Document::~Document() = default;
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;

const ActorId& Document::actor() const {
  return impl_->actors[impl_->local_actor];
}

void Document::SetActor(ActorId actor) {
  Commit();
  impl_->local_actor = impl_->InternActor(actor);
}

// Local edit helpers ---------------------------------------------------------

namespace {

Result<Obj*> GetObj(Document::Impl& d, ObjId id) {
  Obj* o = d.FindObj(id.counter == 0 ? kRoot : id);
  if (!o)
    return Err(ErrorCode::kNotFound, "no object {}@{}", id.counter, id.actor);
  return o;
}

Result<Obj*> GetMap(Document::Impl& d, ObjId id) {
  VUDO_ASSIGN_OR_RETURN(Obj * o, GetObj(d, id));
  if (o->IsSeq())
    return Err(ErrorCode::kInvalidArgument, "object is a {}, not a map",
               ObjTypeName(o->type));
  return o;
}

Result<Obj*> GetSeq(Document::Impl& d, ObjId id) {
  VUDO_ASSIGN_OR_RETURN(Obj * o, GetObj(d, id));
  if (!o->IsSeq())
    return Err(ErrorCode::kInvalidArgument, "object is a {}, not a sequence",
               ObjTypeName(o->type));
  return o;
}

std::vector<const Op*> VisibleOps(const Document::Impl& d, const Elem& e) {
  std::vector<const Op*> out;
  d.VisibleOps(e, out);
  return out;
}

ChangeOp BaseOp(ObjId obj, Action action) {
  ChangeOp op;
  op.obj = obj.counter == 0 ? OpId{} : obj;
  op.action = action;
  return op;
}

// The current value of an op as a put would compare it.
ScalarValue CurrentScalar(const Document::Impl& d, const Op& o) {
  return d.ToValue(o).scalar;
}

}  // namespace

// Records a local op: applies it and appends it to the pending change.
static OpId Emit(Document::Impl& d, ChangeOp&& op, Elem* ref_hint = nullptr) {
  d.BeginIfNeeded();
  OpId id = d.NextId();
  d.ApplyOp(op, id, ref_hint);
  d.pending.Add(op);
  return id;
}

// Map put/delete/increment with automerge's resolve rules.
static Result<std::optional<OpId>> MapOp(Document::Impl& d, ObjId obj_id,
                                         std::string_view key, Action action,
                                         const ScalarValue& value) {
  VUDO_ASSIGN_OR_RETURN(Obj * obj, GetMap(d, obj_id));
  std::vector<const Op*> vis;
  auto it = obj->props.find(key);
  if (it != obj->props.end()) d.CollectVisible(it->second, vis);
  ChangeOp op = BaseOp(obj_id, action);
  op.key_is_str = true;
  op.key = std::string(key);
  op.value = value;
  if (action == Action::kDel && vis.empty()) return std::nullopt;
  if (action == Action::kSet && !vis.empty() &&
      vis.back()->action == Action::kSet &&
      CurrentScalar(d, *vis.back()) == value) {
    if (vis.size() == 1) return std::nullopt;
    vis.pop_back();
    op.action = Action::kDel;
    op.value = ScalarValue::Null();
  }
  if (action == Action::kInc) {
    bool any = false;
    for (const Op* o : vis) any |= o->IsCounter() && !o->IsMake();
    if (!any)
      return Err(ErrorCode::kInvalidArgument, "increment of a non-counter");
  }
  for (const Op* o : vis) op.pred.push_back(o->id());
  return Emit(d, std::move(op));
}

// Sequence put/delete/increment at a visible index.
static Result<std::optional<OpId>> SeqOp(Document::Impl& d, ObjId obj_id,
                                         size_t index, Action action,
                                         const ScalarValue& value) {
  VUDO_ASSIGN_OR_RETURN(Obj * obj, GetSeq(d, obj_id));
  Elem* e = d.ElemAtIndex(*obj, index, nullptr);
  if (!e)
    return Err(ErrorCode::kInvalidArgument, "index {} out of range (length {})",
               index, obj->width);
  std::vector<const Op*> vis = VisibleOps(d, *e);
  ChangeOp op = BaseOp(obj_id, action);
  op.elem = e->id();
  op.value = value;
  if (action == Action::kSet && !vis.empty() &&
      vis.back()->action == Action::kSet &&
      CurrentScalar(d, *vis.back()) == value) {
    if (vis.size() == 1) return std::nullopt;
    vis.pop_back();
    op.action = Action::kDel;
    op.value = ScalarValue::Null();
  }
  if (action == Action::kInc) {
    bool any = false;
    for (const Op* o : vis) any |= o->IsCounter() && !o->IsMake();
    if (!any)
      return Err(ErrorCode::kInvalidArgument, "increment of a non-counter");
  }
  for (const Op* o : vis) op.pred.push_back(o->id());
  return Emit(d, std::move(op));
}

// Inserts at a visible index; returns the new op id.
static Result<OpId> SeqInsert(Document::Impl& d, ObjId obj_id, size_t index,
                              Action action, const ScalarValue& value) {
  VUDO_ASSIGN_OR_RETURN(Obj * obj, GetSeq(d, obj_id));
  if (index > obj->width)
    return Err(ErrorCode::kInvalidArgument, "index {} out of range (length {})",
               index, obj->width);
  Elem* ref = d.InsertRefAt(*obj, index);
  ChangeOp op = BaseOp(obj_id, action);
  op.insert = true;
  op.elem = ref ? ref->id() : OpId{};
  op.value = value;
  return Emit(d, std::move(op), ref);
}

static Status CheckValue(const ScalarValue& v) {
  if (v.type == ScalarType::kStr && !col::IsValidUtf8(v.s))
    return Err(ErrorCode::kInvalidArgument, "string value is not UTF-8");
  if (v.type == ScalarType::kUnknown &&
      (v.unknown_tag < 10 || v.unknown_tag > 15))
    return Err(ErrorCode::kInvalidArgument, "unknown value tag {}",
               v.unknown_tag);
  return Ok();
}

Status Document::Put(ObjId obj, std::string_view key,
                     const ScalarValue& value) {
  VUDO_TRY(CheckValue(value));
  if (!col::IsValidUtf8(key))
    return Err(ErrorCode::kInvalidArgument, "key is not UTF-8");
  VUDO_TRY(MapOp(*impl_, obj, key, Action::kSet, value));
  return Ok();
}

Status Document::Put(ObjId obj, size_t index, const ScalarValue& value) {
  VUDO_TRY(CheckValue(value));
  VUDO_TRY(SeqOp(*impl_, obj, index, Action::kSet, value));
  return Ok();
}

Result<ObjId> Document::PutObject(ObjId obj, std::string_view key,
                                  ObjType type) {
  if (!col::IsValidUtf8(key))
    return Err(ErrorCode::kInvalidArgument, "key is not UTF-8");
  VUDO_ASSIGN_OR_RETURN(auto id, MapOp(*impl_, obj, key, MakeAction(type), {}));
  return *id;
}

Result<ObjId> Document::PutObject(ObjId obj, size_t index, ObjType type) {
  VUDO_ASSIGN_OR_RETURN(auto id,
                        SeqOp(*impl_, obj, index, MakeAction(type), {}));
  return *id;
}

Status Document::Insert(ObjId obj, size_t index, const ScalarValue& value) {
  VUDO_TRY(CheckValue(value));
  VUDO_TRY(SeqInsert(*impl_, obj, index, Action::kSet, value));
  return Ok();
}

Result<ObjId> Document::InsertObject(ObjId obj, size_t index, ObjType type) {
  return SeqInsert(*impl_, obj, index, MakeAction(type), {});
}

Status Document::Delete(ObjId obj, std::string_view key) {
  VUDO_TRY(MapOp(*impl_, obj, key, Action::kDel, {}));
  return Ok();
}

Status Document::Delete(ObjId obj, size_t index) {
  VUDO_ASSIGN_OR_RETURN(Obj * o, GetSeq(*impl_, obj));
  if (o->type == ObjType::kText) return SpliceText(obj, index, 1, "");
  VUDO_TRY(SeqOp(*impl_, obj, index, Action::kDel, {}));
  return Ok();
}

Status Document::Increment(ObjId obj, std::string_view key, int64_t by) {
  VUDO_TRY(MapOp(*impl_, obj, key, Action::kInc, ScalarValue::Int(by)));
  return Ok();
}

Status Document::Increment(ObjId obj, size_t index, int64_t by) {
  VUDO_TRY(SeqOp(*impl_, obj, index, Action::kInc, ScalarValue::Int(by)));
  return Ok();
}

Status Document::SpliceText(ObjId obj_id, size_t index, size_t del,
                            std::string_view text) {
  Impl& d = *impl_;
  VUDO_ASSIGN_OR_RETURN(Obj * obj, GetSeq(d, obj_id));
  if (!col::IsValidUtf8(text))
    return Err(ErrorCode::kInvalidArgument, "text is not UTF-8");
  if (index > obj->width)
    return Err(ErrorCode::kInvalidArgument, "index {} out of range (length {})",
               index, obj->width);
  size_t inserted = 0;
  if (!text.empty()) {
    Elem* ref = d.InsertRefAt(*obj, index);
    for (std::string_view cp : CodePoints(text)) {
      ChangeOp op = BaseOp(obj_id, Action::kSet);
      op.insert = true;
      op.elem = ref ? ref->id() : OpId{};
      op.value = ScalarValue::Str(std::string(cp));
      Emit(d, std::move(op), ref);
      ref = d.last_inserted;
      inserted += obj->type == ObjType::kText ? Utf16Length(cp) : 1;
    }
  }
  uint64_t at = index + inserted;
  size_t deleted = 0;
  while (deleted < del) {
    uint64_t start = 0;
    Elem* e = d.ElemAtIndex(*obj, at, &start);
    if (!e) break;
    if (start < at) {  // inside a multi-unit character: skip it
      at = start + d.ElemWidth(*e);
      continue;
    }
    deleted += d.ElemWidth(*e);
    ChangeOp op = BaseOp(obj_id, Action::kDel);
    op.elem = e->id();
    for (const Op* o : VisibleOps(d, *e)) op.pred.push_back(o->id());
    Emit(d, std::move(op));
  }
  return Ok();
}

size_t Document::PendingOps() const { return impl_->pending.size(); }

std::optional<ChangeHash> Document::Commit(const CommitOptions& options) {
  return impl_->CommitPending(options);
}

namespace {

// Rebuilds a document from the committed changes of `src` (as of
// `upto` records), keeping its actor and queue.
std::unique_ptr<Document::Impl> Replay(const Document::Impl& src,
                                       const std::vector<bool>* keep,
                                       const ActorId& actor) {
  // Same actor numbering as src, so object ids stay valid in the copy.
  auto out = std::make_unique<Document::Impl>(src.actors[0]);
  for (const auto& a : src.actors) out->InternActor(a);
  out->local_actor = out->InternActor(actor);
  for (size_t i = 0; i < src.records.size(); ++i) {
    if (keep && !(*keep)[i]) continue;
    const ChangeRecord& r = src.records[i];
    auto full = DecodeChange(r.chunk());
    if (full) (void)out->ApplyDecoded(std::move(*full));
  }
  return out;
}

}  // namespace

void Document::Rollback() {
  (void)impl_->EnsureHistory();
  if (impl_->pending.empty()) return;
  auto fresh = Replay(*impl_, nullptr, actor());
  fresh->queue = std::move(impl_->queue);
  impl_ = std::move(fresh);
}

// Reads ----------------------------------------------------------------------

std::optional<ObjType> Document::ObjectType(ObjId obj) const {
  const Obj* o = impl_->FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o) return std::nullopt;
  return o->type;
}

std::optional<Value> Document::Get(ObjId obj, std::string_view key) const {
  auto all = GetAll(obj, key);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::optional<Value> Document::Get(ObjId obj, size_t index) const {
  auto all = GetAll(obj, index);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::vector<Value> Document::GetAll(ObjId obj, std::string_view key) const {
  std::vector<Value> out;
  const Obj* o = impl_->FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o || o->IsSeq()) return out;
  auto it = o->props.find(key);
  if (it == o->props.end()) return out;
  for (const Op& op : it->second)
    if (impl_->Visible(op)) out.push_back(impl_->ToValue(op));
  return out;
}

std::vector<Value> Document::GetAll(ObjId obj, size_t index) const {
  std::vector<Value> out;
  Obj* o = impl_->FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o || !o->IsSeq()) return out;
  Elem* e = impl_->ElemAtIndex(*o, index, nullptr);
  if (!e) return out;
  for (const Op* op : VisibleOps(*impl_, *e))
    out.push_back(impl_->ToValue(*op));
  return out;
}

std::vector<std::string> Document::Keys(ObjId obj) const {
  std::vector<std::string> out;
  const Obj* o = impl_->FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o || o->IsSeq()) return out;
  for (const auto& [k, ops] : o->props)
    for (const Op& op : ops)
      if (impl_->Visible(op)) {
        out.push_back(k);
        break;
      }
  return out;
}

size_t Document::Length(ObjId obj) const {
  const Obj* o = impl_->FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o) return 0;
  if (o->IsSeq()) return o->width;
  return Keys(obj).size();
}

std::string Document::Text(ObjId obj) const {
  std::string out;
  const Obj* o = impl_->FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o || !o->IsSeq()) return out;
  for (const auto& b : o->blocks)
    for (const Elem* e : b->elems) {
      if (!e->width) continue;
      const Op* w = impl_->Winner(*e);
      if (w->tag == 6 && !w->IsMake())
        out += impl_->StrOf(*w);
      else
        out += "\xef\xbf\xbc";  // U+FFFC for non-text content
    }
  return out;
}

namespace {

nlohmann::json ScalarJson(const ScalarValue& v) {
  switch (v.type) {
    case ScalarType::kNull:
      return nullptr;
    case ScalarType::kBool:
      return v.b;
    case ScalarType::kUint:
      return v.u;
    case ScalarType::kInt:
    case ScalarType::kCounter:
    case ScalarType::kTimestamp:
      return v.i;
    case ScalarType::kF64:
      return v.f;
    case ScalarType::kStr:
      return v.s;
    case ScalarType::kBytes:
    case ScalarType::kUnknown:
      return HexEncode(AsBytes(v.s));
  }
  return nullptr;
}

}  // namespace

namespace {

// Deeper nesting than this is materialized as null (hostile documents can
// nest objects arbitrarily deep; recursion must stay bounded).
constexpr int kMaxJsonDepth = 1000;

nlohmann::json JsonOf(const Document& doc, const Document::Impl& impl,
                      ObjId obj, int depth) {
  const Obj* o = impl.FindObj(obj.counter == 0 ? kRoot : obj);
  if (!o || depth > kMaxJsonDepth) return nullptr;
  auto value_json = [&](const Op& op) -> nlohmann::json {
    Value v = impl.ToValue(op);
    if (v.is_object) return JsonOf(doc, impl, v.obj, depth + 1);
    return ScalarJson(v.scalar);
  };
  if (o->type == ObjType::kText) return doc.Text(obj);
  if (o->type == ObjType::kList) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& b : o->blocks)
      for (const Elem* e : b->elems)
        if (e->width) arr.push_back(value_json(*impl.Winner(*e)));
    return arr;
  }
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [k, ops] : o->props) {
    const Op* win = nullptr;
    for (const Op& op : ops)
      if (impl.Visible(op)) win = &op;
    if (win) m[k] = value_json(*win);
  }
  return m;
}

}  // namespace

nlohmann::json Document::ToJson(ObjId obj) const {
  return JsonOf(*this, *impl_, obj, 0);
}

std::string Document::ExportId(OpId id) const {
  if (id.counter == 0) return "_root";
  return std::to_string(id.counter) + "@" + HexEncode(impl_->actors[id.actor]);
}

// History --------------------------------------------------------------------

std::vector<ChangeHash> Document::Heads() {
  Commit();
  if (impl_->history_lazy) return impl_->lazy_heads;
  std::vector<ChangeHash> out;
  for (uint32_t h : impl_->heads) out.push_back(impl_->records[h].hash);
  std::sort(out.begin(), out.end());
  return out;
}

size_t Document::NumChanges() {
  Commit();
  if (impl_->history_lazy) return impl_->lazy_count;
  return impl_->records.size();
}

bool Document::HasChange(const ChangeHash& hash) const {
  (void)impl_->EnsureHistory();
  return impl_->hash_index.Find(hash, impl_->records).has_value();
}

std::optional<size_t> Document::ChangeIndex(const ChangeHash& hash) const {
  (void)impl_->EnsureHistory();
  auto i = impl_->hash_index.Find(hash, impl_->records);
  if (!i) return std::nullopt;
  return *i;
}

const ChangeHash& Document::ChangeHashAt(size_t index) const {
  (void)impl_->EnsureHistory();
  return impl_->records[index].hash;
}

ByteSpan Document::ChangeBytesAt(size_t index) const {
  (void)impl_->EnsureHistory();
  return impl_->records[index].chunk();
}

std::vector<ChangeHash> Document::ChangeDepsAt(size_t index) const {
  (void)impl_->EnsureHistory();
  std::vector<ChangeHash> out;
  for (uint32_t d : impl_->DepsOf(static_cast<uint32_t>(index)))
    out.push_back(impl_->records[d].hash);
  std::sort(out.begin(), out.end());
  return out;
}

std::span<const uint32_t> Document::ChangeDepIndexesAt(size_t index) const {
  (void)impl_->EnsureHistory();
  const ChangeRecord& r = impl_->records[index];
  return std::span<const uint32_t>(impl_->dep_indexes.data() + r.deps_off,
                                   r.deps_count);
}

Document::ChangeMeta Document::ChangeMetaAt(size_t index) const {
  (void)impl_->EnsureHistory();
  const ChangeRecord& r = impl_->records[index];
  ChangeMeta m;
  m.actor = impl_->actors[r.actor];
  m.seq = r.seq;
  m.start_op = r.start_op;
  m.max_op = r.max_op();
  m.time = r.time;
  m.message = std::string(r.tail().message);
  return m;
}

Result<Change> Document::DecodeChangeAt(size_t index) const {
  return DecodeChange(ChangeBytesAt(index));
}

std::vector<size_t> Document::GetChangeIndexesSince(
    std::span<const ChangeHash> since) {
  (void)impl_->EnsureHistory();
  Commit();
  const size_t n = impl_->records.size();
  std::vector<bool> seen(n, false);
  std::vector<uint32_t> stack;
  for (const auto& h : since) {
    auto i = impl_->hash_index.Find(h, impl_->records);
    if (i && !seen[*i]) {
      seen[*i] = true;
      stack.push_back(*i);
    }
  }
  while (!stack.empty()) {
    uint32_t i = stack.back();
    stack.pop_back();
    for (uint32_t d : ChangeDepIndexesAt(i))
      if (!seen[d]) {
        seen[d] = true;
        stack.push_back(d);
      }
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < n; ++i)
    if (!seen[i]) out.push_back(i);
  return out;
}

std::vector<ByteSpan> Document::GetChangesSince(
    std::span<const ChangeHash> since) {
  std::vector<ByteSpan> out;
  for (size_t i : GetChangeIndexesSince(since)) out.push_back(ChangeBytesAt(i));
  return out;
}

std::vector<ChangeHash> Document::GetMissingDeps(
    std::span<const ChangeHash> heads) {
  (void)impl_->EnsureHistory();
  Commit();
  std::vector<ChangeHash> missing;
  auto known = [&](const ChangeHash& h) { return HasChange(h); };
  auto queued = [&](const ChangeHash& h) {
    for (const auto& q : impl_->queue)
      if (q.hash == h) return true;
    return false;
  };
  for (const auto& q : impl_->queue)
    for (const auto& d : q.deps)
      if (!known(d) && !queued(d)) missing.push_back(d);
  for (const auto& h : heads)
    if (!known(h) && !queued(h)) missing.push_back(h);
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  return missing;
}

Status Document::ApplyChanges(std::span<const ByteSpan> chunks) {
  VUDO_TRY(impl_->EnsureHistory());
  Commit();
  std::vector<Change> decoded;
  decoded.reserve(chunks.size());
  for (ByteSpan c : chunks) {
    VUDO_ASSIGN_OR_RETURN(Change ch, DecodeChange(c));
    decoded.push_back(std::move(ch));
  }
  Status first_error = Ok();
  for (auto& ch : decoded) {
    Status s = impl_->ApplyOrQueue(std::move(ch));
    if (!s && first_error) first_error = s;
  }
  return first_error;
}

Status Document::ApplyChanges(std::span<const Bytes> chunks) {
  std::vector<ByteSpan> spans(chunks.begin(), chunks.end());
  return ApplyChanges(std::span<const ByteSpan>(spans));
}

Status Document::LoadIncremental(ByteSpan data) {
  VUDO_TRY(impl_->EnsureHistory());
  Commit();
  return impl_->LoadAll(data, /*require_deps=*/false);
}

Status Document::Merge(Document& other) {
  VUDO_TRY(impl_->EnsureHistory());
  VUDO_TRY(other.impl_->EnsureHistory());
  Commit();
  other.Commit();
  auto changes = other.GetChangesSince(Heads());
  return ApplyChanges(std::span<const ByteSpan>(changes));
}

Document Document::Fork(ActorId actor) {
  (void)impl_->EnsureHistory();
  Commit();
  return Document(Replay(*impl_, nullptr, actor));
}

Result<Document> Document::ForkAt(std::span<const ChangeHash> heads,
                                  ActorId actor) {
  VUDO_TRY(impl_->EnsureHistory());
  Commit();
  const size_t n = impl_->records.size();
  std::vector<bool> keep(n, false);
  std::vector<uint32_t> stack;
  for (const auto& h : heads) {
    auto i = impl_->hash_index.Find(h, impl_->records);
    if (!i) return Err(ErrorCode::kNotFound, "unknown head {}", HashToHex(h));
    if (!keep[*i]) {
      keep[*i] = true;
      stack.push_back(*i);
    }
  }
  while (!stack.empty()) {
    uint32_t i = stack.back();
    stack.pop_back();
    for (uint32_t d : ChangeDepIndexesAt(i))
      if (!keep[d]) {
        keep[d] = true;
        stack.push_back(d);
      }
  }
  return Document(Replay(*impl_, &keep, actor));
}

size_t Document::NumQueued() const { return impl_->queue.size(); }

Status Document::EnsureHistory() { return impl_->EnsureHistory(); }

const Document::Impl& Document::internal() const { return *impl_; }

Result<Document> Document::Load(ByteSpan data, ActorId actor) {
  auto impl = std::make_unique<Impl>(std::move(actor));
  VUDO_TRY(impl->LoadAll(data, /*require_deps=*/true));
  impl->saved_upto = impl->records.size();
  return Document(std::move(impl));
}

Bytes Document::Save() {
  Commit();
  // Unchanged since it was loaded from one document chunk: that chunk.
  const size_t count =
      impl_->history_lazy ? impl_->lazy_count : impl_->records.size();
  if (!impl_->source_chunk.empty() && count == impl_->source_count &&
      impl_->pending.empty()) {
    impl_->saved_upto = impl_->records.size();
    return impl_->source_chunk;
  }
  impl_->source_chunk = Bytes();
  (void)impl_->EnsureHistory();
  Commit();
  impl_->saved_upto = impl_->records.size();
  return impl_->SaveDocument(true);
}

Bytes Document::SaveNoCompress() {
  (void)impl_->EnsureHistory();
  Commit();
  impl_->saved_upto = impl_->records.size();
  return impl_->SaveDocument(false);
}

Bytes Document::SaveIncremental() {
  (void)impl_->EnsureHistory();
  Commit();
  Bytes out;
  for (size_t i = impl_->saved_upto; i < impl_->records.size(); ++i)
    Append(out, ChangeBytesAt(i));
  impl_->saved_upto = impl_->records.size();
  return out;
}

}  // namespace vudo::automerge
