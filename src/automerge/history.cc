// Fast rebuild of a document chunk's change graph (see history.h).

#include "automerge/history.h"

#include <algorithm>
#ifdef VUDO_HISTORY_PROFILE
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#endif
#include <bit>
#include <cstring>
#include <memory>
#include <string_view>

#include "automerge/change.h"
#include "automerge/columnar.h"
#include "automerge/doc_columns.h"
#include "base/leb128.h"
#include "crypto/hash.h"

namespace vudo::automerge {

namespace {

using namespace col;

constexpr uint32_t kNone = UINT32_MAX;

using namespace doc_columns;

// ---------------------------------------------------------------------------
// Large arrays: the rebuild of a 260k-change document writes ~100 MB of
// fresh memory, and faulting it in 4 KiB pages was a fifth of its time. The
// big arrays ask for transparent huge pages before their first write
// (AdviseHugePages, doc_impl.h).

void AdviseHuge(const void* p, size_t bytes) { AdviseHugePages(p, bytes); }

template <typename V>
void HugeReserve(V& v, size_t n) {
  if (v.capacity() < n) {
    v.reserve(n);
    AdviseHuge(v.data(), n * sizeof(typename V::value_type));
  }
}

// v.resize(n) (value-initialised), with huge pages asked for first.
template <typename V>
void HugeResize(V& v, size_t n) {
  HugeReserve(v, n);
  v.resize(n);
}

// ---------------------------------------------------------------------------
// LEB128 with the strict rules of base/leb128 (the one-byte case inline).

inline bool GetUleb(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  if (p < end && *p < 0x80) {
    v = *p++;
    return true;
  }
  ByteReader r(ByteSpan(p, static_cast<size_t>(end - p)));
  auto x = ReadUleb(r);
  if (!x) return false;
  v = *x;
  p += r.position();
  return true;
}

inline bool GetSleb(const uint8_t*& p, const uint8_t* end, int64_t& v) {
  if (p < end && *p < 0x80) {
    v = static_cast<int64_t>(static_cast<uint64_t>(*p++) << 57) >> 57;
    return true;
  }
  ByteReader r(ByteSpan(p, static_cast<size_t>(end - p)));
  auto x = ReadSleb(r);
  if (!x) return false;
  v = *x;
  p += r.position();
  return true;
}

// ---------------------------------------------------------------------------
// Streaming column readers. A reader past the end of its column yields
// nulls (false), as a short column means "null from here on". Malformed data
// sets an error (reported by Finish) and yields nulls.

class ColumnError {
 public:
  void Fail(const char* column, const char* what) {
    if (!failed_) {
      failed_ = true;
      column_ = column;
      what_ = what;
    }
  }
  bool failed() const { return failed_; }
  Status Report() const {
    if (!failed_) return Ok();
    return Err(ErrorCode::kCorrupt, "document column {}: {}", column_, what_);
  }

 private:
  bool failed_ = false;
  const char* column_ = "";
  const char* what_ = "";
};

struct UlebRead {
  using T = uint64_t;
  static bool Read(const uint8_t*& p, const uint8_t* end, T& v) {
    return GetUleb(p, end, v);
  }
};
struct SlebRead {
  using T = int64_t;
  static bool Read(const uint8_t*& p, const uint8_t* end, T& v) {
    return GetSleb(p, end, v);
  }
};
struct StrRead {
  using T = std::string_view;
  static bool Read(const uint8_t*& p, const uint8_t* end, T& v) {
    uint64_t len;
    if (!GetUleb(p, end, len)) return false;
    if (len > static_cast<uint64_t>(end - p)) return false;
    v = std::string_view(reinterpret_cast<const char*>(p), len);
    p += len;
    return IsValidUtf8(v);
  }
};

template <typename R>
class RleReader {
 public:
  using T = typename R::T;
  RleReader(ByteSpan data, size_t max_items, const char* name, ColumnError* err)
      : p_(data.data()),
        end_(data.data() + data.size()),
        max_(max_items),
        name_(name),
        err_(err) {}

  // True and `v` set for a value; false for a null.
  [[gnu::always_inline]] bool Next(T& v) {
    if (left_ == 0 && !Refill()) return false;
    --left_;
    if (kind_ == kRun) {
      v = value_;
      return true;
    }
    if (kind_ == kNull) return false;
    if (!R::Read(p_, end_, v)) {
      Fail("bad literal value");
      return false;
    }
    return true;
  }
  // True if the column holds no further entries (value or null).
  bool Done() { return left_ == 0 && !Refill(); }
  // Errors unless the column holds no further values.
  void Finish() {
    if (left_ != 0 || Refill()) Fail("more values than entries");
  }

 private:
  enum Kind { kRun, kLit, kNull };
  [[gnu::noinline]] bool Refill() {
    while (left_ == 0) {
      if (p_ >= end_ || err_->failed()) return false;
      int64_t n;
      if (!GetSleb(p_, end_, n)) return Fail("bad run header");
      uint64_t count;
      if (n > 0) {
        kind_ = kRun;
        count = static_cast<uint64_t>(n);
        if (!R::Read(p_, end_, value_)) return Fail("bad run value");
      } else if (n < 0) {
        kind_ = kLit;
        count = static_cast<uint64_t>(-(n + 1)) + 1;
      } else {
        kind_ = kNull;
        if (!GetUleb(p_, end_, count)) return Fail("bad null run");
      }
      if (count > max_ - produced_) return Fail("run exceeds the item bound");
      produced_ += count;
      left_ = count;
    }
    return true;
  }
  bool Fail(const char* what) {
    err_->Fail(name_, what);
    left_ = 0;
    p_ = end_;
    return false;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  size_t max_;
  size_t produced_ = 0;
  uint64_t left_ = 0;
  Kind kind_ = kNull;
  T value_{};
  const char* name_;
  ColumnError* err_;
};

using UintReader = RleReader<UlebRead>;
using StrReader = RleReader<StrRead>;

class DeltaReader {
 public:
  DeltaReader(ByteSpan data, size_t max_items, const char* name,
              ColumnError* err)
      : rle_(data, max_items, name, err) {}
  [[gnu::always_inline]] bool Next(int64_t& v) {
    int64_t d;
    if (!rle_.Next(d)) return false;
    abs_ += static_cast<uint64_t>(d);
    v = static_cast<int64_t>(abs_);
    return true;
  }
  void Finish() { rle_.Finish(); }

 private:
  RleReader<SlebRead> rle_;
  uint64_t abs_ = 0;
};

class BoolReader {
 public:
  BoolReader(ByteSpan data, size_t max_items, const char* name,
             ColumnError* err)
      : p_(data.data()),
        end_(data.data() + data.size()),
        max_(max_items),
        name_(name),
        err_(err) {}
  [[gnu::always_inline]] bool Next() {
    while (left_ == 0) {
      if (p_ >= end_) return false;
      uint64_t n;
      if (!GetUleb(p_, end_, n) || n > max_ - produced_) {
        err_->Fail(name_, "bad boolean run");
        p_ = end_;
        return false;
      }
      produced_ += n;
      left_ = n;
      value_ = !value_;
    }
    --left_;
    return value_;
  }
  void Finish() {
    while (left_ == 0 && p_ < end_) {
      uint64_t n;
      if (!GetUleb(p_, end_, n)) {
        err_->Fail(name_, "bad boolean run");
        return;
      }
      left_ = n;
    }
    if (left_ != 0) err_->Fail(name_, "more values than entries");
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  size_t max_;
  size_t produced_ = 0;
  uint64_t left_ = 0;
  bool value_ = true;  // flipped before the first run (which is false)
  const char* name_;
  ColumnError* err_;
};

// True if `raw` is a valid payload for value metadata `meta` (the rules of
// col::DecodeValue).
bool ValidValue(uint64_t meta, const uint8_t* raw, size_t len) {
  switch (meta & 15) {
    case 0:
    case 1:
    case 2:
      return len == 0;
    case 3: {
      const uint8_t* p = raw;
      uint64_t v;
      return GetUleb(p, raw + len, v) && p == raw + len;
    }
    case 4:
    case 8:
    case 9: {
      const uint8_t* p = raw;
      int64_t v;
      return GetSleb(p, raw + len, v) && p == raw + len;
    }
    case 5:
      return len == 8;
    case 6:
      // (One ASCII character, a keystroke of typed text, without a call.)
      return (len == 1 && raw[0] < 0x80) ||
             IsValidUtf8(
                 std::string_view(reinterpret_cast<const char*>(raw), len));
    default:
      return true;
  }
}

// Values: metadata column + raw column; yields meta and the raw offset.
class ValueReader {
 public:
  ValueReader(ByteSpan meta, ByteSpan raw, size_t max_items, const char* name,
              ColumnError* err)
      : meta_(meta, max_items, name, err), raw_(raw), name_(name), err_(err) {}
  // Null metadata reads as 0 (a null value).
  [[gnu::always_inline]] void Next(uint64_t& meta, size_t& off) {
    uint64_t m;
    if (!meta_.Next(m)) m = 0;
    uint64_t len = m >> 4;
    if (len > raw_.size() - pos_) {
      err_->Fail(name_, "value overruns the raw column");
      m = 0;
      len = 0;
    } else if (!ValidValue(m, raw_.data() + pos_, len)) {
      err_->Fail(name_, "malformed value");
    }
    meta = m;
    off = pos_;
    pos_ += len;
  }
  void Finish() {
    meta_.Finish();
    if (pos_ != raw_.size()) err_->Fail(name_, "unused bytes in value column");
  }

