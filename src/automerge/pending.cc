#include "automerge/pending.h"

#include <algorithm>
#include <new>

#include "automerge/columnar.h"
#include "base/leb128.h"

namespace vudo::automerge {

using namespace col;

namespace {

// Buffers above this size are released after a commit (a big transaction
// should not pin its column memory); smaller ones are kept for the next.
constexpr size_t kKeepCapacity = size_t{64} << 10;

// Room left in front of the body for magic, checksum, type and uleb(len).
constexpr size_t kHeaderRoom = 4 + 4 + 1 + 10;

void Recycle(Bytes& b) {
  if (b.capacity() > kKeepCapacity)
    Bytes().swap(b);
  else
    b.clear();
}

}  // namespace

// The columns of the change with their encoders (which point at the
// buffers, so this struct never moves). Reused from change to change.
struct PendingChange::Columns {
  Bytes obj_actor, obj_ctr, key_actor, key_ctr, key_str, insert, action, vmeta,
      vraw, pred_n, pred_actor, pred_ctr, expand, mark;
  struct Encoders {
    explicit Encoders(Columns& c)
        : obj_ctr(c.obj_ctr),
          action(c.action),
          vmeta(c.vmeta),
          pred_n(c.pred_n),
          key_ctr(c.key_ctr),
          pred_ctr(c.pred_ctr),
          key_str(c.key_str),
          mark(c.mark),
          insert(c.insert),
          expand(c.expand) {}
    UintRleEncoder obj_ctr, action, vmeta, pred_n;
    DeltaEncoder key_ctr, pred_ctr;
    StrRleEncoder key_str, mark;
    BoolEncoder insert, expand;
  };
  Encoders e{*this};
  bool any_expand = false;

  void Reset() {
    for (Bytes* b : {&obj_actor, &obj_ctr, &key_actor, &key_ctr, &key_str,
                     &insert, &action, &vmeta, &vraw, &pred_n, &pred_actor,
                     &pred_ctr, &expand, &mark})
      Recycle(*b);
    e.~Encoders();
    new (&e) Encoders(*this);
    any_expand = false;
  }
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
  Columns::Encoders& c = cols_->e;
  if (op.obj.counter == 0) {
    obj_actor_.Append(kNull);
    c.obj_ctr.AppendNull();
  } else {
    Use(op.obj.actor);
    obj_actor_.Append(op.obj.actor);
    c.obj_ctr.Append(op.obj.counter);
  }
  if (op.key_is_str) {
    key_actor_.Append(kNull);
    c.key_ctr.AppendNull();
    c.key_str.Append(op.key);
  } else {
    if (op.elem.counter == 0) {
      key_actor_.Append(kNull);
    } else {
      Use(op.elem.actor);
      key_actor_.Append(op.elem.actor);
    }
    c.key_ctr.Append(static_cast<int64_t>(op.elem.counter));
    c.key_str.AppendNull();
  }
  c.insert.Append(op.insert);
  c.action.Append(uint64_t{static_cast<uint8_t>(op.action)});
  c.vmeta.Append(EncodeValue(op.value, cols_->vraw));
  c.pred_n.Append(uint64_t{op.pred.size()});
  for (const OpId& p : op.pred) {
    Use(p.actor);
    pred_actor_.Append(p.actor);
    c.pred_ctr.Append(static_cast<int64_t>(p.counter));
  }
  c.expand.Append(op.expand);
  cols_->any_expand |= op.expand;
  c.mark.Append(op.mark_name);
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
  map_.assign(std::max<size_t>(used_.size(), author + 1), 0);
  std::vector<uint32_t>& map = map_;
  ch.other_actors.clear();
  for (uint32_t i = 0; i < others.size(); ++i) {
    map[others[i]] = i + 1;
    ch.other_actors.push_back(actors[others[i]]);
  }
  map[author] = 0;
  auto encode_actors = [&](const ActorRuns& runs, Bytes& out) {
    UintRleEncoder e(out);
    for (const auto& [v, n] : runs.runs)
      for (uint32_t k = 0; k < n; ++k) {
        if (v == kNull)
          e.AppendNull();
        else
          e.Append(uint64_t{map[v]});
      }
    e.Finish();
  };
  encode_actors(obj_actor_, c.obj_actor);
  encode_actors(key_actor_, c.key_actor);
  encode_actors(pred_actor_, c.pred_actor);
  c.e.obj_ctr.Finish();
  c.e.key_ctr.Finish();
  c.e.key_str.Finish();
  c.e.insert.Finish();
  c.e.action.Finish();
  c.e.vmeta.Finish();
  c.e.pred_n.Finish();
  c.e.pred_ctr.Finish();
  c.e.expand.Finish();
  c.e.mark.Finish();
  if (!c.any_expand) c.expand.clear();

