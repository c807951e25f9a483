// Builds the op set of a pristine document straight from the op columns of
// a document chunk (LoadDocumentChunk, kLazyOps). Each column is decoded
// once, value by value, into its final place: the ops are already in
// document order (objects by id, map keys by bytes, list elements in RGA
// order with the ops on an element right after it), so a sequence's blocks
// are filled in order and nothing is searched or sorted but a map key's ops
// and a list element's later ops (kept sorted by id as they arrive).

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "automerge/columnar.h"
#include "automerge/doc_columns.h"
#include "automerge/doc_impl.h"
#include "base/leb128.h"

namespace vudo::automerge {

namespace {

using namespace col;

// Elements per block when building a sequence in bulk (room to grow).
constexpr size_t kBulkBlock = 64;

using namespace doc_columns;

// The first error met while decoding (readers stop producing values then).
struct Failure {
  bool set = false;
  ErrorCode code = ErrorCode::kCorrupt;
  const char* what = "";
  void Set(ErrorCode c, const char* w) {
    if (set) return;
    set = true;
    code = c;
    what = w;
  }
};

bool ReadU(const uint8_t*& p, const uint8_t* end, uint64_t* v, Failure* f) {
  if (p < end && *p < 0x80) {
    *v = *p++;
    return true;
  }
  ByteReader r(ByteSpan(p, static_cast<size_t>(end - p)));
  auto x = ReadUleb(r);
  if (!x) {
    f->Set(x.error().code, "bad LEB128 in a column");
    return false;
  }
  p += r.position();
  *v = *x;
  return true;
}

bool ReadS(const uint8_t*& p, const uint8_t* end, int64_t* v, Failure* f) {
  if (p < end && *p < 0x80) {
    uint8_t b = *p++;
    *v = (b & 0x40) ? static_cast<int64_t>(b) - 128 : b;
    return true;
  }
  ByteReader r(ByteSpan(p, static_cast<size_t>(end - p)));
  auto x = ReadSleb(r);
  if (!x) {
    f->Set(x.error().code, "bad LEB128 in a column");
    return false;
  }
  p += r.position();
  *v = *x;
  return true;
}

struct UReader {
  using T = uint64_t;
  static bool Read(const uint8_t*& p, const uint8_t* e, T* v, Failure* f) {
    return ReadU(p, e, v, f);
  }
};
struct SReader {
  using T = int64_t;
  static bool Read(const uint8_t*& p, const uint8_t* e, T* v, Failure* f) {
    return ReadS(p, e, v, f);
  }
};
struct StrReader {
  using T = std::string_view;
  static bool Read(const uint8_t*& p, const uint8_t* e, T* v, Failure* f) {
    uint64_t len;
    if (!ReadU(p, e, &len, f)) return false;
    if (len > static_cast<uint64_t>(e - p)) {
      f->Set(ErrorCode::kTruncated, "string overruns its column");
      return false;
    }
    *v = std::string_view(reinterpret_cast<const char*>(p), len);
    p += len;
    if (!IsValidUtf8(*v)) {
      f->Set(ErrorCode::kInvalidArgument, "invalid UTF-8 in column");
      return false;
    }
    return true;
  }
};

// An RLE column read one item at a time. Past its end it yields nulls.
template <typename R>
class RleReader {
 public:
  using T = typename R::T;
  RleReader(ByteSpan d, Failure* f)
      : p_(d.data()), end_(d.data() + d.size()), f_(f) {}
  // True and *v for a value; false for a null (or past the end, or error).
  __attribute__((always_inline)) bool Next(T* v) {
    if (left_ != 0 && mode_ != kLit) {  // inside a run of values or nulls
      --left_;
      if (mode_ == kNull) return false;
      *v = val_;
      return true;
    }
    return Slow(v);
  }
  // True once every item was read.
  bool AtEnd() { return exhausted_ || (left_ == 0 && !Refill()); }