 private:
  UintReader meta_;
  ByteSpan raw_;
  size_t pos_ = 0;
  const char* name_;
  ColumnError* err_;
};

// ---------------------------------------------------------------------------
// Output buffer and column writers (the state machines of col::RleEncoder
// and friends, reusable without allocating).

class Buf {
 public:
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  void Ensure(size_t n) {
    if (cap_ - size_ < n) Grow(n);
  }
  [[gnu::always_inline]] void Put(uint8_t b) {
    Ensure(1);
    p_[size_++] = b;
  }
  [[gnu::always_inline]] void PutUleb(uint64_t v) {
    if (v < 0x80 && size_ < cap_) {
      p_[size_++] = static_cast<uint8_t>(v);
      return;
    }
    if (v < (uint64_t{1} << 21) && cap_ - size_ >= 3) {
      // Counters, lengths and seqs of a large document: two or three bytes.
      while (v >= 0x80) {
        p_[size_++] = static_cast<uint8_t>(v) | 0x80;
        v >>= 7;
      }
      p_[size_++] = static_cast<uint8_t>(v);
      return;
    }
    PutUlebSlow(v);
  }
  [[gnu::always_inline]] void PutSleb(int64_t v) {
    if (v >= -64 && v < 64 && size_ < cap_) {
      p_[size_++] = static_cast<uint8_t>(v) & 0x7f;
      return;
    }
    if (v >= 0 && v < (int64_t{1} << 20) && cap_ - size_ >= 3) {
      // A positive counter of two or three bytes.
      while (v >= 64) {
        p_[size_++] = static_cast<uint8_t>(v) | 0x80;
        v >>= 7;
      }
      p_[size_++] = static_cast<uint8_t>(v);
      return;
    }
    PutSlebSlow(v);
  }
  [[gnu::noinline]] void PutUlebSlow(uint64_t v) {
    Ensure(10);
    while (v >= 0x80) {
      p_[size_++] = static_cast<uint8_t>(v) | 0x80;
      v >>= 7;
    }
    p_[size_++] = static_cast<uint8_t>(v);
  }
  [[gnu::noinline]] void PutSlebSlow(int64_t v) {
    Ensure(10);
    for (;;) {
      uint8_t b = static_cast<uint8_t>(v) & 0x7f;
      v >>= 7;
      bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
      p_[size_++] = done ? b : (b | 0x80);
      if (done) return;
    }
  }
  [[gnu::always_inline]] void PutBytes(const void* d, size_t n) {
    Ensure(n);
    if (n <= 8) {
      // Most column values are a byte or two: no memcpy call.
      const uint8_t* q = static_cast<const uint8_t*>(d);
      for (size_t i = 0; i < n; ++i) p_[size_ + i] = q[i];
    } else {
      std::memcpy(p_ + size_, d, n);
    }
    size_ += n;
  }
  void Resize(size_t n) {
    if (n > size_) Ensure(n - size_);
    size_ = n;
  }
  // Raw writing: room for n more bytes at the returned address; SetEnd(w)
  // then makes w the end of the data.
  uint8_t* Reserve(size_t n) {
    Ensure(n);
    return p_ + size_;
  }
  void SetEnd(uint8_t* w) { size_ = static_cast<size_t>(w - p_); }

 private:
  void Grow(size_t n) {
    size_t cap = std::max<size_t>({cap_ * 2, size_ + n, 256});
    auto nb = std::make_unique<uint8_t[]>(cap);
    if (size_) std::memcpy(nb.get(), p_, size_);
    buf_ = std::move(nb);
    p_ = buf_.get();
    cap_ = cap;
  }
  std::unique_ptr<uint8_t[]> buf_;
  uint8_t* p_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

struct UlebWrite {
  static void Write(Buf& out, uint64_t v) { out.PutUleb(v); }
};
struct SlebWrite {
  static void Write(Buf& out, int64_t v) { out.PutSleb(v); }
};
struct StrWrite {
  static void Write(Buf& out, std::string_view v) {
    out.PutUleb(v.size());
    out.PutBytes(v.data(), v.size());
  }
};

template <typename T, typename W>
class RleWriter {
 public:
  void Reset(Buf* out) {
    out_ = out;
    state_ = kEmpty;
    lit_.clear();
  }
  void Append(const T& v) {
    switch (state_) {
      case kEmpty:
        lone_ = v;
        state_ = kLone;
        break;
      case kLone:
        if (lone_ == v) {
          run_ = 2;
          state_ = kRun;
        } else {
          lit_.clear();
          lit_.push_back(lone_);
          lone_ = v;
          state_ = kLit;
        }
        break;
      case kRun:
        if (lone_ == v) {
          ++run_;
        } else {
          FlushRun();
          lone_ = v;
          state_ = kLone;
        }
        break;
      case kLit:
        if (lone_ == v) {
          FlushLit(false);
          run_ = 2;
          state_ = kRun;
        } else {
          lit_.push_back(lone_);
          lone_ = v;
        }
        break;
      case kInitNull:
      case kNull:
        FlushNulls();
        lone_ = v;
        state_ = kLone;
        break;
    }
  }
  void AppendNull() {
    switch (state_) {
      case kEmpty:
        nulls_ = 1;
        state_ = kInitNull;
        break;
      case kInitNull:
      case kNull:
        ++nulls_;
        break;
      case kLone:
        lit_.clear();
        FlushLit(true);
        nulls_ = 1;
        state_ = kNull;
        break;
      case kRun:
        FlushRun();
        nulls_ = 1;
        state_ = kNull;
        break;
      case kLit:
        FlushLit(true);
        nulls_ = 1;
        state_ = kNull;
        break;
    }
  }
  void Finish() {
    switch (state_) {
      case kEmpty:
      case kInitNull:
        break;
      case kNull:
        FlushNulls();
        break;
      case kLone:
        lit_.clear();
        FlushLit(true);
        break;
      case kRun:
        FlushRun();
        break;
      case kLit:
        FlushLit(true);
        break;
    }
    state_ = kEmpty;
  }

 private:
  enum State { kEmpty, kInitNull, kNull, kLone, kRun, kLit };
  void FlushRun() {
    out_->PutSleb(static_cast<int64_t>(run_));
    W::Write(*out_, lone_);
  }
  void FlushLit(bool with_last) {
    int64_t n = static_cast<int64_t>(lit_.size()) + (with_last ? 1 : 0);
    out_->PutSleb(-n);
    for (const auto& x : lit_) W::Write(*out_, x);
    if (with_last) W::Write(*out_, lone_);
    lit_.clear();
  }
  void FlushNulls() {
    out_->Put(0);
    out_->PutUleb(nulls_);
  }

  Buf* out_ = nullptr;
  State state_ = kEmpty;
  T lone_{};
  std::vector<T> lit_;
  uint64_t run_ = 0;
  uint64_t nulls_ = 0;
};

using UintWriter = RleWriter<uint64_t, UlebWrite>;
using StrWriter = RleWriter<std::string_view, StrWrite>;

class DeltaWriter {
 public:
  void Reset(Buf* out) {
    rle_.Reset(out);
    abs_ = 0;
  }
  void Append(int64_t v) {
    rle_.Append(static_cast<int64_t>(static_cast<uint64_t>(v) -
                                     static_cast<uint64_t>(abs_)));
    abs_ = v;
  }
  void AppendNull() { rle_.AppendNull(); }
  void Finish() { rle_.Finish(); }

 private:
  RleWriter<int64_t, SlebWrite> rle_;
  int64_t abs_ = 0;
};

class BoolWriter {
 public:
  void Reset(Buf* out) {
    out_ = out;
    last_ = false;
    count_ = 0;
  }
  void Append(bool v) {
    if (v == last_) {
      ++count_;
    } else {
      out_->PutUleb(count_);
      last_ = v;
      count_ = 1;
    }
  }
  void Finish() {
    if (count_ > 0) out_->PutUleb(count_);
    count_ = 0;
    last_ = false;
  }