  // Spec order, as EncodeChange writes them; empty columns are not listed.
  const std::pair<uint32_t, const Bytes*> cols[] = {
      {Spec(0, kActor), &c.obj_actor},   {Spec(0, kUintRle), &c.obj_ctr},
      {Spec(1, kActor), &c.key_actor},   {Spec(1, kDelta), &c.key_ctr},
      {Spec(1, kStringRle), &c.key_str}, {Spec(3, kBool), &c.insert},
      {Spec(4, kUintRle), &c.action},    {Spec(5, kValueMeta), &c.vmeta},
      {Spec(5, kValueRaw), &c.vraw},     {Spec(7, kGroup), &c.pred_n},
      {Spec(7, kActor), &c.pred_actor},  {Spec(7, kDelta), &c.pred_ctr},
      {Spec(9, kBool), &c.expand},       {Spec(10, kStringRle), &c.mark}};

  // The chunk is built in one buffer: the body after room for the header,
  // which is written in front of it at the end.
  Bytes out;
  size_t total = kHeaderRoom + 64 + ch.actor.size() + ch.message.size() +
                 ch.extra.size() + ch.deps.size() * 32;
  for (const auto& [spec, data] : cols) total += data->size() + 8;
  for (const auto& a : ch.other_actors) total += a.size() + 2;
  out.reserve(total);
  out.resize(kHeaderRoom);
  AppendUleb(out, ch.deps.size());
  for (const auto& d : ch.deps) out.insert(out.end(), d.begin(), d.end());
  AppendUleb(out, ch.actor.size());
  Append(out, ch.actor);
  AppendUleb(out, ch.seq);
  AppendUleb(out, ch.start_op);
  AppendSleb(out, ch.time);
  AppendUleb(out, ch.message.size());
  Append(out, AsBytes(ch.message));
  AppendUleb(out, ch.other_actors.size());
  for (const auto& a : ch.other_actors) {
    AppendUleb(out, a.size());
    Append(out, a);
  }
  size_t ncols = 0;
  for (const auto& [spec, data] : cols) ncols += !data->empty();
  AppendUleb(out, ncols);
  for (const auto& [spec, data] : cols) {
    if (data->empty()) continue;
    AppendUleb(out, spec);
    AppendUleb(out, data->size());
  }
  for (const auto& [spec, data] : cols) Append(out, *data);
  Append(out, ch.extra);
  const size_t body_len = out.size() - kHeaderRoom;
  ch.hash = ChunkHash(ChunkType::kChange,
                      ByteSpan(out.data() + kHeaderRoom, body_len));
  uint8_t head[kHeaderRoom];
  size_t n = 0;
  for (uint8_t b : kMagic) head[n++] = b;
  for (int i = 0; i < 4; ++i) head[n++] = ch.hash[i];
  head[n++] = static_cast<uint8_t>(ChunkType::kChange);
  for (uint64_t v = body_len;;) {
    uint8_t b = v & 0x7f;
    v >>= 7;
    head[n++] = v ? (b | 0x80) : b;
    if (!v) break;
  }
  const size_t start = kHeaderRoom - n;
  std::copy(head, head + n, out.begin() + start);
  out.erase(out.begin(), out.begin() + start);
  ch.bytes = std::move(out);

  // Ready for the next change.
  c.Reset();
  obj_actor_.runs.clear();
  key_actor_.runs.clear();
  pred_actor_.runs.clear();
  std::fill(used_.begin(), used_.end(), false);
  n_ = 0;
}

}  // namespace vudo::automerge