 private:
  enum Mode { kRun, kLit, kNull };
  // Past the end: nulls for ever, on the inline path (an absent column,
  // e.g. the mark names of a plain text, costs no call per item).
  static constexpr uint64_t kForever = ~uint64_t{0};
  __attribute__((noinline)) bool Slow(T* v) {
    if (left_ == 0 && !Refill()) return false;
    --left_;
    if (mode_ == kNull) return false;
    if (mode_ == kLit && !R::Read(p_, end_, &val_, f_)) {
      left_ = 0;
      mode_ = kNull;
      p_ = end_;
      return false;
    }
    *v = val_;
    return true;
  }
  bool Refill() {
    while (left_ == 0) {
      if (f_->set) return false;
      if (p_ == end_) {
        exhausted_ = true;
        mode_ = kNull;
        left_ = kForever;
        return false;
      }
      int64_t n;
      if (!ReadS(p_, end_, &n, f_)) return false;
      if (n > 0) {
        if (!R::Read(p_, end_, &val_, f_)) return false;
        mode_ = kRun;
        left_ = static_cast<uint64_t>(n);
      } else if (n < 0) {
        mode_ = kLit;
        left_ = static_cast<uint64_t>(-(n + 1)) + 1;
      } else {
        mode_ = kNull;
        if (!ReadU(p_, end_, &left_, f_)) return false;
      }
    }
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  Failure* f_;
  uint64_t left_ = 0;
  Mode mode_ = kNull;
  bool exhausted_ = false;
  T val_{};
};

class DeltaReader {
 public:
  DeltaReader(ByteSpan d, Failure* f) : rle_(d, f) {}
  __attribute__((always_inline)) bool Next(int64_t* v) {
    int64_t d;
    if (!rle_.Next(&d)) return false;
    abs_ += static_cast<uint64_t>(d);
    *v = static_cast<int64_t>(abs_);
    return true;
  }
  bool AtEnd() { return rle_.AtEnd(); }

 private:
  RleReader<SReader> rle_;
  uint64_t abs_ = 0;
};

class BoolReader {
 public:
  BoolReader(ByteSpan d, Failure* f)
      : p_(d.data()), end_(d.data() + d.size()), f_(f) {}
  bool Next() {
    if (left_ == 0 && !Refill()) return false;
    --left_;
    return val_;
  }
  bool AtEnd() { return left_ == 0 && !Refill(); }