 private:
  Buf* out_ = nullptr;
  bool last_ = false;
  uint64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Decoded chunk.

// One op of the document chunk (chunk actor indexes).
struct HOp {
  uint64_t id_ctr = 0;
  uint64_t obj_ctr = 0;   // 0: the root
  uint64_t elem_ctr = 0;  // key element (if key == kNone); 0: the head
  uint64_t val_meta = 0;
  uint32_t val_off = 0;  // into the raw value column
  uint32_t id_actor = 0;
  uint32_t obj_actor = 0;
  uint32_t elem_actor = 0;
  uint32_t key = kNone;   // index into keys, or kNone for an element key
  uint32_t mark = kNone;  // index into marks, or kNone
  uint8_t action = 0;
  bool insert = false;
  bool expand = false;
};

// The columns a change needs before encoding starts (the others are read
// while encoding, in the same order).
struct HChange {
  uint32_t actor = 0;
  uint64_t seq = 0;
  uint64_t max_op = 0;
};

// What a rebuilt change reports to its consumer.
struct BuiltChange {
  const HChange* change = nullptr;
  int64_t time = 0;
  uint32_t msg_len = 0;
  uint32_t extra_len = 0;
  ByteSpan chunk;  // type-1 chunk (valid until the next change)
  ChangeHash hash{};
  uint64_t start_op = 0;
  uint32_t msg_off = 0;            // message bytes within the chunk
  std::span<const uint32_t> deps;  // chunk change indexes, sorted by hash
};

// Sort entry: an op id (real op or the target of a succ entry).
struct Entry {
  uint64_t key;      // counter
  uint32_t payload;  // op index, or nops + succ index
  uint32_t pad;      // actor
};

// Stable LSD radix sort of `v` by bits [lo, lo + bits) of key(element).
template <typename T, typename KeyFn>
void RadixSort(std::vector<T>& v, int lo, int bits, KeyFn key) {
  constexpr int kDigit = 11;
  constexpr size_t kBuckets = size_t{1} << kDigit;
  if (v.empty()) return;
  std::vector<T> tmp;
  HugeResize(tmp, v.size());
  std::vector<uint32_t> count(kBuckets);
  for (int shift = lo; shift < lo + bits; shift += kDigit) {
    std::fill(count.begin(), count.end(), 0);
    for (const T& e : v) ++count[(key(e) >> shift) & (kBuckets - 1)];
    if (count[(key(v[0]) >> shift) & (kBuckets - 1)] == v.size())
      continue;  // every key has this digit
    uint32_t sum = 0;
    for (auto& c : count) {
      uint32_t x = c;
      c = sum;
      sum += x;
    }
    for (const T& e : v) tmp[count[(key(e) >> shift) & (kBuckets - 1)]++] = e;
    v.swap(tmp);
  }
}

class Builder {
 public:
  explicit Builder(ByteSpan body) : body_(body) {}

  // Rebuilds every change into `sink`, which provides
  //   uint8_t* Reserve(size_t n): room for the next chunk (n bytes), valid
  //     until Emit;
  //   Status Emit(size_t i, const BuiltChange& c): change i, its chunk in
  //     the room reserved (an error stops the rebuild);
  //   const ChangeHash& Hash(size_t i): the hash of an emitted change.
  template <typename Sink>
  Status Run(Sink& sink);

  const std::vector<Bytes>& actors() const { return actors_; }
  const std::vector<ChangeHash>& heads_in() const { return heads_in_; }
  size_t num_changes() const { return changes_.size(); }
  const std::vector<HChange>& changes() const { return changes_; }
  // The actor of each change (chunk actor indexes).
  const std::vector<uint32_t>& change_actors() const { return change_actor_; }
  // After Run: true if change i is a dep of another (not a head).
  bool is_dep(size_t i) const { return is_dep_[i]; }

 private:
  Status Parse();
  Status DecodeChanges(const Columns& cols);
  Status DecodeOps(const Columns& cols);
  Status GroupSlots();
  [[gnu::always_inline]] bool Group(size_t i, size_t j, uint64_t ctr,
                                    uint32_t actor);
  [[gnu::noinline]] void SortPreds(size_t b, size_t e);
  template <typename Sink>
  Status EncodeAll(Sink& sink);

  ByteSpan body_;
  size_t max_items_ = 0;
  std::vector<Bytes> actors_;
  std::vector<uint32_t> rank_;  // chunk actor -> rank by bytes
  std::vector<ChangeHash> heads_in_;
  std::optional<Columns> ccols_, ocols_;

  std::vector<HChange> changes_;
  std::vector<uint32_t> change_actor_;  // changes_[i].actor, compact
  std::vector<uint8_t> is_dep_;         // (bytes: no read-modify-write chains)
  std::vector<HOp> ops_;
  // Op ids, compact: actor << 32 | counter (low 32 bits), and the largest
  // counter (GroupSlots reads these rather than the 56-byte ops).
  std::vector<uint64_t> op_ids_;
  uint64_t max_id_ctr_ = 0;
  std::vector<std::string_view> keys_;
  std::vector<std::string_view> marks_;
  std::vector<uint64_t> succ_ctr_;
  std::vector<uint32_t> succ_actor_;
  std::vector<uint32_t> succ_owner_;  // op index of each succ entry
  ByteSpan raw_;                      // raw value column

