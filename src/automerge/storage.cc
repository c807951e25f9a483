// Document chunk save/load (see docs/automerge.md for the layout).

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "automerge/change.h"
#include "automerge/columnar.h"
#include "automerge/doc_columns.h"
#include "automerge/doc_impl.h"
#include "automerge/history.h"
#include "base/leb128.h"

namespace vudo::automerge {

namespace {

using namespace col;

constexpr size_t kDeflateMinSize = 256;

using namespace doc_columns;

void MaybeCompress(std::vector<OutColumn>& cols, bool compress) {
  if (!compress) return;
  for (auto& c : cols) {
    if (c.data.size() > kDeflateMinSize) {
      c.data = Deflate(c.data);
      c.spec |= kDeflateBit;
    }
  }
}

}  // namespace

Bytes Document::Impl::SaveDocument(bool compress) {
  // A document whose change graph could not be rebuilt is saved as it was
  // loaded (plus nothing: no change can be added to it).
  if (history_error && records.empty())
    return WriteChunk(ChunkType::kDocument, corrupt_body);
  // Actors that authored changes, sorted by bytes.
  std::vector<uint32_t> used;
  for (uint32_t a = 0; a < actors.size(); ++a)
    if (clock[a] > 0) used.push_back(a);
  std::sort(used.begin(), used.end(),
            [&](uint32_t x, uint32_t y) { return actors[x] < actors[y]; });
  std::vector<uint32_t> table(actors.size(), 0);
  for (uint32_t i = 0; i < used.size(); ++i) table[used[i]] = i;

  Bytes body;
  AppendUleb(body, used.size());
  for (uint32_t a : used) {
    AppendUleb(body, actors[a].size());
    Append(body, actors[a]);
  }
  std::vector<uint32_t> head_idx = heads;
  std::sort(head_idx.begin(), head_idx.end(), [&](uint32_t x, uint32_t y) {
    return records[x].hash < records[y].hash;
  });
  AppendUleb(body, head_idx.size());
  for (uint32_t h : head_idx)
    body.insert(body.end(), records[h].hash.begin(), records[h].hash.end());

  // Change columns.
  std::vector<OutColumn> ccols;
  {
    Bytes actor_c, seq_c, maxop_c, time_c, msg_c, depn_c, deps_c, xmeta_c,
        xraw_c;
    UintRleEncoder actor_e(actor_c), depn_e(depn_c), xmeta_e(xmeta_c);
    DeltaEncoder seq_e(seq_c), maxop_e(maxop_c), time_e(time_c), deps_e(deps_c);
    StrRleEncoder msg_e(msg_c);
    std::vector<uint32_t> deps;
    for (size_t i = 0; i < records.size(); ++i) {
      const ChangeRecord& r = records[i];
      actor_e.Append(uint64_t{table[r.actor]});
      seq_e.Append(static_cast<int64_t>(r.seq));
      maxop_e.Append(static_cast<int64_t>(r.max_op()));
      time_e.Append(r.time);
      const ChangeRecord::Tail tail = r.tail();
      if (!tail.message.empty())
        msg_e.Append(std::string(tail.message));
      else
        msg_e.AppendNull();
      depn_e.Append(uint64_t{r.deps_count});
      // Deps in the order of their hashes.
      deps.assign(dep_indexes.begin() + r.deps_off,
                  dep_indexes.begin() + r.deps_off + r.deps_count);
      if (deps.size() > 1)
        std::sort(deps.begin(), deps.end(), [&](uint32_t x, uint32_t y) {
          return records[x].hash < records[y].hash;
        });
      for (uint32_t d : deps) deps_e.Append(static_cast<int64_t>(d));
      // The extra bytes as a bytes value (tag 7).
      xraw_c.insert(xraw_c.end(), tail.extra.begin(), tail.extra.end());
      xmeta_e.Append((uint64_t{tail.extra.size()} << 4) | 7);
    }
    actor_e.Finish();
    seq_e.Finish();
    maxop_e.Finish();
    time_e.Finish();
    msg_e.Finish();
    depn_e.Finish();
    deps_e.Finish();
    xmeta_e.Finish();
    ccols.push_back({kChActor, std::move(actor_c)});
    ccols.push_back({kChSeq, std::move(seq_c)});
    ccols.push_back({kChMaxOp, std::move(maxop_c)});
    ccols.push_back({kChTime, std::move(time_c)});
    ccols.push_back({kChMessage, std::move(msg_c)});
    ccols.push_back({kChDepsN, std::move(depn_c)});
    ccols.push_back({kChDeps, std::move(deps_c)});
    ccols.push_back({kChExtraMeta, std::move(xmeta_c)});
    ccols.push_back({kChExtraRaw, std::move(xraw_c)});
  }

  // Op columns.
  std::vector<OutColumn> ocols;
  {
    Bytes oa_c, oc_c, ka_c, kc_c, ks_c, ia_c, ic_c, ins_c, act_c, vm_c, vr_c,
        sn_c, sa_c, sc_c, ex_c, mk_c;
    UintRleEncoder oa(oa_c), oc(oc_c), ka(ka_c), ia(ia_c), act(act_c), vm(vm_c),
        sn(sn_c), sa(sa_c);
    DeltaEncoder kc(kc_c), ic(ic_c), sc(sc_c);
    StrRleEncoder ks(ks_c), mk(mk_c);
    BoolEncoder ins(ins_c), ex(ex_c);
    bool any_expand = false;
    auto emit = [&](const Obj& obj, const Op& op, const std::string* key) {
      if (obj.id.counter == 0) {
        oa.AppendNull();
        oc.AppendNull();
      } else {
        oa.Append(uint64_t{table[obj.id.actor]});
        oc.Append(obj.id.counter);
      }
      if (key) {
        ka.AppendNull();
        kc.AppendNull();
        ks.Append(*key);
      } else {
        if (op.ref_ctr == 0)
          ka.AppendNull();
        else
          ka.Append(uint64_t{table[op.ref_actor]});
        kc.Append(static_cast<int64_t>(op.ref_ctr));
        ks.AppendNull();
      }
      ia.Append(uint64_t{table[op.actor]});
      ic.Append(static_cast<int64_t>(op.ctr));
      ins.Append(op.insert());
      act.Append(uint64_t{static_cast<uint8_t>(op.action)});
      vm.Append(EncodeOpValue(op, vr_c));
      auto succ = Succ(op);
      sn.Append(uint64_t{succ.size()});
      for (const OpId& s : succ) {
        sa.Append(uint64_t{table[s.actor]});
        sc.Append(static_cast<int64_t>(s.counter));
      }
      ex.Append(op.expand());
      any_expand |= op.expand();
      if (uint32_t m = MarkOf(op))
        mk.Append(mark_names[m - 1]);
      else
        mk.AppendNull();
    };
    std::vector<const Obj*> objs;
    objs.reserve(objects.size());
    for (const auto& [id, o] : objects) objs.push_back(o.get());
    std::sort(objs.begin(), objs.end(),
              [&](const Obj* a, const Obj* b) { return Less(a->id, b->id); });
    for (const Obj* o : objs) {
      if (!o->IsSeq()) {
        for (const auto& [k, ops] : o->props)
          for (const Op& op : ops) emit(*o, op, &k);
      } else {
        for (const auto& b : o->blocks)
          for (const Elem* e : b->elems) {
            emit(*o, *e, nullptr);
            for (const Op& op : More(*e)) emit(*o, op, nullptr);
          }
      }
    }
    oa.Finish();
    oc.Finish();
    ka.Finish();
    kc.Finish();
    ks.Finish();
    ia.Finish();
    ic.Finish();
    ins.Finish();
    act.Finish();
    vm.Finish();
    sn.Finish();
    sa.Finish();
    sc.Finish();
    ex.Finish();
    mk.Finish();
    if (!any_expand) ex_c.clear();
    ocols.push_back({kObjActor, std::move(oa_c)});
    ocols.push_back({kObjCtr, std::move(oc_c)});
    ocols.push_back({kKeyActor, std::move(ka_c)});
    ocols.push_back({kKeyCtr, std::move(kc_c)});
    ocols.push_back({kKeyStr, std::move(ks_c)});
    ocols.push_back({kIdActor, std::move(ia_c)});
    ocols.push_back({kIdCtr, std::move(ic_c)});
    ocols.push_back({kInsert, std::move(ins_c)});
    ocols.push_back({kAction, std::move(act_c)});
    ocols.push_back({kValMeta, std::move(vm_c)});
    ocols.push_back({kValRaw, std::move(vr_c)});
    ocols.push_back({kSuccN, std::move(sn_c)});
    ocols.push_back({kSuccActor, std::move(sa_c)});
    ocols.push_back({kSuccCtr, std::move(sc_c)});
    ocols.push_back({kExpand, std::move(ex_c)});
    ocols.push_back({kMarkName, std::move(mk_c)});
  }
  MaybeCompress(ccols, compress);
  MaybeCompress(ocols, compress);
  WriteColumnMeta(ccols, body);
  WriteColumnMeta(ocols, body);
  WriteColumnData(ccols, body);
  WriteColumnData(ocols, body);
  for (uint32_t h : head_idx) AppendUleb(body, h);
  return WriteChunk(ChunkType::kDocument, body);
}

// ---------------------------------------------------------------------------
// Load

namespace {

// One op read from a document chunk (document actor indexes mapped to ours).
struct DocOp {
  OpId id;
  OpId obj;
  bool key_is_str = false;
  uint32_t key_index = 0;  // into the key string table
  OpId elem;
  bool insert = false;
  Action action = Action::kSet;
  ScalarValue value;
  uint32_t succ_off = 0, succ_n = 0;
  bool expand = false;
  std::optional<std::string> mark_name;
};

struct DocChange {
  uint32_t actor = 0;
  uint64_t seq = 0;
  uint64_t max_op = 0;
  int64_t time = 0;
  std::string message;
  std::vector<uint64_t> deps;
  Bytes extra;
};

}  // namespace

namespace doc_columns {

Result<DocumentHeader> ParseDocumentHeader(ByteSpan body) {
  DocumentHeader h;
  ByteReader r(body);
  VUDO_ASSIGN_OR_RETURN(uint64_t nactors, ReadUleb(r));
  if (nactors > r.remaining())
    return Err(ErrorCode::kTruncated, "{} actors declared", nactors);
  for (uint64_t i = 0; i < nactors; ++i) {
    VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r));
    if (len > r.remaining())
      return Err(ErrorCode::kTruncated, "actor of {} bytes", len);
    VUDO_ASSIGN_OR_RETURN(Bytes a, r.ReadBytes(len));
    h.actors.push_back(std::move(a));
  }
  VUDO_ASSIGN_OR_RETURN(uint64_t nheads, ReadUleb(r));
  if (nheads > r.remaining() / 32)
    return Err(ErrorCode::kTruncated, "{} heads declared", nheads);
  for (uint64_t i = 0; i < nheads; ++i) {
    VUDO_ASSIGN_OR_RETURN(auto head, r.ReadArray<32>());
    h.heads.push_back(head);
  }
  VUDO_ASSIGN_OR_RETURN(auto cmeta, ReadColumnMeta(r, r.remaining()));
  VUDO_ASSIGN_OR_RETURN(auto ometa, ReadColumnMeta(r, r.remaining()));
  size_t used = 0;
  VUDO_ASSIGN_OR_RETURN(h.changes, Columns::Slice(cmeta, r.rest(), &used));
  VUDO_TRY(r.Skip(used));
  VUDO_ASSIGN_OR_RETURN(h.ops, Columns::Slice(ometa, r.rest(), &used));
  return h;
}

}  // namespace doc_columns