 private:
  bool Refill() {
    while (left_ == 0) {
      if (p_ == end_ || f_->set) return false;
      if (!ReadU(p_, end_, &left_, f_)) return false;
      val_ = !val_;
    }
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  Failure* f_;
  uint64_t left_ = 0;
  bool val_ = true;  // flipped before the first run (which is false)
};

// Increment of an inc op (as the counter code reads it).
int64_t IncBy(const Op& op) {
  switch (op.tag) {
    case 3:
    case 4:
    case 5:
    case 8:
    case 9:
      return static_cast<int64_t>(op.payload);
    default:
      return 0;
  }
}

}  // namespace

Status Document::Impl::LoadOpSet(ByteSpan body,
                                 const std::vector<uint32_t>& amap,
                                 const Columns& ccols, const Columns& ocols,
                                 std::vector<ChangeHash> heads_in) {
  Failure f;
  const size_t max_items = body.size() * kOpsPerByte + kOpsSlack;
  auto bad = [&](ErrorCode code, std::string_view what, size_t i) -> Status {
    return Err(code, "op {}: {}", i, what);
  };
  auto failed = [&]() -> Status {
    return Err(f.code, "document columns: {}", f.what);
  };
  const uint64_t nactors = amap.size();

  // ---- changes: checked and counted; the change graph is rebuilt later ----
  size_t nch = 0;
  {
    RleReader<UReader> actor(ccols.Get(kChActor), &f);
    DeltaReader seq(ccols.Get(kChSeq), &f), maxop(ccols.Get(kChMaxOp), &f),
        time(ccols.Get(kChTime), &f), deps(ccols.Get(kChDeps), &f);
    RleReader<StrReader> msg(ccols.Get(kChMessage), &f);
    RleReader<UReader> depn(ccols.Get(kChDepsN), &f),
        xmeta(ccols.Get(kChExtraMeta), &f);
    ByteSpan xraw = ccols.Get(kChExtraRaw);
    size_t xpos = 0;
    uint64_t total_deps = 0;
    for (size_t i = 0; !actor.AtEnd(); ++i) {
      if (i >= max_items) return Err(ErrorCode::kOverflow, "too many changes");
      uint64_t a = 0;
      if (!actor.Next(&a) || a >= nactors)
        return Err(ErrorCode::kCorrupt, "bad actor index in document");
      int64_t s = 0, m = 0, t = 0;
      bool has_s = seq.Next(&s), has_m = maxop.Next(&m);
      if (!has_s || s <= 0 || !has_m || m < 0)
        return Err(ErrorCode::kCorrupt, "change {}: bad seq/maxOp", i);
      if (static_cast<uint64_t>(m) > max_op) max_op = static_cast<uint64_t>(m);
      time.Next(&t);
      std::string_view sv;
      msg.Next(&sv);
      uint64_t nd = 0;
      depn.Next(&nd);
      total_deps += nd;
      if (total_deps > max_items)
        return Err(ErrorCode::kOverflow, "too many deps");
      for (uint64_t k = 0; k < nd; ++k) {
        int64_t d = 0;
        if (!deps.Next(&d) || d < 0 || static_cast<uint64_t>(d) >= i) {
          if (f.set) return failed();
          return Err(ErrorCode::kCorrupt, "change {}: bad dep index", i);
        }
      }
      uint64_t xm = 0;
      xmeta.Next(&xm);
      if (xm) {
        uint64_t len = xm >> 4;
        if (len > xraw.size() - xpos)
          return Err(ErrorCode::kTruncated, "value of {} bytes overruns column",
                     len);
        // Bytes (7) and unknown types (10+) hold any bytes: nothing to check
        // (automerge-js writes empty bytes for every change).
        const uint64_t xtag = xm & 15;
        if (xtag != 7 && xtag < 10)
          VUDO_TRY(DecodeValue(xm, xraw.subspan(xpos, len)));
        xpos += len;
      }
      if (f.set) return failed();
      ++nch;
    }
    if (f.set) return failed();
    if (!seq.AtEnd() || !maxop.AtEnd() || !time.AtEnd() || !msg.AtEnd() ||
        !depn.AtEnd() || !deps.AtEnd() || !xmeta.AtEnd())
      return Err(f.set ? f.code : ErrorCode::kOverflow,
                 "change columns hold more than {} changes", nch);
    if (xpos != xraw.size())
      return Err(ErrorCode::kCorrupt, "{} unused bytes in value column",
                 xraw.size() - xpos);
  }

  // ---- ops ----
  RleReader<UReader> action(ocols.Get(kAction), &f);
  RleReader<UReader> oa(ocols.Get(kObjActor), &f), oc(ocols.Get(kObjCtr), &f),
      ka(ocols.Get(kKeyActor), &f), ia(ocols.Get(kIdActor), &f),
      vmeta(ocols.Get(kValMeta), &f), sn(ocols.Get(kSuccN), &f),
      sa(ocols.Get(kSuccActor), &f);
  DeltaReader kc(ocols.Get(kKeyCtr), &f), ic(ocols.Get(kIdCtr), &f),
      sc(ocols.Get(kSuccCtr), &f);
  RleReader<StrReader> ks(ocols.Get(kKeyStr), &f), mk(ocols.Get(kMarkName), &f);
  BoolReader ins(ocols.Get(kInsert), &f), ex(ocols.Get(kExpand), &f);
  const ByteSpan vraw = ocols.Get(kValRaw);
  size_t vpos = 0;
  uint64_t total_succ = 0;

  elem_index.Clear();
  elem_runs.Clear();
  Elem* run_first = nullptr;
  uint64_t run_ctr = 0;
  uint32_t run_actor = 0, run_len = 0;
  Obj* cur = nullptr;
  OpId cur_id{UINT64_MAX, 0};
  Elem* cur_elem = nullptr;
  Block* cur_block = nullptr;
  bool any_counter = false;
  auto QuickWidth = [&](const Obj& o, const Elem& e) -> uint64_t {
    if (e.succ == 0 && e.extra == 0 && e.action == Action::kSet &&
        !(e.flags & kOpArena)) {
      if (e.tag != 6 || o.type != ObjType::kText) return 1;
      uint64_t w = 0;
      const auto* c = reinterpret_cast<const uint8_t*>(&e.payload);
      for (int k = 0, n = e.flags >> 4; k < n; ++k)
        w += ((c[k] & 0xc0) != 0x80) + (c[k] >= 0xf0);
      return w;
    }
    return WidthOf(o, e);
  };
  // An element's width is known once the ops on it (right after it) are in.
  auto finish_elem = [&] {
    if (!cur_elem) return;
    uint64_t w = QuickWidth(*cur, *cur_elem);
    SetWidth(*cur_elem, w);
    cur_block->width += w;
    cur->width += w;
  };
  std::unordered_map<OpId, int64_t, OpIdHash> incs;  // inc op -> by
  std::vector<OpId> succ_buf;
  Op tmp;
  size_t i = 0;
  for (; !action.AtEnd(); ++i) {
    if (i >= max_items)
      return Err(ErrorCode::kOverflow, "more than {} ops", max_items);
    uint64_t act = 0;
    if (!action.Next(&act) || act > 7 ||
        static_cast<Action>(act) == Action::kDel) {
      if (f.set) return failed();
      return bad(ErrorCode::kCorrupt, "bad action", i);
    }
    // Every column advances by one item per op.
    uint64_t o_ctr = 0, o_act = 0, k_act = 0, i_act = 0, meta = 0, nsucc = 0;
    int64_t k_ctr = 0, i_ctr = 0;
    std::string_view key, mark;
    const bool has_oc = oc.Next(&o_ctr), has_oa = oa.Next(&o_act);
    const bool has_ks = ks.Next(&key);
    const bool has_kc = kc.Next(&k_ctr), has_ka = ka.Next(&k_act);
    const bool has_ic = ic.Next(&i_ctr), has_ia = ia.Next(&i_act);
    const bool insert = ins.Next();
    vmeta.Next(&meta);
    sn.Next(&nsucc);
    const bool expand = ex.Next();
    const bool has_mk = mk.Next(&mark);
    if (f.set) return failed();

    if (!has_ic || i_ctr <= 0) return bad(ErrorCode::kCorrupt, "bad id", i);
    if (!has_ia || i_act >= nactors)
      return Err(ErrorCode::kCorrupt, "bad actor index in document");
    const OpId id{static_cast<uint64_t>(i_ctr), amap[i_act]};
    OpId oid = kRoot;
    if (has_oc) {
      if (!has_oa || o_act >= nactors)
        return Err(ErrorCode::kCorrupt, "bad actor index in document");
      if (o_ctr == 0) return bad(ErrorCode::kCorrupt, "object counter 0", i);
      oid = OpId{o_ctr, amap[o_act]};
    }
    OpId elem;
    if (!has_ks) {
      if (!has_kc || k_ctr < 0) return bad(ErrorCode::kCorrupt, "no key", i);
      elem.counter = static_cast<uint64_t>(k_ctr);
      if (elem.counter != 0) {
        if (!has_ka || k_act >= nactors)
          return Err(ErrorCode::kCorrupt, "bad actor index in document");
        elem.actor = amap[k_act];
      }
    }
    if (!cur || !(oid == cur_id)) {
      finish_elem();
      cur = FindObj(oid);
      if (!cur) return Err(ErrorCode::kCorrupt, "op {} in unknown object", i);
      cur_id = oid;
      cur_elem = nullptr;
      cur_block = cur->blocks.empty() ? nullptr : cur->blocks.back().get();
    }
    if (id.counter > max_op) max_op = id.counter;

    // Where the op goes: a new element, or a temporary to file away.
    Op* op = &tmp;
    const bool seq = cur->IsSeq();
    if (!seq) {
      if (!has_ks || insert)
        return bad(ErrorCode::kCorrupt, "bad key for a map", i);
    } else {
      if (has_ks)
        return bad(ErrorCode::kCorrupt, "string key in a sequence", i);
      if (insert) {
        op = NewElem();
        // Runs of consecutive ids in consecutive memory (see ElemRuns),
        // tracked in locals.
        if (op == run_first + run_len && id.actor == run_actor &&
            id.counter - run_ctr == run_len && run_len != UINT32_MAX) {
          ++run_len;
        } else {
          if (run_len) elem_runs.Add(run_ctr, run_actor, run_len, run_first);
          run_first = op;
          run_ctr = id.counter;
          run_actor = id.actor;
          run_len = 1;
        }
      } else if (!cur_elem || cur_elem->ctr != elem.counter ||
                 cur_elem->actor != elem.actor) {
        return Err(ErrorCode::kCorrupt, "op {} not after its element", i);
      }
    }
    *op = Op();
    op->ctr = id.counter;
    op->actor = id.actor;
    op->ref_ctr = elem.counter;
    op->ref_actor = elem.actor;
    op->action = static_cast<Action>(act);
    op->flags = (insert ? kOpInsert : 0) | (expand ? kOpExpand : 0);

    // Value.
    {
      const uint64_t len = meta >> 4;
      const uint8_t tag = static_cast<uint8_t>(meta & 15);
      if (len > vraw.size() - vpos)
        return Err(ErrorCode::kTruncated, "value of {} bytes overruns column",
                   len);
      const uint8_t* p = vraw.data() + vpos;
      vpos += len;
      op->tag = tag;
      switch (tag) {
        case 0:
        case 1:
        case 2:
          if (len != 0)
            return Err(ErrorCode::kInvalidArgument,
                       "null/bool value with {} bytes", len);
          break;
        case 3:
        case 4:
        case 8:
        case 9: {
          const uint8_t* q = p;
          bool ok;
          if (tag == 3) {
            ok = ReadU(q, p + len, &op->payload, &f);
          } else {
            int64_t v;
            ok = ReadS(q, p + len, &v, &f);
            op->payload = static_cast<uint64_t>(v);
          }
          if (!ok || q != p + len)
            return Err(f.set ? f.code : ErrorCode::kInvalidArgument,
                       "op {}: bad number value", i);
          break;
        }
        case 5:
          if (len != 8)
            return Err(ErrorCode::kInvalidArgument, "f64 value of {} bytes",
                       len);
          for (int k = 0; k < 8; ++k) op->payload |= uint64_t(p[k]) << (8 * k);
          break;
        default: {
          std::string_view s(reinterpret_cast<const char*>(p), len);
          if (tag == 6 && !(len == 1 && p[0] < 0x80) && !IsValidUtf8(s))
            return Err(ErrorCode::kInvalidArgument,
                       "invalid UTF-8 string value");
          if (len <= 8) {  // in place (a text character)
            std::memcpy(&op->payload, p, len);
            op->flags |= static_cast<uint8_t>(len << 4);
          } else {
            StoreBytes(*op, tag, s);
          }
          break;
        }
      }
    }
    // Succ ids (read and checked before any room is made for them, so a
    // hostile count allocates nothing).
    if (nsucc) {
      total_succ += nsucc;
      if (total_succ > max_items)
        return Err(ErrorCode::kOverflow, "too many succ entries");
      succ_buf.clear();
      for (uint64_t k = 0; k < nsucc; ++k) {
        int64_t c = 0;
        uint64_t a = 0;
        bool has_c = sc.Next(&c), has_a = sa.Next(&a);
        if (f.set) return failed();
        if (!has_c || c <= 0)
          return Err(ErrorCode::kCorrupt, "bad succ counter");
        if (!has_a || a >= nactors)
          return Err(ErrorCode::kCorrupt, "bad actor index in document");
        if (nsucc == 1) {  // the common case: straight into the pool
          op->succ = static_cast<uint32_t>(succ_pool.size());
          op->flags |= kOpSucc1;
          OpId& s = succ_pool.emplace_back();
          s.counter = static_cast<uint64_t>(c);
          s.actor = amap[a];
          break;
        }
        // Insertion sort by Less (usually already in order).
        OpId s{static_cast<uint64_t>(c), amap[a]};
        succ_buf.push_back(s);
        for (size_t pos = succ_buf.size() - 1;
             pos > 0 && Less(s, succ_buf[pos - 1]); --pos)
          std::swap(succ_buf[pos], succ_buf[pos - 1]);
      }
      if (nsucc > 1) {
        uint32_t at = NewSuccList(succ_buf.size());
        succ_pool[at].counter = nsucc;
        op->succ = at;
        std::copy(succ_buf.begin(), succ_buf.end(), succ_pool.begin() + at + 1);
      }
    }
    if (has_mk) ExtraOf(*op).mark_name = InternMark(std::string(mark));
    if (op->IsCounter() && op->action == Action::kSet) any_counter = true;
    if (op->action == Action::kInc) incs[id] = IncBy(*op);

    if (!seq) {
      auto it = cur->props.find(key);
      if (it == cur->props.end())
        it = cur->props.emplace(std::string(key), std::vector<Op>{}).first;
      InsertOpSorted(it->second, std::move(tmp), *this);
    } else if (insert) {
      finish_elem();
      if (!cur_block || cur_block->elems.size() >= kBulkBlock) {
        cur_block = NewBlock(*cur);
        cur_block->elems.reserve(kBulkBlock);
      }
      cur_block->elems.push_back(op);
      op->block = cur_block->id;
      ++cur->num_elems;
      cur_elem = op;
    } else {
      ExtraOf(*cur_elem);
      InsertOpSorted(extras[cur_elem->extra].more, std::move(tmp), *this);
    }
    if (act == 0 || act == 2 || act == 4 || act == 6) {
      auto child = std::make_unique<Obj>();
      child->id = id;
      child->type = act == 2   ? ObjType::kList
                    : act == 4 ? ObjType::kText
                    : act == 6 ? ObjType::kTable
                               : ObjType::kMap;
      if (!objects.emplace(id, std::move(child)).second)
        return Err(ErrorCode::kCorrupt, "duplicate object {}", i);
    }
  }
  finish_elem();
  if (run_len) elem_runs.Add(run_ctr, run_actor, run_len, run_first);
  if (f.set) return failed();
  if (!oa.AtEnd() || !oc.AtEnd() || !ka.AtEnd() || !kc.AtEnd() || !ks.AtEnd() ||
      !ia.AtEnd() || !ic.AtEnd() || !ins.AtEnd() || !vmeta.AtEnd() ||
      !sn.AtEnd() || !ex.AtEnd() || !mk.AtEnd() || !sa.AtEnd() || !sc.AtEnd())
    return Err(f.set ? f.code : ErrorCode::kOverflow,
               "op columns hold more than {} ops", i);
  if (vpos != vraw.size())
    return Err(ErrorCode::kCorrupt, "{} unused bytes in value column",
               vraw.size() - vpos);

  // Counters: the increments among each counter's succ.
  if (any_counter && !incs.empty()) {
    auto count = [&](Op& op) {
      if (!op.IsCounter() || op.action != Action::kSet || !op.succ) return;
      for (const OpId& s : Succ(op)) {
        auto it = incs.find(s);
        if (it == incs.end()) continue;
        OpExtra& x = ExtraOf(op);
        ++x.inc_count;
        x.inc_sum = static_cast<int64_t>(static_cast<uint64_t>(x.inc_sum) +
                                         static_cast<uint64_t>(it->second));
      }
    };
    for (auto& [oid, o] : objects) {
      for (auto& [k, ops] : o->props)
        for (Op& op : ops) count(op);
      for (auto& b : o->blocks)
        for (Elem* e : b->elems) {
          count(*e);
          if (!e->extra) continue;
          Op* p = extras[e->extra].more.data();
          Op* end = p + extras[e->extra].more.size();
          for (; p != end; ++p) count(*p);
        }
    }
  }
  for (auto& [oid, o] : objects) {
    if (!o->IsSeq()) continue;
    // Counters change what is visible: widths again.
    if (any_counter && !incs.empty()) {
      uint64_t total = 0;
      for (auto& b : o->blocks) {
        uint64_t w = 0;
        for (Elem* e : b->elems) {
          uint64_t ew = WidthOf(*o, *e);
          SetWidth(*e, ew);
          w += ew;
        }
        b->width = w;
        total += w;
      }
      o->width = total;
    }
    ResetCursor(*o);
  }
  history_lazy = true;
  lazy_body = ToBytes(body);
  lazy_heads = std::move(heads_in);
  std::sort(lazy_heads.begin(), lazy_heads.end());
  lazy_count = nch;
  return Ok();
}

}  // namespace vudo::automerge