  // Slots: op ids in (actor, counter) order. Each slot is a group of
  // sorted entries: the real op (if any) first, then the succ entries that
  // name it, by pred order.
  std::vector<uint32_t> order_;       // entry indexes by (actor, counter)
  std::vector<uint32_t> slot_begin_;  // into order_; slot_begin_[n] = end
  std::vector<uint64_t> slot_ctr_;    // the id of each slot
  std::vector<uint32_t> slot_actor_;
  std::vector<uint32_t> change_slot_;  // first slot of each change; +1 end
};

Status Builder::Parse() {
  VUDO_ASSIGN_OR_RETURN(DocumentHeader header, ParseDocumentHeader(body_));
  actors_ = std::move(header.actors);
  heads_in_ = std::move(header.heads);
  ccols_.emplace(std::move(header.changes));
  ocols_.emplace(std::move(header.ops));
  std::vector<uint32_t> order(actors_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t x, uint32_t y) { return actors_[x] < actors_[y]; });
  rank_.assign(actors_.size(), 0);
  for (uint32_t i = 0; i < order.size(); ++i) rank_[order[i]] = i;
  max_items_ = body_.size() * kOpsPerByte + kOpsSlack;
  return Ok();
}

Status Builder::DecodeChanges(const Columns& cols) {
  ColumnError err;
  const size_t nactors = actors_.size();
  // The actor column sets the number of changes.
  std::vector<uint32_t>& actor = change_actor_;
  actor.clear();
  {
    UintReader rd(cols.Get(kChActor), max_items_, "change actor", &err);
    uint64_t a = 0;
    while (!rd.Done()) {
      if (!rd.Next(a) || a >= nactors) {
        VUDO_TRY(err.Report());
        return Err(ErrorCode::kCorrupt, "change {}: bad actor index",
                   changes_.size() + actor.size());
      }
      actor.push_back(static_cast<uint32_t>(a));
    }
    VUDO_TRY(err.Report());
  }
  // Each change written once, whole (a big array is slow to touch twice).
  const size_t nch = actor.size();
  changes_.clear();
  HugeReserve(changes_, nch);
  DeltaReader seq(cols.Get(kChSeq), nch, "change seq", &err);
  DeltaReader maxop(cols.Get(kChMaxOp), nch, "change maxOp", &err);
  for (size_t i = 0; i < nch; ++i) {
    HChange& c = changes_.emplace_back();
    c.actor = actor[i];
    int64_t s = 0, m = 0;
    bool has_s = seq.Next(s), has_m = maxop.Next(m);
    if (!has_s || s <= 0 || !has_m || m < 0) {
      VUDO_TRY(err.Report());
      return Err(ErrorCode::kCorrupt, "change {}: bad seq/maxOp", i);
    }
    c.seq = static_cast<uint64_t>(s);
    c.max_op = static_cast<uint64_t>(m);
  }
  seq.Finish();
  maxop.Finish();
  return err.Report();
}

Status Builder::DecodeOps(const Columns& cols) {
  ColumnError err;
  const uint64_t nactors = actors_.size();
  // The action column sets the number of ops.
  std::vector<uint8_t> action;
  {
    UintReader rd(cols.Get(kAction), max_items_, "action", &err);
    uint64_t a = 0;
    while (!rd.Done()) {
      if (!rd.Next(a) || a > 7 || static_cast<Action>(a) == Action::kDel) {
        VUDO_TRY(err.Report());
        return Err(ErrorCode::kCorrupt, "op {}: bad action", action.size());
      }
      action.push_back(static_cast<uint8_t>(a));
    }
    VUDO_TRY(err.Report());
  }
  // Each op is built locally and written once, whole.
  const size_t nops = action.size();
  ops_.clear();
  HugeReserve(ops_, nops);
  op_ids_.clear();
  HugeReserve(op_ids_, nops);
  max_id_ctr_ = 0;
  UintReader oa(cols.Get(kObjActor), nops, "object actor", &err);
  UintReader oc(cols.Get(kObjCtr), nops, "object counter", &err);
  UintReader ka(cols.Get(kKeyActor), nops, "key actor", &err);
  DeltaReader kc(cols.Get(kKeyCtr), nops, "key counter", &err);
  StrReader ks(cols.Get(kKeyStr), nops, "key string", &err);
  UintReader ia(cols.Get(kIdActor), nops, "id actor", &err);
  DeltaReader ic(cols.Get(kIdCtr), nops, "id counter", &err);
  BoolReader ins(cols.Get(kInsert), nops, "insert", &err);
  raw_ = cols.Get(kValRaw);
  if (raw_.size() > UINT32_MAX)
    return Err(ErrorCode::kOverflow, "value column of {} bytes", raw_.size());
  ValueReader val(cols.Get(kValMeta), raw_, nops, "value", &err);
  UintReader sn(cols.Get(kSuccN), nops, "succ count", &err);
  BoolReader ex(cols.Get(kExpand), nops, "expand", &err);
  StrReader mk(cols.Get(kMarkName), nops, "mark name", &err);
  UintReader sa(cols.Get(kSuccActor), max_items_, "succ actor", &err);
  DeltaReader sc(cols.Get(kSuccCtr), max_items_, "succ counter", &err);
  uint64_t total_succ = 0;
  std::string_view last_key, last_mark;
  for (size_t i = 0; i < nops; ++i) {
    HOp op;
    op.action = action[i];
    int64_t id = 0;
    if (!ic.Next(id) || id <= 0)
      return Err(ErrorCode::kCorrupt, "op {}: bad id", i);
    op.id_ctr = static_cast<uint64_t>(id);
    uint64_t a = 0;
    if (!ia.Next(a) || a >= nactors)
      return Err(ErrorCode::kCorrupt, "op {}: bad id actor", i);
    op.id_actor = static_cast<uint32_t>(a);
    uint64_t octr = 0;
    bool has_oa = oa.Next(a);
    if (oc.Next(octr)) {
      if (!has_oa || a >= nactors)
        return Err(ErrorCode::kCorrupt, "op {}: bad object actor", i);
      if (octr == 0)
        return Err(ErrorCode::kCorrupt, "op {}: object counter 0", i);
      op.obj_ctr = octr;
      op.obj_actor = static_cast<uint32_t>(a);
    }
    std::string_view key;
    bool has_ka = ka.Next(a);
    int64_t kctr = 0;
    bool has_kc = kc.Next(kctr);
    if (ks.Next(key)) {
      if (keys_.empty() || key.data() != last_key.data() ||
          key.size() != last_key.size()) {
        keys_.push_back(key);
        last_key = key;
      }
      op.key = static_cast<uint32_t>(keys_.size() - 1);
    } else {
      if (!has_kc || kctr < 0)
        return Err(ErrorCode::kCorrupt, "op {}: no key", i);
      op.elem_ctr = static_cast<uint64_t>(kctr);
      if (op.elem_ctr != 0) {
        if (!has_ka || a >= nactors)
          return Err(ErrorCode::kCorrupt, "op {}: bad key actor", i);
        op.elem_actor = static_cast<uint32_t>(a);
      }
    }
    op.insert = ins.Next();
    size_t off = 0;
    val.Next(op.val_meta, off);
    op.val_off = static_cast<uint32_t>(off);
    uint64_t n = 0;
    if (!sn.Next(n)) n = 0;
    total_succ += n;
    if (total_succ > max_items_)
      return Err(ErrorCode::kOverflow, "too many succ entries");
    for (uint64_t k = 0; k < n; ++k) {
      int64_t c = 0;
      if (!sc.Next(c) || c <= 0) {
        VUDO_TRY(err.Report());
        return Err(ErrorCode::kCorrupt, "bad succ counter");
      }
      if (!sa.Next(a) || a >= nactors)
        return Err(ErrorCode::kCorrupt, "op {}: bad succ actor", i);
      succ_ctr_.push_back(static_cast<uint64_t>(c));
      succ_actor_.push_back(static_cast<uint32_t>(a));
      succ_owner_.push_back(static_cast<uint32_t>(i));
    }
    op.expand = ex.Next();
    std::string_view mark;
    if (mk.Next(mark)) {
      if (marks_.empty() || mark != last_mark) {
        marks_.push_back(mark);
        last_mark = mark;
      }
      op.mark = static_cast<uint32_t>(marks_.size() - 1);
    }
    if (err.failed()) return err.Report();
    ops_.push_back(op);
    op_ids_.push_back((uint64_t{op.id_actor} << 32) | (op.id_ctr & UINT32_MAX));
    max_id_ctr_ = std::max(max_id_ctr_, op.id_ctr);
  }
  oa.Finish();
  oc.Finish();
  ka.Finish();
  kc.Finish();
  ks.Finish();
  ia.Finish();
  ic.Finish();
  ins.Finish();
  val.Finish();
  sn.Finish();
  ex.Finish();
  mk.Finish();
  sa.Finish();
  sc.Finish();
  VUDO_TRY(err.Report());
  if (nops + total_succ >= (uint64_t{1} << 31))
    return Err(ErrorCode::kOverflow, "too many ops");
  return Ok();
}

// order_[i, j) share one id: the real op (if any) comes first (the sorts
// are stable and ops precede succ entries); a second one is a duplicate.
inline bool Builder::Group(size_t i, size_t j, uint64_t ctr, uint32_t actor) {
  slot_begin_.push_back(static_cast<uint32_t>(i));
  slot_ctr_.push_back(ctr);
  slot_actor_.push_back(actor);
  const size_t nops = ops_.size();
  size_t preds = i;
  if (order_[i] < nops) {
    preds = i + 1;
    if (preds < j && order_[preds] < nops) return false;
  }
  if (j - preds > 1) SortPreds(preds, j);
  return true;
}

// Sorts the succ entries order_[b, e) into pred order: (counter, actor
// bytes) of the ops they belong to.
void Builder::SortPreds(size_t b, size_t e) {
  const size_t nops = ops_.size();
  auto pred_less = [&](uint32_t x, uint32_t y) {
    const HOp& p = ops_[succ_owner_[x - nops]];
    const HOp& q = ops_[succ_owner_[y - nops]];
    if (p.id_ctr != q.id_ctr) return p.id_ctr < q.id_ctr;
    return rank_[p.id_actor] < rank_[q.id_actor];
  };
  for (size_t a = b + 1; a < e; ++a) {
    uint32_t x = order_[a];
    size_t k = a;
    while (k > b && pred_less(x, order_[k - 1])) {
      order_[k] = order_[k - 1];
      --k;
    }
    order_[k] = x;
  }
}

Status Builder::GroupSlots() {
  const size_t nops = ops_.size();
  const size_t nsucc = succ_ctr_.size();
  uint64_t max_ctr = std::max<uint64_t>(1, max_id_ctr_);
  for (uint64_t c : succ_ctr_) max_ctr = std::max(max_ctr, c);
  const int cbits = std::bit_width(max_ctr);
  const int abits = std::bit_width(
      static_cast<uint64_t>(std::max<size_t>(actors_.size(), 1)));
  const size_t n = nops + nsucc;
  HugeResize(order_, n);
  slot_begin_.clear();
  slot_ctr_.clear();
  slot_actor_.clear();
  HugeReserve(slot_begin_, nops + nsucc / 2 + 1);
  HugeReserve(slot_ctr_, nops + nsucc / 2 + 1);
  HugeReserve(slot_actor_, nops + nsucc / 2 + 1);
  if (cbits + abits <= 32) {
    // Id (actor, counter) in the high half, entry index in the low half.
    std::vector<uint64_t> v;
    HugeResize(v, n);
    // (Counters < 2^32 here: op_ids_ holds them whole.)
    for (size_t i = 0; i < nops; ++i) {
      const uint64_t id = op_ids_[i];
      v[i] = ((((id >> 32) << cbits) | (id & UINT32_MAX)) << 32) | i;
    }
    for (size_t k = 0; k < nsucc; ++k)
      v[nops + k] =
          (((uint64_t{succ_actor_[k]} << cbits) | succ_ctr_[k]) << 32) |
          (nops + k);
    const uint64_t range = uint64_t{std::max<size_t>(actors_.size(), 1)}
                           << cbits;
    if (range <= 4 * uint64_t{n} + 4096) {
      // Dense ids (the usual case): one counting pass over the whole id.
      std::vector<uint32_t> start;
      HugeResize(start, static_cast<size_t>(range) + 1);
      for (uint64_t x : v) ++start[(x >> 32) + 1];
      for (size_t i = 1; i <= range; ++i) start[i] += start[i - 1];
      std::vector<uint64_t> tmp;
      HugeResize(tmp, n);
      for (uint64_t x : v) tmp[start[x >> 32]++] = x;
      v.swap(tmp);
    } else {
      RadixSort(v, 32, cbits + abits, [](uint64_t e) { return e; });
    }
    for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(v[i]);
    const uint64_t mask = (uint64_t{1} << cbits) - 1;
    for (size_t i = 0; i < n;) {
      const uint64_t id = v[i] >> 32;
      size_t j = i + 1;
      while (j < n && (v[j] >> 32) == id) ++j;
      if (!Group(i, j, id & mask, static_cast<uint32_t>(id >> cbits)))
        return Err(ErrorCode::kCorrupt, "duplicate op id");
      i = j;
    }
  } else {
    // Large counters: sort (actor, counter, index) triples.
    std::vector<Entry> v(n);
    for (size_t i = 0; i < nops; ++i)
      v[i] = {ops_[i].id_ctr, static_cast<uint32_t>(i), ops_[i].id_actor};
    for (size_t k = 0; k < nsucc; ++k)
      v[nops + k] = {succ_ctr_[k], static_cast<uint32_t>(nops + k),
                     succ_actor_[k]};
    std::stable_sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) {
      if (a.pad != b.pad) return a.pad < b.pad;
      return a.key < b.key;
    });
    for (size_t i = 0; i < n; ++i) order_[i] = v[i].payload;
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && v[j].key == v[i].key && v[j].pad == v[i].pad) ++j;
      if (!Group(i, j, v[i].key, v[i].pad))
        return Err(ErrorCode::kCorrupt, "duplicate op id");
      i = j;
    }
  }
  const size_t nslots = slot_begin_.size();
  slot_begin_.push_back(static_cast<uint32_t>(n));