Status Document::Impl::LoadDocumentChunk(ByteSpan body, LoadMode mode) {
  VUDO_ASSIGN_OR_RETURN(DocumentHeader header, ParseDocumentHeader(body));
  std::vector<uint32_t> amap;
  for (const Bytes& a : header.actors) amap.push_back(InternActor(a));
  std::vector<ChangeHash>& heads_in = header.heads;
  const Columns& ccols = header.changes;
  const Columns& ocols = header.ops;
  // Optional head indexes suffix: ignored (heads are recomputed).
  if (mode == LoadMode::kLazyOps)
    return LoadOpSet(body, amap, ccols, ocols, std::move(heads_in));

  auto actor_of = [&](const std::optional<uint64_t>& a) -> Result<uint32_t> {
    if (!a || *a >= amap.size())
      return Err(ErrorCode::kCorrupt, "bad actor index in document");
    return amap[*a];
  };

  // ---- changes ----
  const size_t max_items = body.size() * kOpsPerByte + kOpsSlack;
  VUDO_ASSIGN_OR_RETURN(auto c_actor,
                        DecodeUintRle(ccols.Get(kChActor), max_items));
  const size_t nch = c_actor.size();
  VUDO_ASSIGN_OR_RETURN(auto c_seq, DecodeDelta(ccols.Get(kChSeq), nch));
  VUDO_ASSIGN_OR_RETURN(auto c_maxop, DecodeDelta(ccols.Get(kChMaxOp), nch));
  VUDO_ASSIGN_OR_RETURN(auto c_time, DecodeDelta(ccols.Get(kChTime), nch));
  VUDO_ASSIGN_OR_RETURN(auto c_msg, DecodeStrRle(ccols.Get(kChMessage), nch));
  VUDO_ASSIGN_OR_RETURN(auto c_depn, DecodeUintRle(ccols.Get(kChDepsN), nch));
  uint64_t total_deps = 0;
  for (const auto& d : c_depn) {
    total_deps += d.value_or(0);
    if (total_deps > max_items)
      return Err(ErrorCode::kOverflow, "too many deps");
  }
  VUDO_ASSIGN_OR_RETURN(auto c_deps,
                        DecodeDelta(ccols.Get(kChDeps), total_deps));
  if (c_deps.size() != total_deps)
    return Err(ErrorCode::kCorrupt, "dep column holds {} of {} entries",
               c_deps.size(), total_deps);
  VUDO_ASSIGN_OR_RETURN(
      auto c_extra,
      DecodeValues(ccols.Get(kChExtraMeta), ccols.Get(kChExtraRaw), nch));
  std::vector<DocChange> dchanges(nch);
  size_t di = 0;
  for (size_t i = 0; i < nch; ++i) {
    DocChange& c = dchanges[i];
    VUDO_ASSIGN_OR_RETURN(c.actor, actor_of(c_actor[i]));
    if (i >= c_seq.size() || !c_seq[i] || *c_seq[i] <= 0 ||
        i >= c_maxop.size() || !c_maxop[i] || *c_maxop[i] < 0)
      return Err(ErrorCode::kCorrupt, "change {}: bad seq/maxOp", i);
    c.seq = static_cast<uint64_t>(*c_seq[i]);
    c.max_op = static_cast<uint64_t>(*c_maxop[i]);
    c.time = i < c_time.size() ? c_time[i].value_or(0) : 0;
    if (i < c_msg.size() && c_msg[i]) c.message = *c_msg[i];
    uint64_t nd = i < c_depn.size() ? c_depn[i].value_or(0) : 0;
    for (uint64_t k = 0; k < nd; ++k, ++di) {
      if (!c_deps[di] || *c_deps[di] < 0 ||
          static_cast<uint64_t>(*c_deps[di]) >= i)
        return Err(ErrorCode::kCorrupt, "change {}: bad dep index", i);
      c.deps.push_back(static_cast<uint64_t>(*c_deps[di]));
    }
    if (i < c_extra.size()) {
      const ScalarValue& x = c_extra[i];
      if (x.type == ScalarType::kBytes || x.type == ScalarType::kUnknown)
        c.extra = ToBytes(AsBytes(x.s));
    }
  }

  // ---- ops ----
  VUDO_ASSIGN_OR_RETURN(auto o_action,
                        DecodeUintRle(ocols.Get(kAction), max_items));
  const size_t nops = o_action.size();
  VUDO_ASSIGN_OR_RETURN(auto o_oa, DecodeUintRle(ocols.Get(kObjActor), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_oc, DecodeUintRle(ocols.Get(kObjCtr), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_ka, DecodeUintRle(ocols.Get(kKeyActor), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_kc, DecodeDelta(ocols.Get(kKeyCtr), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_ks, DecodeStrRle(ocols.Get(kKeyStr), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_ia, DecodeUintRle(ocols.Get(kIdActor), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_ic, DecodeDelta(ocols.Get(kIdCtr), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_ins, DecodeBool(ocols.Get(kInsert), nops));
  VUDO_ASSIGN_OR_RETURN(
      auto o_val, DecodeValues(ocols.Get(kValMeta), ocols.Get(kValRaw), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_sn, DecodeUintRle(ocols.Get(kSuccN), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_ex, DecodeBool(ocols.Get(kExpand), nops));
  VUDO_ASSIGN_OR_RETURN(auto o_mk, DecodeStrRle(ocols.Get(kMarkName), nops));
  uint64_t total_succ = 0;
  for (const auto& s : o_sn) {
    total_succ += s.value_or(0);
    if (total_succ > max_items)
      return Err(ErrorCode::kOverflow, "too many succ entries");
  }
  VUDO_ASSIGN_OR_RETURN(auto o_sa,
                        DecodeUintRle(ocols.Get(kSuccActor), total_succ));
  VUDO_ASSIGN_OR_RETURN(auto o_sc,
                        DecodeDelta(ocols.Get(kSuccCtr), total_succ));
  if (o_sa.size() != total_succ || o_sc.size() != total_succ)
    return Err(ErrorCode::kCorrupt, "succ columns hold {}/{} of {} ids",
               o_sa.size(), o_sc.size(), total_succ);
  std::vector<OpId> succs(total_succ);
  for (size_t i = 0; i < total_succ; ++i) {
    if (!o_sc[i] || *o_sc[i] <= 0)
      return Err(ErrorCode::kCorrupt, "bad succ counter");
    VUDO_ASSIGN_OR_RETURN(succs[i].actor, actor_of(o_sa[i]));
    succs[i].counter = static_cast<uint64_t>(*o_sc[i]);
  }
  std::vector<std::string> keys;
  std::vector<DocOp> ops(nops);
  size_t si = 0;
  for (size_t i = 0; i < nops; ++i) {
    DocOp& op = ops[i];
    if (!o_action[i] || *o_action[i] > 7 ||
        static_cast<Action>(*o_action[i]) == Action::kDel)
      return Err(ErrorCode::kCorrupt, "op {}: bad action", i);
    op.action = static_cast<Action>(*o_action[i]);
    if (i >= o_ic.size() || !o_ic[i] || *o_ic[i] <= 0)
      return Err(ErrorCode::kCorrupt, "op {}: bad id", i);
    op.id.counter = static_cast<uint64_t>(*o_ic[i]);
    VUDO_ASSIGN_OR_RETURN(op.id.actor,
                          actor_of(i < o_ia.size() ? o_ia[i] : std::nullopt));
    if (i < o_oc.size() && o_oc[i]) {
      op.obj.counter = *o_oc[i];
      VUDO_ASSIGN_OR_RETURN(op.obj.actor,
                            actor_of(i < o_oa.size() ? o_oa[i] : std::nullopt));
      if (op.obj.counter == 0)
        return Err(ErrorCode::kCorrupt, "op {}: object counter 0", i);
    }
    if (i < o_ks.size() && o_ks[i]) {
      op.key_is_str = true;
      keys.push_back(std::move(*o_ks[i]));
      op.key_index = static_cast<uint32_t>(keys.size() - 1);
    } else {
      if (i >= o_kc.size() || !o_kc[i] || *o_kc[i] < 0)
        return Err(ErrorCode::kCorrupt, "op {}: no key", i);
      op.elem.counter = static_cast<uint64_t>(*o_kc[i]);
      if (op.elem.counter != 0) {
        VUDO_ASSIGN_OR_RETURN(
            op.elem.actor, actor_of(i < o_ka.size() ? o_ka[i] : std::nullopt));
      }
    }
    op.insert = i < o_ins.size() && o_ins[i];
    if (i < o_val.size()) op.value = std::move(o_val[i]);
    uint64_t n = i < o_sn.size() ? o_sn[i].value_or(0) : 0;
    op.succ_off = static_cast<uint32_t>(si);
    op.succ_n = static_cast<uint32_t>(n);
    si += n;
    op.expand = i < o_ex.size() && o_ex[i];
    if (i < o_mk.size()) op.mark_name = std::move(o_mk[i]);
  }

  // Ops by (actor, counter), sorted on first need.
  std::vector<uint32_t> order;
  auto id_less = [&](const OpId& a, const OpId& b) {
    if (a.actor != b.actor) return a.actor < b.actor;
    return a.counter < b.counter;
  };
  auto sort_order = [&] {
    if (order.size() == nops && nops > 0) return;
    order.resize(nops);
    for (uint32_t i = 0; i < nops; ++i) order[i] = i;
    // Ops of one actor often come in counter order already.
    if (!std::is_sorted(order.begin(), order.end(),
                        [&](uint32_t a, uint32_t b) {
                          return id_less(ops[a].id, ops[b].id);
                        }))
      std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return id_less(ops[a].id, ops[b].id);
      });
  };

  // ---- reconstruct the changes ----
  sort_order();
  for (size_t i = 1; i < nops; ++i)
    if (ops[order[i]].id == ops[order[i - 1]].id)
      return Err(ErrorCode::kCorrupt, "duplicate op id");
  // (target, pred) pairs from succ lists; deletes are targets without an op.
  struct PredPair {
    OpId target;
    OpId pred;
    uint32_t from;  // op index whose succ named target
  };
  std::vector<PredPair> pairs;
  pairs.reserve(total_succ);
  for (uint32_t i = 0; i < nops; ++i)
    for (uint32_t k = 0; k < ops[i].succ_n; ++k)
      pairs.push_back({succs[ops[i].succ_off + k], ops[i].id, i});
  std::sort(pairs.begin(), pairs.end(),
            [&](const PredPair& a, const PredPair& b) {
              if (!(a.target == b.target)) return id_less(a.target, b.target);
              return Less(a.pred, b.pred);
            });
  // Every op id, real or delete, with where its data lives.
  struct Slot {
    OpId id;
    int64_t op = -1;        // index into ops, or -1 for a delete
    size_t pair_begin = 0;  // preds in pairs[pair_begin, pair_end)
    size_t pair_end = 0;
  };
  std::vector<Slot> slots;
  slots.reserve(nops + pairs.size());
  {
    size_t pi = 0;
    for (size_t k = 0; k < nops || pi < pairs.size();) {
      bool take_op = k < nops && (pi >= pairs.size() ||
                                  !id_less(pairs[pi].target, ops[order[k]].id));
      Slot s;
      if (take_op) {
        s.id = ops[order[k]].id;
        s.op = order[k];
        ++k;
      } else {
        s.id = pairs[pi].target;
      }
      s.pair_begin = pi;
      while (pi < pairs.size() && pairs[pi].target == s.id) ++pi;
      s.pair_end = pi;
      slots.push_back(s);
    }
  }

  // Changes per actor in seq order.
  std::vector<std::vector<uint32_t>> by_actor(actors.size());
  for (uint32_t i = 0; i < nch; ++i) by_actor[dchanges[i].actor].push_back(i);
  std::vector<std::pair<size_t, size_t>> change_slots(nch, {0, 0});
  {
    size_t k = 0;
    for (uint32_t a = 0; a < by_actor.size(); ++a) {
      auto& list = by_actor[a];
      std::sort(list.begin(), list.end(), [&](uint32_t x, uint32_t y) {
        return dchanges[x].seq < dchanges[y].seq;
      });
      while (k < slots.size() && slots[k].id.actor < a) ++k;
      for (uint32_t ci : list) {
        size_t begin = k;
        while (k < slots.size() && slots[k].id.actor == a &&
               slots[k].id.counter <= dchanges[ci].max_op)
          ++k;
        change_slots[ci] = {begin, k};
      }
      while (k < slots.size() && slots[k].id.actor == a) ++k;
    }
  }

  const bool direct = mode == LoadMode::kHistoryOnly;
  std::vector<ChangeHash> hashes(nch);
  std::vector<Change> built(nch);
  std::vector<uint64_t> built_max_op(nch);
  std::vector<uint32_t> stamp(actors.size(), UINT32_MAX);
  for (size_t ci = 0; ci < nch; ++ci) {
    const DocChange& dc = dchanges[ci];
    Change& ch = built[ci];
    for (uint64_t d : dc.deps) ch.deps.push_back(hashes[d]);
    std::sort(ch.deps.begin(), ch.deps.end());
    ch.actor = actors[dc.actor];
    ch.seq = dc.seq;
    auto [b, e] = change_slots[ci];
    uint64_t nops_c = e - b;
    if (nops_c > dc.max_op + 1)
      return Err(ErrorCode::kCorrupt, "change {}: more ops than maxOp", ci);
    ch.start_op = dc.max_op + 1 - nops_c;
    built_max_op[ci] = dc.max_op;
    ch.time = dc.time;
    ch.message = dc.message;
    ch.extra = dc.extra;
    ch.ops.reserve(nops_c);
    for (size_t k = b; k < e; ++k) {
      const Slot& s = slots[k];
      if (s.id.counter != ch.start_op + (k - b))
        return Err(ErrorCode::kCorrupt, "change {}: op counters not contiguous",
                   ci);
      ChangeOp cop;
      const DocOp* src;
      if (s.op >= 0) {
        src = &ops[s.op];
        cop.action = src->action;
        cop.insert = src->insert;
        cop.value = src->value;
        cop.expand = src->expand;
        cop.mark_name = src->mark_name;
        cop.key_is_str = src->key_is_str;
        if (src->key_is_str)
          cop.key = keys[src->key_index];
        else
          cop.elem = src->elem;
      } else {
        // A delete: it targets the key of (any of) its preds.
        if (s.pair_begin == s.pair_end)
          return Err(ErrorCode::kCorrupt, "delete without preds");
        src = &ops[pairs[s.pair_begin].from];
        cop.action = Action::kDel;
        cop.key_is_str = src->key_is_str;
        if (src->key_is_str)
          cop.key = keys[src->key_index];
        else
          cop.elem = src->insert ? src->id : src->elem;
      }
      cop.obj = src->obj;
      for (size_t p = s.pair_begin; p < s.pair_end; ++p)
        cop.pred.push_back(pairs[p].pred);
      ch.ops.push_back(std::move(cop));
    }
    // Actor table: the author, then the actors the ops use.
    std::vector<uint32_t> m(0);
    std::vector<uint32_t> others;
    auto note = [&](const OpId& id) {
      if (id.counter == 0 || id.actor == dc.actor) return;
      if (stamp[id.actor] != ci) {
        stamp[id.actor] = static_cast<uint32_t>(ci);
        others.push_back(id.actor);
      }
    };
    for (const auto& op : ch.ops) {
      note(op.obj);
      if (!op.key_is_str) note(op.elem);
      for (const auto& p : op.pred) note(p);
    }
    std::unordered_map<uint32_t, uint32_t> remap;
    remap[dc.actor] = 0;
    for (uint32_t i = 0; i < others.size(); ++i) {
      remap[others[i]] = i + 1;
      ch.other_actors.push_back(actors[others[i]]);
    }
    for (auto& op : ch.ops) {
      if (op.obj.counter) op.obj.actor = remap[op.obj.actor];
      if (!op.key_is_str && op.elem.counter)
        op.elem.actor = remap[op.elem.actor];
      for (auto& p : op.pred) p.actor = remap[p.actor];
    }
    VUDO_TRY(EncodeChange(ch));
    hashes[ci] = ch.hash;
    if (direct) {
      ch.ops.clear();
      ch.ops.shrink_to_fit();
    }
  }
  if (nops > 0 && slots.size() > 0) {
    size_t assigned = 0;
    for (auto [b, e] : change_slots) assigned += e - b;
    if (assigned != slots.size())
      return Err(ErrorCode::kCorrupt, "{} ops belong to no change",
                 slots.size() - assigned);
  }
  // Heads: changes no other change depends on.
  std::vector<bool> is_dep(nch, false);
  for (const auto& c : dchanges)
    for (uint64_t d : c.deps) is_dep[d] = true;
  std::vector<ChangeHash> derived;
  for (size_t i = 0; i < nch; ++i)
    if (!is_dep[i]) derived.push_back(hashes[i]);
  std::sort(derived.begin(), derived.end());
  std::sort(heads_in.begin(), heads_in.end());
  if (derived != heads_in) return Err(ErrorCode::kCorrupt, "mismatching heads");

  if (mode == LoadMode::kMerge) {
    for (auto& ch : built) {
      if (hash_index.Find(ch.hash, records)) continue;
      VUDO_TRY(ApplyOrQueue(std::move(ch)));
    }
    return Ok();
  }
  // kHistoryOnly: the op set was built from this chunk; record its changes.
  for (size_t ci = 0; ci < nch; ++ci) {
    const DocChange& dc = dchanges[ci];
    if (clock[dc.actor] >= dc.seq)
      return Err(ErrorCode::kCorrupt, "change {}: seq out of order", ci);
    for (const auto& d : built[ci].deps)
      if (!hash_index.Find(d, records))
        return Err(ErrorCode::kCorrupt, "change {}: dep not earlier", ci);
    if (hash_index.Find(built[ci].hash, records))
      return Err(ErrorCode::kCorrupt, "duplicate change");
    RecordChange(built[ci], built[ci].bytes, dc.actor, built_max_op[ci]);
    built[ci] = Change();
  }
  return Ok();
}

Status Document::Impl::EnsureHistory() {
  if (history_error) return tl::unexpected(*history_error);
  if (!history_lazy) return Ok();
  history_lazy = false;
  Bytes body = std::move(lazy_body);
  lazy_body = Bytes();
  bool all_saved = saved_upto == 0;
  Status s = RebuildHistory(*this, body);
  if (!s) {
    history_error = s.error().WithContext("document history");
    corrupt_body = std::move(body);  // Save() hands it back unchanged
    return tl::unexpected(*history_error);
  }
  // The chunk's changes count as saved (they came from a saved document).
  if (all_saved) saved_upto = records.size();
  return Ok();
}

bool Document::Impl::IsPristine() const {
  return !history_lazy && records.empty() && queue.empty() && pending.empty() &&
         objects.size() == 1 && FindObj(kRoot)->props.empty();
}

Status Document::Impl::LoadAll(ByteSpan data, bool require_deps) {
  if (!pending.empty()) CommitPending({});
  std::vector<Change> changes;
  size_t pos = 0;
  while (pos < data.size()) {
    VUDO_ASSIGN_OR_RETURN(Chunk c, ReadChunk(data.subspan(pos)));
    pos += c.encoded_size;
    switch (c.type) {
      case ChunkType::kDocument: {
        // Apply what came before, then the document.
        if (!changes.empty()) VUDO_TRY(EnsureHistory());
        for (auto& ch : changes) VUDO_TRY(ApplyOrQueue(std::move(ch)));
        changes.clear();
        if (IsPristine()) {
          VUDO_TRY(LoadDocumentChunk(c.body, LoadMode::kLazyOps));
          source_chunk =
              ToBytes(data.subspan(pos - c.encoded_size, c.encoded_size));
          source_count = lazy_count;
        } else {
          VUDO_TRY(EnsureHistory());
          VUDO_TRY(MergeDocumentChunk(*this, c.body));
        }
        break;
      }
      case ChunkType::kChange:
      case ChunkType::kCompressedChange: {
        VUDO_ASSIGN_OR_RETURN(Change ch, DecodeChangeBody(c.body, c.hash));
        changes.push_back(std::move(ch));
        break;
      }
      case ChunkType::kBundle:
        return Err(ErrorCode::kUnsupported, "bundle chunks are not supported");
    }
  }
  if (!changes.empty()) VUDO_TRY(EnsureHistory());
  for (auto& ch : changes) VUDO_TRY(ApplyOrQueue(std::move(ch)));
  if (require_deps && !queue.empty())
    return Err(ErrorCode::kInvalidArgument,
               "missing deps: {} change(s) depend on changes not in the input",
               queue.size());
  return Ok();
}

}  // namespace vudo::automerge
