#include "automerge/pending.h"

#include <algorithm>

#include "automerge/columnar.h"
#include "base/leb128.h"

namespace vudo::automerge {

using namespace col;

// The non-actor columns of the change, with their encoders (which point at
// the buffers, so this struct never moves).
struct PendingChange::Columns {
  Bytes obj_ctr, key_ctr, key_str, insert, action, vmeta, vraw, pred_n,
      pred_ctr, expand, mark;
  UintRleEncoder obj_ctr_e{obj_ctr}, action_e{action}, vmeta_e{vmeta},
      pred_n_e{pred_n};
  DeltaEncoder key_ctr_e{key_ctr}, pred_ctr_e{pred_ctr};
  StrRleEncoder key_str_e{key_str}, mark_e{mark};
  BoolEncoder insert_e{insert}, expand_e{expand};
  bool any_expand = false;
};

PendingChange::PendingChange() = default;
PendingChange::~PendingChange() = default;
PendingChange::PendingChange(PendingChange&&) noexcept = default;
PendingChange& PendingChange::operator=(PendingChange&&) noexcept = default;

void PendingChange::Use(uint32_t actor) {
  if (actor >= used_.size()) used_.resize(actor + 1, false);
  used_[actor] = true;
}

void PendingChange::Add(const ChangeOp& op) {
  if (!cols_) cols_ = std::make_unique<Columns>();
  Columns& c = *cols_;
  if (op.obj.counter == 0) {
    obj_actor_.Append(kNull);
    c.obj_ctr_e.AppendNull();
  } else {
    Use(op.obj.actor);
    obj_actor_.Append(op.obj.actor);
    c.obj_ctr_e.Append(op.obj.counter);
  }
  if (op.key_is_str) {
    key_actor_.Append(kNull);
    c.key_ctr_e.AppendNull();
    c.key_str_e.Append(op.key);
  } else {
    if (op.elem.counter == 0) {
      key_actor_.Append(kNull);
    } else {
      Use(op.elem.actor);
      key_actor_.Append(op.elem.actor);
    }
    c.key_ctr_e.Append(static_cast<int64_t>(op.elem.counter));
    c.key_str_e.AppendNull();
  }
  c.insert_e.Append(op.insert);
  c.action_e.Append(uint64_t{static_cast<uint8_t>(op.action)});
  c.vmeta_e.Append(EncodeValue(op.value, c.vraw));
  c.pred_n_e.Append(uint64_t{op.pred.size()});
  for (const OpId& p : op.pred) {
    Use(p.actor);
    pred_actor_.Append(p.actor);
    c.pred_ctr_e.Append(static_cast<int64_t>(p.counter));
  }
  c.expand_e.Append(op.expand);
  c.any_expand |= op.expand;
  c.mark_e.Append(op.mark_name);
  ++n_;
}

void PendingChange::Finish(Change& ch, const std::vector<ActorId>& actors,
                           uint32_t author) {
  if (!cols_) cols_ = std::make_unique<Columns>();
  Columns& c = *cols_;
  ch.actor = actors[author];
  // The change's actor table: the author, then the other actors the ops
  // use, sorted by bytes (document actors are distinct).
  std::vector<uint32_t> others;
  for (uint32_t a = 0; a < used_.size(); ++a)
    if (used_[a] && a != author) others.push_back(a);
  std::sort(others.begin(), others.end(),
            [&](uint32_t x, uint32_t y) { return actors[x] < actors[y]; });
  std::vector<uint32_t> map(std::max<size_t>(used_.size(), author + 1), 0);
  ch.other_actors.clear();
  for (uint32_t i = 0; i < others.size(); ++i) {
    map[others[i]] = i + 1;
    ch.other_actors.push_back(actors[others[i]]);
  }
  map[author] = 0;
  auto encode_actors = [&](const ActorRuns& runs) {
    Bytes out;
    UintRleEncoder e(out);
    for (const auto& [v, n] : runs.runs)
      for (uint32_t k = 0; k < n; ++k) {
        if (v == kNull)
          e.AppendNull();
        else
          e.Append(uint64_t{map[v]});
      }
    e.Finish();
    return out;
  };
  c.obj_ctr_e.Finish();
  c.key_ctr_e.Finish();
  c.key_str_e.Finish();
  c.insert_e.Finish();
  c.action_e.Finish();
  c.vmeta_e.Finish();
  c.pred_n_e.Finish();
  c.pred_ctr_e.Finish();
  c.expand_e.Finish();
  c.mark_e.Finish();
  if (!c.any_expand) c.expand.clear();

  std::vector<OutColumn> cols;
  cols.push_back({Spec(0, kActor), encode_actors(obj_actor_)});
  cols.push_back({Spec(0, kUintRle), std::move(c.obj_ctr)});
  cols.push_back({Spec(1, kActor), encode_actors(key_actor_)});
  cols.push_back({Spec(1, kDelta), std::move(c.key_ctr)});
  cols.push_back({Spec(1, kStringRle), std::move(c.key_str)});
  cols.push_back({Spec(3, kBool), std::move(c.insert)});
  cols.push_back({Spec(4, kUintRle), std::move(c.action)});
  cols.push_back({Spec(5, kValueMeta), std::move(c.vmeta)});
  cols.push_back({Spec(5, kValueRaw), std::move(c.vraw)});
  cols.push_back({Spec(7, kGroup), std::move(c.pred_n)});
  cols.push_back({Spec(7, kActor), encode_actors(pred_actor_)});
  cols.push_back({Spec(7, kDelta), std::move(c.pred_ctr)});
  cols.push_back({Spec(9, kBool), std::move(c.expand)});
  cols.push_back({Spec(10, kStringRle), std::move(c.mark)});
  cols_.reset();
  obj_actor_ = {};
  key_actor_ = {};
  pred_actor_ = {};
  used_.clear();
  n_ = 0;

  Bytes body;
  size_t total = 64 + ch.actor.size() + ch.message.size() + ch.extra.size() +
                 ch.deps.size() * 32;
  for (const auto& col : cols) total += col.data.size() + 8;
  for (const auto& a : ch.other_actors) total += a.size() + 2;
  body.reserve(total);
  AppendUleb(body, ch.deps.size());
  for (const auto& d : ch.deps) body.insert(body.end(), d.begin(), d.end());
  AppendUleb(body, ch.actor.size());
  Append(body, ch.actor);
  AppendUleb(body, ch.seq);
  AppendUleb(body, ch.start_op);
  AppendSleb(body, ch.time);
  AppendUleb(body, ch.message.size());
  Append(body, AsBytes(ch.message));
  AppendUleb(body, ch.other_actors.size());
  for (const auto& a : ch.other_actors) {
    AppendUleb(body, a.size());
    Append(body, a);
  }
  WriteColumnMeta(cols, body);
  WriteColumnData(cols, body);
  cols.clear();
  Append(body, ch.extra);
  ch.hash = ChunkHash(ChunkType::kChange, body);
  Bytes out;
  out.reserve(body.size() + 18);
  out.insert(out.end(), kMagic, kMagic + 4);
  out.insert(out.end(), ch.hash.begin(), ch.hash.begin() + 4);
  out.push_back(static_cast<uint8_t>(ChunkType::kChange));
  AppendUleb(out, body.size());
  Append(out, body);
  ch.bytes = std::move(out);
}

}  // namespace vudo::automerge