  // Changes per actor in seq order; each takes the actor's next slots with
  // counter <= its maxOp.
  const size_t nch = changes_.size();
  const size_t nactors = actors_.size();
  // (By runs of one actor: a counter bumped once a change would make each
  // bump wait for the last.)
  auto for_runs = [&](auto&& fn) {
    for (size_t i = 0; i < nch;) {
      const uint32_t a = change_actor_[i];
      size_t j = i + 1;
      while (j < nch && change_actor_[j] == a) ++j;
      fn(a, i, j);
      i = j;
    }
  };
  std::vector<uint32_t> per_actor(nactors + 1, 0);
  for_runs([&](uint32_t a, size_t i, size_t j) {
    per_actor[a + 1] += static_cast<uint32_t>(j - i);
  });
  for (size_t a = 0; a < nactors; ++a) per_actor[a + 1] += per_actor[a];
  std::vector<uint32_t> by_actor;
  HugeResize(by_actor, nch);
  {
    std::vector<uint32_t> fill(per_actor.begin(), per_actor.end() - 1);
    for_runs([&](uint32_t a, size_t i, size_t j) {
      uint32_t* out = by_actor.data() + fill[a];
      for (size_t k = i; k < j; ++k) *out++ = static_cast<uint32_t>(k);
      fill[a] += static_cast<uint32_t>(j - i);
    });
  }
  change_slot_.clear();
  HugeResize(change_slot_, 2 * nch);
  size_t k = 0;
  size_t assigned = 0;
  auto slot_actor = [&](size_t s) { return slot_actor_[s]; };
  auto slot_ctr = [&](size_t s) { return slot_ctr_[s]; };
  for (uint32_t a = 0; a < nactors; ++a) {
    auto first = by_actor.begin() + per_actor[a];
    auto last = by_actor.begin() + per_actor[a + 1];
    auto by_seq = [&](uint32_t x, uint32_t y) {
      return changes_[x].seq < changes_[y].seq;
    };
    if (!std::is_sorted(first, last, by_seq)) std::sort(first, last, by_seq);
    while (k < nslots && slot_actor(k) < a) ++k;
    for (auto it = first; it != last; ++it) {
      size_t begin = k;
      while (k < nslots && slot_actor(k) == a &&
             slot_ctr(k) <= changes_[*it].max_op)
        ++k;
      change_slot_[2 * *it] = static_cast<uint32_t>(begin);
      change_slot_[2 * *it + 1] = static_cast<uint32_t>(k);
      assigned += k - begin;
    }
    while (k < nslots && slot_actor(k) == a) ++k;
  }
  if (assigned != nslots)
    return Err(ErrorCode::kCorrupt, "{} ops belong to no change",
               nslots - assigned);
  return Ok();
}

// Raw writes into memory sized beforehand (see EncodeAll).
inline size_t UlebLen(uint64_t v) {
  return v < 0x80 ? 1 : (static_cast<size_t>(std::bit_width(v)) + 6) / 7;
}
inline size_t SlebLen(int64_t v) {
  // Magnitude bits plus a sign bit.
  const uint64_t m = static_cast<uint64_t>(v ^ (v >> 63));
  return (static_cast<size_t>(std::bit_width(m)) + 1 + 6) / 7;
}
[[gnu::always_inline]] inline uint8_t* PutUleb(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}
[[gnu::always_inline]] inline uint8_t* PutSleb(uint8_t* p, int64_t v) {
  for (;;) {
    uint8_t b = static_cast<uint8_t>(v) & 0x7f;
    v >>= 7;
    if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
      *p++ = b;
      return p;
    }
    *p++ = b | 0x80;
  }
}
[[gnu::always_inline]] inline uint8_t* PutRaw(uint8_t* p, const void* d,
                                              size_t n) {
  // Most pieces of a change are short (an actor id, a value, a column's
  // bytes): two overlapping fixed-size copies, inlined, rather than a
  // memcpy call.
  const uint8_t* q = static_cast<const uint8_t*>(d);
  if (n <= 32 && n >= 16) {
    std::memcpy(p, q, 16);
    std::memcpy(p + n - 16, q + n - 16, 16);
  } else if (n < 16 && n >= 8) {
    std::memcpy(p, q, 8);
    std::memcpy(p + n - 8, q + n - 8, 8);
  } else if (n < 8 && n >= 4) {
    std::memcpy(p, q, 4);
    std::memcpy(p + n - 4, q + n - 4, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; ++i) p[i] = q[i];
  } else {
    std::memcpy(p, q, n);
  }
  return p + n;
}

// Column order of a change chunk (spec order).
enum ChangeCol {
  kCObjActor,
  kCObjCtr,
  kCKeyActor,
  kCKeyCtr,
  kCKeyStr,
  kCInsert,
  kCAction,
  kCValMeta,
  kCValRaw,
  kCPredN,
  kCPredActor,
  kCPredCtr,
  kCExpand,
  kCMark,
  kNumChangeCols
};
constexpr uint32_t kChangeSpecs[kNumChangeCols] = {
    Spec(0, kActor),   Spec(0, kUintRle),   Spec(1, kActor),
    Spec(1, kDelta),   Spec(1, kStringRle), Spec(3, kBool),
    Spec(4, kUintRle), Spec(5, kValueMeta), Spec(5, kValueRaw),
    Spec(7, kGroup),   Spec(7, kActor),     Spec(7, kDelta),
    Spec(9, kBool),    Spec(10, kStringRle)};

// Collects the actors a change's ops name besides its author, once each
// (stamp[a] holds the last change that noted a). Forced inline, as
// OneOpWriter below.
struct ActorNote {
  uint32_t author;
  uint32_t change;
  uint32_t* stamp;
  std::vector<uint32_t>* others;
  [[gnu::always_inline]] void operator()(uint32_t a) {
    if (a == author || stamp[a] == change) return;
    stamp[a] = change;
    others->push_back(a);
  }
};

// Where a change's columns are, in its buffer.
struct ColLen {
  uint32_t col;
  uint32_t len;
};

// Writes the columns of a one-op change (one value or null each) into
// memory sized beforehand, noting each column's length. (Methods forced
// inline: GCC leaves lambdas in a function as large as EncodeAll as calls,
// which cost more than the writes.)
struct OneOpWriter {
  uint8_t* w;
  uint8_t* col_start;
  ColLen* lens;
  int nlens;
  [[gnu::always_inline]] void Close(int c) {
    lens[nlens++] = {static_cast<uint32_t>(c),
                     static_cast<uint32_t>(w - col_start)};
    col_start = w;
  }
  // A literal run of one uint.
  [[gnu::always_inline]] void Lit1u(int c, uint64_t v) {
    *w++ = 0x7f;
    w = PutUleb(w, v);
    Close(c);
  }
};

template <typename Sink>
Status Builder::EncodeAll(Sink& sink) {
  const size_t nops = ops_.size();
  const size_t nch = changes_.size();
  const size_t nactors = actors_.size();
  std::vector<uint64_t> clock(nactors, 0);
  std::vector<uint32_t> stamp(nactors, kNone);
  std::vector<uint32_t> remap(nactors, 0);
  std::vector<uint32_t> others;
  std::vector<uint32_t> deps_sorted;

  Buf cols[kNumChangeCols];
  Buf one;  // the columns of a one-op change
  UintWriter obj_actor, obj_ctr, key_actor, action, vmeta, pred_n, pred_actor;
  DeltaWriter key_ctr, pred_ctr;
  StrWriter key_str, mark;
  BoolWriter insert, expand;

  // The op a slot stands for: the real op, or for a delete the op of its
  // first pred (whose object and key it targets).
  auto slot_src = [&](size_t s, bool* is_delete) -> const HOp& {
    const uint32_t e = order_[slot_begin_[s]];
    if (e < nops) {
      *is_delete = false;
      return ops_[e];
    }
    *is_delete = true;
    return ops_[succ_owner_[e - nops]];
  };
  auto slot_ctr = [&](size_t s) { return slot_ctr_[s]; };
  auto preds_of = [&](size_t s) {
    uint32_t b = slot_begin_[s], e = slot_begin_[s + 1];
    if (order_[b] < nops) ++b;
    return std::pair<uint32_t, uint32_t>(b, e);
  };

  // The remaining change columns, read as the changes are encoded.
  const Columns& cc = *ccols_;
  ColumnError err;
  DeltaReader time(cc.Get(kChTime), nch, "change time", &err);
  StrReader msg(cc.Get(kChMessage), nch, "change message", &err);
  UintReader depn(cc.Get(kChDepsN), nch, "change deps count", &err);
  DeltaReader deps(cc.Get(kChDeps), max_items_, "change deps", &err);
  ValueReader extra(cc.Get(kChExtraMeta), cc.Get(kChExtraRaw), nch,
                    "change extra", &err);
  const ByteSpan extra_raw = cc.Get(kChExtraRaw);
  uint64_t total_deps = 0;
  is_dep_.assign(nch, 0);
  std::vector<uint8_t>& is_dep = is_dep_;

  for (size_t ci = 0; ci < nch; ++ci) {
    const HChange& dc = changes_[ci];
    int64_t t = 0;
    const int64_t time_v = time.Next(t) ? t : 0;
    std::string_view message;
    if (!msg.Next(message)) message = {};
    uint64_t nd = 0;
    if (!depn.Next(nd)) nd = 0;
    total_deps += nd;
    if (total_deps > max_items_)
      return Err(ErrorCode::kOverflow, "too many deps");
    deps_sorted.clear();
    for (uint64_t k = 0; k < nd; ++k) {
      int64_t d = 0;
      if (!deps.Next(d)) {
        VUDO_TRY(err.Report());
        return Err(ErrorCode::kCorrupt,
                   "change {}: the dep column holds fewer deps than counted",
                   ci);
      }
      if (d < 0 || static_cast<uint64_t>(d) >= ci)
        return Err(ErrorCode::kCorrupt, "change {}: bad dep index", ci);
      deps_sorted.push_back(static_cast<uint32_t>(d));
      is_dep[d] = 1;
    }
    uint64_t xmeta = 0;
    size_t xoff = 0;
    extra.Next(xmeta, xoff);
    const uint8_t* extra_p = nullptr;
    uint32_t extra_len = 0;
    if ((xmeta & 15) == 7 || (xmeta & 15) >= 10) {
      extra_p = extra_raw.data() + xoff;
      extra_len = static_cast<uint32_t>(xmeta >> 4);
    }
    if (err.failed()) return err.Report();
    const uint32_t b = change_slot_[2 * ci], e = change_slot_[2 * ci + 1];
    const uint64_t n = e - b;
    if (n > dc.max_op + 1)
      return Err(ErrorCode::kCorrupt, "change {}: more ops than maxOp", ci);
    const uint64_t start_op = dc.max_op + 1 - n;
    if (clock[dc.actor] >= dc.seq)
      return Err(ErrorCode::kCorrupt, "change {}: seq out of order", ci);
    clock[dc.actor] = dc.seq;

    // Actor table: the author, then the other actors the ops use, by bytes.
    others.clear();
    const uint32_t ci32 = static_cast<uint32_t>(ci);
    ActorNote note{dc.actor, ci32, stamp.data(), &others};
    for (size_t s = b; s < e; ++s) {
      if (slot_ctr(s) != start_op + (s - b))
        return Err(ErrorCode::kCorrupt, "change {}: op counters not contiguous",
                   ci);
      bool del;
      const HOp& src = slot_src(s, &del);
      if (src.obj_ctr) note(src.obj_actor);
      if (src.key == kNone) {
        if (del && src.insert)
          note(src.id_actor);
        else if (src.elem_ctr)
          note(src.elem_actor);
      }
      auto [pb, pe] = preds_of(s);
      for (uint32_t p = pb; p < pe; ++p)
        note(ops_[succ_owner_[order_[p] - nops]].id_actor);
    }
    std::sort(others.begin(), others.end(),
              [&](uint32_t x, uint32_t y) { return rank_[x] < rank_[y]; });
    remap[dc.actor] = 0;
    for (uint32_t i = 0; i < others.size(); ++i) remap[others[i]] = i + 1;

    // Columns.
    // One op with at most one pred (most changes of a text edited a
    // keystroke at a time): each column holds one value or one null,
    // written directly, in column order, into `one` (what the writers below
    // produce for one entry); `lens` holds the columns present.
    const bool single = n == 1 && [&] {
      auto [pb, pe] = preds_of(b);
      return pe - pb <= 1;
    }();
    ColLen lens[kNumChangeCols];
    int nlens = 0;
    if (single) {
      bool del;
      const HOp& src = slot_src(b, &del);
      const std::string_view key =
          src.key != kNone ? keys_[src.key] : std::string_view();
      const std::string_view mname =
          !del && src.mark != kNone ? marks_[src.mark] : std::string_view();
      const size_t vlen = del ? 0 : static_cast<size_t>(src.val_meta >> 4);
      // At most 11 bytes a column besides the key, value and mark bytes.
      one.clear();
      uint8_t* const base =
          one.Reserve(kNumChangeCols * 11 + key.size() + vlen + mname.size());
      OneOpWriter o{base, base, lens, 0};
      if (src.obj_ctr != 0) {
        o.Lit1u(kCObjActor, remap[src.obj_actor]);
        o.Lit1u(kCObjCtr, src.obj_ctr);
      }
      if (src.key != kNone) {
        *o.w++ = 0x7f;
        o.w = PutUleb(o.w, key.size());
        o.w = PutRaw(o.w, key.data(), key.size());
        o.Close(kCKeyStr);
      } else {
        uint64_t ectr = src.elem_ctr;
        uint32_t eactor = src.elem_actor;
        if (del && src.insert) {
          ectr = src.id_ctr;
          eactor = src.id_actor;
        }
        if (ectr != 0) o.Lit1u(kCKeyActor, remap[eactor]);
        *o.w++ = 0x7f;
        o.w = PutSleb(o.w, static_cast<int64_t>(ectr));
        o.Close(kCKeyCtr);
      }
      if (!del && src.insert) *o.w++ = 0;
      *o.w++ = 1;
      o.Close(kCInsert);
      if (del) {
        o.Lit1u(kCAction, static_cast<uint8_t>(Action::kDel));
        o.Lit1u(kCValMeta, 0);
      } else {
        o.Lit1u(kCAction, src.action);
        o.Lit1u(kCValMeta, src.val_meta);
        if (vlen) {
          o.w = PutRaw(o.w, raw_.data() + src.val_off, vlen);
          o.Close(kCValRaw);
        }
      }
      auto [pb, pe] = preds_of(b);
      o.Lit1u(kCPredN, pe - pb);
      if (pe > pb) {
        const HOp& pred = ops_[succ_owner_[order_[pb] - nops]];
        o.Lit1u(kCPredActor, remap[pred.id_actor]);
        *o.w++ = 0x7f;
        o.w = PutSleb(o.w, static_cast<int64_t>(pred.id_ctr));
        o.Close(kCPredCtr);
      }
      if (!del) {
        if (src.expand) {
          *o.w++ = 0;
          *o.w++ = 1;
          o.Close(kCExpand);
        }
        if (src.mark != kNone) {
          *o.w++ = 0x7f;
          o.w = PutUleb(o.w, mname.size());
          o.w = PutRaw(o.w, mname.data(), mname.size());
          o.Close(kCMark);
        }
      }
      nlens = o.nlens;
      one.SetEnd(o.w);
    } else {
      for (auto& c : cols) c.clear();
      obj_actor.Reset(&cols[kCObjActor]);
      obj_ctr.Reset(&cols[kCObjCtr]);
      key_actor.Reset(&cols[kCKeyActor]);
      key_ctr.Reset(&cols[kCKeyCtr]);
      key_str.Reset(&cols[kCKeyStr]);
      insert.Reset(&cols[kCInsert]);
      action.Reset(&cols[kCAction]);
      vmeta.Reset(&cols[kCValMeta]);
      pred_n.Reset(&cols[kCPredN]);
      pred_actor.Reset(&cols[kCPredActor]);
      pred_ctr.Reset(&cols[kCPredCtr]);
      expand.Reset(&cols[kCExpand]);
      mark.Reset(&cols[kCMark]);
      bool any_expand = false;
      for (size_t s = b; s < e; ++s) {
        bool del;
        const HOp& src = slot_src(s, &del);
        if (src.obj_ctr == 0) {
          obj_actor.AppendNull();
          obj_ctr.AppendNull();
        } else {
          obj_actor.Append(uint64_t{remap[src.obj_actor]});
          obj_ctr.Append(src.obj_ctr);
        }
        if (src.key != kNone) {
          key_actor.AppendNull();
          key_ctr.AppendNull();
          key_str.Append(keys_[src.key]);
        } else {
          uint64_t ectr = src.elem_ctr;
          uint32_t eactor = src.elem_actor;
          if (del && src.insert) {
            ectr = src.id_ctr;
            eactor = src.id_actor;
          }
          if (ectr == 0)
            key_actor.AppendNull();
          else
            key_actor.Append(uint64_t{remap[eactor]});
          key_ctr.Append(static_cast<int64_t>(ectr));
          key_str.AppendNull();
        }
        if (del) {
          insert.Append(false);
          action.Append(uint64_t{static_cast<uint8_t>(Action::kDel)});
          vmeta.Append(uint64_t{0});
          expand.Append(false);
          mark.AppendNull();
        } else {
          insert.Append(src.insert);
          action.Append(uint64_t{src.action});
          vmeta.Append(src.val_meta);
          cols[kCValRaw].PutBytes(raw_.data() + src.val_off, src.val_meta >> 4);
          expand.Append(src.expand);
          any_expand |= src.expand;
          if (src.mark != kNone)
            mark.Append(marks_[src.mark]);
          else
            mark.AppendNull();
        }
        auto [pb, pe] = preds_of(s);
        pred_n.Append(uint64_t{pe - pb});
        for (uint32_t p = pb; p < pe; ++p) {
          const HOp& pred = ops_[succ_owner_[order_[p] - nops]];
          pred_actor.Append(uint64_t{remap[pred.id_actor]});
          pred_ctr.Append(static_cast<int64_t>(pred.id_ctr));
        }
      }
      obj_actor.Finish();
      obj_ctr.Finish();
      key_actor.Finish();
      key_ctr.Finish();
      key_str.Finish();
      insert.Finish();
      action.Finish();
      vmeta.Finish();
      pred_n.Finish();
      pred_actor.Finish();
      pred_ctr.Finish();
      expand.Finish();
      mark.Finish();
      if (!any_expand) cols[kCExpand].clear();
    }

    // Body: deps, actor, seq, start op, time, message, other actors,
    // column metadata, column data, extra bytes. Its length is known
    // before it is written, so the chunk is written once, in place.
    if (deps_sorted.size() > 1)
      std::sort(
          deps_sorted.begin(), deps_sorted.end(),
          [&](uint32_t x, uint32_t y) { return sink.Hash(x) < sink.Hash(y); });
    uint8_t meta[10 + kNumChangeCols * 20];
    uint8_t* m = meta;
    size_t data_len = 0;
    if (single) {
      m = PutUleb(m, static_cast<uint64_t>(nlens));
      for (int i = 0; i < nlens; ++i) {
        m = PutUleb(m, kChangeSpecs[lens[i].col]);
        m = PutUleb(m, lens[i].len);
      }
      data_len = one.size();
    } else {
      size_t ncols = 0;
      for (const auto& c : cols) ncols += !c.empty();
      m = PutUleb(m, ncols);
      for (int c = 0; c < kNumChangeCols; ++c) {
        if (cols[c].empty()) continue;
        m = PutUleb(m, kChangeSpecs[c]);
        m = PutUleb(m, cols[c].size());
        data_len += cols[c].size();
      }
    }
    const Bytes& author = actors_[dc.actor];
    size_t others_len = UlebLen(others.size());
    for (uint32_t a : others)
      others_len += UlebLen(actors_[a].size()) + actors_[a].size();
    const uint64_t body_len =
        UlebLen(nd) + 32 * nd + UlebLen(author.size()) + author.size() +
        UlebLen(dc.seq) + UlebLen(start_op) + SlebLen(time_v) +
        UlebLen(message.size()) + message.size() + others_len +
        static_cast<size_t>(m - meta) + data_len + extra_len;
    const uint64_t chunk_len = 9 + UlebLen(body_len) + body_len;
    if (chunk_len > UINT32_MAX)
      return Err(ErrorCode::kOverflow, "change {} of {} bytes", ci, chunk_len);
    uint8_t* const p = sink.Reserve(chunk_len);
    uint8_t* w = p;
    std::memcpy(w, kMagic, 4);
    w += 8;  // checksum: below
    *w++ = static_cast<uint8_t>(ChunkType::kChange);
    w = PutUleb(w, body_len);
    w = PutUleb(w, nd);
    for (uint32_t d : deps_sorted) {
      std::memcpy(w, sink.Hash(d).data(), 32);
      w += 32;
    }
    w = PutUleb(w, author.size());
    w = PutRaw(w, author.data(), author.size());
    w = PutUleb(w, dc.seq);
    w = PutUleb(w, start_op);
    w = PutSleb(w, time_v);
    w = PutUleb(w, message.size());
    const size_t msg_pos = static_cast<size_t>(w - p);
    w = PutRaw(w, message.data(), message.size());
    w = PutUleb(w, others.size());
    for (uint32_t a : others) {
      w = PutUleb(w, actors_[a].size());
      w = PutRaw(w, actors_[a].data(), actors_[a].size());
    }
    w = PutRaw(w, meta, static_cast<size_t>(m - meta));
    if (single) {
      w = PutRaw(w, one.data(), one.size());
    } else {
      for (const auto& c : cols) w = PutRaw(w, c.data(), c.size());
    }
    w = PutRaw(w, extra_p, extra_len);
    if (static_cast<uint64_t>(w - p) != chunk_len)
      return Err(ErrorCode::kInternal, "change {}: chunk length", ci);

    // The hash of type || uleb(length) || body; its first 4 bytes are the
    // checksum.
    ChangeHash h = crypto::Sha256(ByteSpan(p + 8, chunk_len - 8));
    std::memcpy(p + 4, h.data(), 4);

    BuiltChange bc;
    bc.change = &dc;
    bc.time = time_v;
    bc.msg_len = static_cast<uint32_t>(message.size());
    bc.extra_len = extra_len;
    bc.chunk = ByteSpan(p, chunk_len);
    bc.hash = h;
    bc.start_op = start_op;
    bc.msg_off = static_cast<uint32_t>(msg_pos);
    bc.deps = deps_sorted;
    VUDO_TRY(sink.Emit(ci, bc));
  }

  time.Finish();
  msg.Finish();
  depn.Finish();
  deps.Finish();
  extra.Finish();
  VUDO_TRY(err.Report());

  // Heads: changes no other change depends on.
  std::vector<ChangeHash> derived;
  for (size_t i = 0; i < nch; ++i)
    if (!is_dep[i]) derived.push_back(sink.Hash(i));
  std::sort(derived.begin(), derived.end());
  std::vector<ChangeHash> expected = heads_in_;
  std::sort(expected.begin(), expected.end());
  if (derived != expected) return Err(ErrorCode::kCorrupt, "mismatching heads");
  return Ok();
}

#ifdef VUDO_HISTORY_PROFILE
inline double CpuNow() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
inline long MinorFaults() {
  rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}
inline double SysMs() {
  rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_stime.tv_sec * 1e3 + u.ru_stime.tv_usec / 1e3;
}
#define PHASE(name)                                                           \
  do {                                                                        \
    double now = CpuNow();                                                    \
    long f = MinorFaults();                                                   \
    double st = SysMs();                                                      \
    fprintf(stderr, "%s %.2f cpu ms (sys %.2f), %ld faults\n", name, now - t, \
            st - sys, f - faults);                                            \
    t = now;                                                                  \
    faults = f;                                                               \
    sys = st;                                                                 \
  } while (0)
#else
#define PHASE(name)
#endif

template <typename Sink>
Status Builder::Run(Sink& sink) {
#ifdef VUDO_HISTORY_PROFILE
  double t = CpuNow();
  long faults = MinorFaults();
  double sys = SysMs();
#endif
  VUDO_TRY(Parse());
  PHASE("parse");
  VUDO_TRY(DecodeChanges(*ccols_));
  PHASE("changes");
  VUDO_TRY(DecodeOps(*ocols_));
  PHASE("ops");
  VUDO_TRY(GroupSlots());
  PHASE("group");
  Status st = EncodeAll(sink);
  PHASE("encode");
  return st;
}

}  // namespace

Status RebuildHistory(Document::Impl& impl, ByteSpan body) {
  if (!impl.records.empty())
    return Err(ErrorCode::kInternal,
               "history rebuild into a non-empty history");
  Builder builder(body);
  // Chunks go straight into the document's arena (what a failed rebuild
  // leaves there is unreachable and freed with the document); records and
  // the hash index are built as the changes come.
  struct Sink {
    Document::Impl& impl;
    Builder& builder;
    std::vector<ChangeRecord> recs;
    std::vector<uint32_t> dep_indexes;
    std::vector<uint32_t> amap;
    std::optional<HashIndex::Bulk> index_entries;
    // Per doc actor: its changes in order, and its last seq.
    std::vector<std::vector<uint32_t>> lists;
    std::vector<uint64_t> clock;
    uint64_t max_op = 0;

    uint8_t* Reserve(size_t n) { return impl.arena.Reserve(n); }
    const ChangeHash& Hash(size_t i) const { return recs[i].hash; }
    // Before the first change: actors interned, arrays sized.
    [[gnu::noinline]] void Start() {
      for (const Bytes& a : builder.actors())
        amap.push_back(impl.InternActor(a));
      // Room for changes applied later (growing a vector of 260k
      // records would copy them all on the first new change).
      const size_t n = builder.num_changes();
      recs.reserve(n + n / 8 + 64);
      AdviseHuge(recs.data(), recs.capacity() * sizeof(ChangeRecord));
      HugeReserve(dep_indexes, n + n / 8 + 64);
      index_entries.emplace(n);
      lists.resize(impl.actors.size());
      clock.assign(impl.actors.size(), 0);
      std::vector<size_t> per_actor(amap.size(), 0);
      for (uint32_t a : builder.change_actors()) ++per_actor[a];
      for (size_t a = 0; a < amap.size(); ++a)
        lists[amap[a]].reserve(lists[amap[a]].size() + per_actor[a]);
    }
    [[gnu::always_inline]] Status Emit(size_t ci, const BuiltChange& bc) {
      if (ci == 0) Start();
      ChangeRecord& r = recs.emplace_back();
      r.hash = bc.hash;
      r.bytes = impl.arena.Commit(bc.chunk.size());
      r.seq = bc.change->seq;
      r.start_op = bc.start_op;
      r.time = bc.time;
      r.actor = amap[bc.change->actor];
      r.deps_off = static_cast<uint32_t>(dep_indexes.size());
      r.deps_count = static_cast<uint32_t>(bc.deps.size());
      // (< 2^31: DecodeOps checks ops + succ entries < 2^31.)
      r.num_ops = static_cast<uint32_t>(bc.change->max_op + 1 - bc.start_op);
      r.has_tail = bc.msg_len != 0 || bc.extra_len != 0;
      for (uint32_t d : bc.deps) dep_indexes.push_back(d);
      lists[r.actor].push_back(static_cast<uint32_t>(ci));
      clock[r.actor] = std::max(clock[r.actor], r.seq);
      max_op = std::max(max_op, bc.change->max_op);
      index_entries->Add(bc.hash, static_cast<uint32_t>(ci));
      return Ok();
    }
  };
  Sink sink{impl, builder, {}, {}, {}, {}};
  // Huge pages for the arena blocks this rebuild fills (not for the
  // changes applied later, one at a time).
  impl.arena.set_bulk(true);
  Status built = builder.Run(sink);
  impl.arena.set_bulk(false);
  VUDO_TRY(built);
#ifdef VUDO_HISTORY_PROFILE
  double t = CpuNow();
  long faults = MinorFaults();
  double sys = SysMs();
#endif
  // (Distinct (actor, seq) pairs make distinct chunks, so a duplicate hash
  // would be a SHA-256 collision; checked anyway, at no extra cost.)
  HashIndex index;
  if (sink.index_entries && !index.BuildUnique(*sink.index_entries, sink.recs))
    return Err(ErrorCode::kCorrupt, "duplicate change");
  PHASE("index");
  std::vector<ChangeRecord>& recs = sink.recs;
  // Every check passed: record the history.
  const size_t n = recs.size();
  impl.hash_index = std::move(index);
  impl.records = std::move(recs);
  impl.dep_indexes = std::move(sink.dep_indexes);
  impl.heads.clear();
  for (size_t i = 0; i < n; ++i)
    if (!builder.is_dep(i)) impl.heads.push_back(static_cast<uint32_t>(i));
  for (size_t a = 0; a < sink.lists.size(); ++a) {
    if (sink.lists[a].empty()) continue;
    auto& list = impl.actor_changes[a];
    if (list.empty())
      list.swap(sink.lists[a]);
    else
      list.insert(list.end(), sink.lists[a].begin(), sink.lists[a].end());
    impl.clock[a] = std::max(impl.clock[a], sink.clock[a]);
  }
  impl.max_op = std::max(impl.max_op, sink.max_op);
  PHASE("lists");
  return Ok();
}

namespace {

// A sink keeping each chunk in a scratch buffer until the next one, and
// every hash.
template <typename Fn>
struct ScratchSink {
  Fn fn;  // Status(const BuiltChange&)
  std::vector<uint8_t> buf;
  std::vector<ChangeHash> hashes;

  uint8_t* Reserve(size_t n) {
    if (buf.size() < n) buf.resize(n);
    return buf.data();
  }
  const ChangeHash& Hash(size_t i) const { return hashes[i]; }
  Status Emit(size_t, const BuiltChange& bc) {
    hashes.push_back(bc.hash);
    return fn(bc);
  }
};

}  // namespace

Status MergeDocumentChunk(Document::Impl& impl, ByteSpan body) {
  Builder builder(body);
  std::vector<Change> unknown;
  auto fn = [&](const BuiltChange& bc) -> Status {
    if (impl.hash_index.Find(bc.hash, impl.records)) return Ok();
    // The body follows magic, checksum, type and uleb(length).
    ByteReader r(bc.chunk.subspan(9));
    VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r));
    VUDO_ASSIGN_OR_RETURN(Change ch,
                          DecodeChangeBody(r.rest().first(len), bc.hash));
    unknown.push_back(std::move(ch));
    return Ok();
  };
  ScratchSink<decltype(fn)> sink{fn, {}, {}};
  VUDO_TRY(builder.Run(sink));
  // The whole chunk checked out (heads included): apply what is new.
  for (auto& ch : unknown) VUDO_TRY(impl.ApplyOrQueue(std::move(ch)));
  return Ok();
}

Result<std::vector<Bytes>> RebuildChangeChunks(ByteSpan body) {
  Builder builder(body);
  std::vector<Bytes> out;
  auto fn = [&](const BuiltChange& bc) -> Status {
    out.push_back(ToBytes(bc.chunk));
    return Ok();
  };
  ScratchSink<decltype(fn)> sink{fn, {}, {}};
  VUDO_TRY(builder.Run(sink));
  return out;
}

}  // namespace vudo::automerge
