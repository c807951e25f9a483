#include "automerge/change.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "automerge/columnar.h"
#include "base/encoding.h"
#include "base/inflate.h"
#include "base/leb128.h"
#include "crypto/hash.h"

namespace vudo::automerge {

namespace {

// A decoder may produce at most this many ops per input byte (plus a
// constant): RLE lets a few bytes describe many ops, but an absurd count is
// hostile input, not a document.
constexpr size_t kOpsPerByte = 64;
constexpr size_t kOpsSlack = 4096;

}  // namespace

std::string HashToHex(const ChangeHash& hash) { return HexEncode(hash); }

Result<ChangeHash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64)
    return Err(ErrorCode::kInvalidArgument, "a change hash is 64 hex digits");
  VUDO_ASSIGN_OR_RETURN(Bytes b, HexDecode(hex));
  ChangeHash h;
  std::memcpy(h.data(), b.data(), 32);
  return h;
}

const char* ObjTypeName(ObjType type) {
  switch (type) {
    case ObjType::kMap:
      return "map";
    case ObjType::kList:
      return "list";
    case ObjType::kText:
      return "text";
    case ObjType::kTable:
      return "table";
  }
  return "?";
}

bool ScalarValue::operator==(const ScalarValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case ScalarType::kNull:
      return true;
    case ScalarType::kBool:
      return b == o.b;
    case ScalarType::kUint:
      return u == o.u;
    case ScalarType::kInt:
    case ScalarType::kCounter:
    case ScalarType::kTimestamp:
      return i == o.i;
    case ScalarType::kF64:
      return std::memcmp(&f, &o.f, sizeof f) == 0;
    case ScalarType::kStr:
    case ScalarType::kBytes:
      return s == o.s;
    case ScalarType::kUnknown:
      return unknown_tag == o.unknown_tag && s == o.s;
  }
  return false;
}

ChangeHash ChunkHash(ChunkType type, ByteSpan body) {
  crypto::Sha256Hasher h;
  Bytes prefix;
  prefix.push_back(static_cast<uint8_t>(type));
  AppendUleb(prefix, body.size());
  h.Update(prefix);
  h.Update(body);
  return h.Finish();
}

namespace {

Bytes WriteChunkWithHash(ChunkType type, ByteSpan body,
                         const ChangeHash& hash) {
  Bytes out;
  out.reserve(body.size() + 18);
  out.insert(out.end(), kMagic, kMagic + 4);
  out.insert(out.end(), hash.begin(), hash.begin() + 4);
  out.push_back(static_cast<uint8_t>(type));
  AppendUleb(out, body.size());
  Append(out, body);
  return out;
}

}  // namespace

Bytes WriteChunk(ChunkType type, ByteSpan body) {
  return WriteChunkWithHash(type, body, ChunkHash(type, body));
}

Bytes Deflate(ByteSpan data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
               Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&zs, data.size()));
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Result<Bytes> Inflate(ByteSpan data, size_t max_out) {
  return InflateBytes(data, InflateFormat::kRawDeflate, max_out);
}

Result<Chunk> ReadChunk(ByteSpan data) {
  ByteReader r(data);
  VUDO_ASSIGN_OR_RETURN(ByteSpan magic, r.ReadSpan(4));
  if (std::memcmp(magic.data(), kMagic, 4) != 0)
    return Err(ErrorCode::kInvalidArgument, "not an automerge chunk (magic)");
  VUDO_ASSIGN_OR_RETURN(ByteSpan checksum, r.ReadSpan(4));
  VUDO_ASSIGN_OR_RETURN(uint8_t type, r.ReadU8());
  if (type > 3)
    return Err(ErrorCode::kInvalidArgument, "unknown chunk type {}", type);
  VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r));
  if (len > r.remaining())
    return Err(ErrorCode::kTruncated, "chunk of {} bytes, {} available", len,
               r.remaining());
  Chunk c;
  c.type = static_cast<ChunkType>(type);
  VUDO_ASSIGN_OR_RETURN(c.body, r.ReadSpan(len));
  c.encoded_size = r.position();
  if (c.type == ChunkType::kCompressedChange) {
    VUDO_ASSIGN_OR_RETURN(c.inflated, Inflate(c.body));
    c.body = c.inflated;
    c.hash = ChunkHash(ChunkType::kChange, c.body);
  } else {
    c.hash = ChunkHash(c.type, c.body);
  }
  if (std::memcmp(c.hash.data(), checksum.data(), 4) != 0)
    return Err(ErrorCode::kCorrupt, "bad checksum");
  return c;
}

Result<Bytes> CompressChange(ByteSpan change_chunk) {
  VUDO_ASSIGN_OR_RETURN(Chunk c, ReadChunk(change_chunk));
  if (c.type != ChunkType::kChange)
    return Err(ErrorCode::kInvalidArgument, "not a type-1 change chunk");
  Bytes body = Deflate(c.body);
  Bytes out;
  out.reserve(4 + 4 + 1 + 10 + body.size());
  Append(out, ByteSpan(kMagic, 4));
  Append(out, ByteSpan(c.hash.data(), 4));
  out.push_back(static_cast<uint8_t>(ChunkType::kCompressedChange));
  AppendUleb(out, body.size());
  Append(out, body);
  return out;
}

namespace {

Result<ActorId> ReadActor(ByteReader& r) {
  VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r));
  if (len > r.remaining())
    return Err(ErrorCode::kTruncated, "actor id of {} bytes", len);
  return r.ReadBytes(len);
}

template <typename V>
auto At(const std::vector<V>& v, size_t i) -> V {
  return i < v.size() ? v[i] : V{};
}

}  // namespace

namespace {

// Reads the header fields into `ch`; leaves `r` at the column metadata.
Status ReadHeaderFields(ByteReader& r, Change& ch) {
  VUDO_ASSIGN_OR_RETURN(uint64_t ndeps, ReadUleb(r));
  if (ndeps > r.remaining() / 32)
    return Err(ErrorCode::kTruncated, "{} deps declared", ndeps);
  for (uint64_t i = 0; i < ndeps; ++i) {
    VUDO_ASSIGN_OR_RETURN(auto d, r.ReadArray<32>());
    ch.deps.push_back(d);
  }
  VUDO_ASSIGN_OR_RETURN(ch.actor, ReadActor(r));
  VUDO_ASSIGN_OR_RETURN(ch.seq, ReadUleb(r));
  VUDO_ASSIGN_OR_RETURN(ch.start_op, ReadUleb(r));
  VUDO_ASSIGN_OR_RETURN(ch.time, ReadSleb(r));
  VUDO_ASSIGN_OR_RETURN(uint64_t mlen, ReadUleb(r));
  if (mlen > r.remaining())
    return Err(ErrorCode::kTruncated, "message of {} bytes", mlen);
  VUDO_ASSIGN_OR_RETURN(ByteSpan msg, r.ReadSpan(mlen));
  ch.message = std::string(AsString(msg));
  if (!col::IsValidUtf8(ch.message))
    return Err(ErrorCode::kInvalidArgument, "change message is not UTF-8");
  VUDO_ASSIGN_OR_RETURN(uint64_t nother, ReadUleb(r));
  if (nother > r.remaining())
    return Err(ErrorCode::kTruncated, "{} actors declared", nother);
  for (uint64_t i = 0; i < nother; ++i) {
    VUDO_ASSIGN_OR_RETURN(ActorId a, ReadActor(r));
    ch.other_actors.push_back(std::move(a));
  }
  if (ch.start_op == 0)
    return Err(ErrorCode::kInvalidArgument, "change start op 0");
  if (ch.seq == 0) return Err(ErrorCode::kInvalidArgument, "change seq 0");
  return Ok();
}

}  // namespace

Result<ChangeHeader> ReadChangeHeader(ByteSpan body) {
  ByteReader r(body);
  Change ch;
  VUDO_TRY(ReadHeaderFields(r, ch));
  VUDO_ASSIGN_OR_RETURN(auto meta, col::ReadColumnMeta(r, r.remaining()));
  uint64_t total = 0;
  for (const auto& m : meta) total += m.len;
  VUDO_TRY(r.Skip(total));
  ChangeHeader h;
  h.deps = std::move(ch.deps);
  h.actor = std::move(ch.actor);
  h.seq = ch.seq;
  h.start_op = ch.start_op;
  h.time = ch.time;
  h.message = std::move(ch.message);
  h.other_actors = std::move(ch.other_actors);
  h.extra = r.rest();
  return h;
}

Result<Change> DecodeChangeBody(ByteSpan body, const ChangeHash& hash) {
  using namespace col;
  ByteReader r(body);
  Change ch;
  VUDO_TRY(ReadHeaderFields(r, ch));
  VUDO_ASSIGN_OR_RETURN(auto meta, ReadColumnMeta(r, r.remaining()));
  size_t consumed = 0;
  VUDO_ASSIGN_OR_RETURN(Columns cols,
                        Columns::Slice(meta, r.rest(), &consumed));
  VUDO_TRY(r.Skip(consumed));
  ch.extra = ToBytes(r.rest());

  const size_t max_ops = body.size() * kOpsPerByte + kOpsSlack;
  VUDO_ASSIGN_OR_RETURN(auto action,
                        DecodeUintRle(cols.Get(Spec(4, kUintRle)), max_ops));
  const size_t n = action.size();
  VUDO_ASSIGN_OR_RETURN(auto obj_actor,
                        DecodeUintRle(cols.Get(Spec(0, kActor)), n));
  VUDO_ASSIGN_OR_RETURN(auto obj_ctr,
                        DecodeUintRle(cols.Get(Spec(0, kUintRle)), n));
  VUDO_ASSIGN_OR_RETURN(auto key_actor,
                        DecodeUintRle(cols.Get(Spec(1, kActor)), n));
  VUDO_ASSIGN_OR_RETURN(auto key_ctr,
                        DecodeDelta(cols.Get(Spec(1, kDelta)), n));
  VUDO_ASSIGN_OR_RETURN(auto key_str,
                        DecodeStrRle(cols.Get(Spec(1, kStringRle)), n));
  VUDO_ASSIGN_OR_RETURN(auto insert, DecodeBool(cols.Get(Spec(3, kBool)), n));
  VUDO_ASSIGN_OR_RETURN(auto values,
                        DecodeValues(cols.Get(Spec(5, kValueMeta)),
                                     cols.Get(Spec(5, kValueRaw)), n));
  VUDO_ASSIGN_OR_RETURN(auto pred_n,
                        DecodeUintRle(cols.Get(Spec(7, kGroup)), n));
  VUDO_ASSIGN_OR_RETURN(auto expand, DecodeBool(cols.Get(Spec(9, kBool)), n));
  VUDO_ASSIGN_OR_RETURN(auto mark_name,
                        DecodeStrRle(cols.Get(Spec(10, kStringRle)), n));
  uint64_t total_pred = 0;
  for (const auto& p : pred_n) {
    total_pred += p.value_or(0);
    if (total_pred > max_ops)
      return Err(ErrorCode::kOverflow, "too many preds");
  }
  VUDO_ASSIGN_OR_RETURN(auto pred_actor,
                        DecodeUintRle(cols.Get(Spec(7, kActor)), total_pred));
  VUDO_ASSIGN_OR_RETURN(auto pred_ctr,
                        DecodeDelta(cols.Get(Spec(7, kDelta)), total_pred));
  if (pred_actor.size() != total_pred || pred_ctr.size() != total_pred)
    return Err(ErrorCode::kCorrupt, "pred columns hold {}/{} of {} ids",
               pred_actor.size(), pred_ctr.size(), total_pred);

  const uint64_t num_actors = 1 + ch.other_actors.size();
  auto actor_index = [&](const std::optional<uint64_t>& a) -> Result<uint32_t> {
    if (!a) return Err(ErrorCode::kCorrupt, "missing actor in op");
    if (*a >= num_actors)
      return Err(ErrorCode::kCorrupt, "actor index {} out of range", *a);
    return static_cast<uint32_t>(*a);
  };
  ch.ops.resize(n);
  size_t pi = 0;
  for (size_t i = 0; i < n; ++i) {
    ChangeOp& op = ch.ops[i];
    if (!action[i] || *action[i] > 7)
      return Err(ErrorCode::kInvalidArgument, "unknown op action");
    op.action = static_cast<Action>(*action[i]);
    auto oc = At(obj_ctr, i);
    if (oc) {
      if (*oc == 0) return Err(ErrorCode::kCorrupt, "object counter 0");
      VUDO_ASSIGN_OR_RETURN(op.obj.actor, actor_index(At(obj_actor, i)));
      op.obj.counter = *oc;
    } else if (At(obj_actor, i)) {
      return Err(ErrorCode::kCorrupt, "object actor without counter");
    }
    auto ks = At(key_str, i);
    if (ks) {
      op.key_is_str = true;
      op.key = std::move(*ks);
    } else {
      auto kc = At(key_ctr, i);
      if (!kc) return Err(ErrorCode::kCorrupt, "op without a key");
      if (*kc < 0) return Err(ErrorCode::kCorrupt, "negative key counter");
      op.elem.counter = static_cast<uint64_t>(*kc);
      if (*kc != 0) {
        VUDO_ASSIGN_OR_RETURN(op.elem.actor, actor_index(At(key_actor, i)));
      }
    }
    op.insert = i < insert.size() && insert[i];
    if (i < values.size()) op.value = std::move(values[i]);
    uint64_t np = At(pred_n, i).value_or(0);
    for (uint64_t k = 0; k < np; ++k, ++pi) {
      if (!pred_ctr[pi] || *pred_ctr[pi] <= 0)
        return Err(ErrorCode::kCorrupt, "bad pred counter");
      VUDO_ASSIGN_OR_RETURN(uint32_t pa, actor_index(pred_actor[pi]));
      op.pred.push_back({static_cast<uint64_t>(*pred_ctr[pi]), pa});
    }
    op.expand = i < expand.size() && expand[i];
    op.mark_name = At(mark_name, i);
  }
  if (ch.start_op > UINT64_MAX / 2 || n > UINT64_MAX / 2)
    return Err(ErrorCode::kOverflow, "start op too large");
  ch.bytes = WriteChunkWithHash(ChunkType::kChange, body, hash);
  ch.hash = hash;
  return ch;
}

Result<Change> DecodeChange(ByteSpan chunk) {
  VUDO_ASSIGN_OR_RETURN(Chunk c, ReadChunk(chunk));
  if (c.type != ChunkType::kChange && c.type != ChunkType::kCompressedChange)
    return Err(ErrorCode::kInvalidArgument, "chunk type {} is not a change",
               static_cast<int>(c.type));
  if (c.encoded_size != chunk.size())
    return Err(ErrorCode::kInvalidArgument, "{} bytes after the change chunk",
               chunk.size() - c.encoded_size);
  return DecodeChangeBody(c.body, c.hash);
}

namespace {

// Orders actor indexes of `table` by actor bytes.
struct ActorLess {
  const std::vector<const ActorId*>& table;
  bool operator()(uint32_t a, uint32_t b) const {
    return *table[a] < *table[b];
  }
};

}  // namespace

template <typename Ops>
Status EncodeChangeImpl(Change& ch, Ops& ops) {
  using namespace col;
  std::vector<const ActorId*> table;
  table.push_back(&ch.actor);
  for (const auto& a : ch.other_actors) table.push_back(&a);
  const uint32_t nt = static_cast<uint32_t>(table.size());
  // Which actors do the ops reference?
  std::vector<bool> used(nt, false);
  auto use = [&](uint32_t a) -> Status {
    if (a >= nt)
      return Err(ErrorCode::kInvalidArgument, "actor index {} out of range", a);
    used[a] = true;
    return Ok();
  };
  for (const auto& op : ops) {
    if (op.obj.counter != 0) VUDO_TRY(use(op.obj.actor));
    if (!op.key_is_str && op.elem.counter != 0) VUDO_TRY(use(op.elem.actor));
    for (const auto& p : op.pred) VUDO_TRY(use(p.actor));
  }
  std::vector<uint32_t> others;
  for (uint32_t i = 1; i < nt; ++i)
    if (used[i] && *table[i] != ch.actor) others.push_back(i);
  std::sort(others.begin(), others.end(), ActorLess{table});
  // Drop duplicates (same bytes listed twice).
  std::vector<uint32_t> map(nt, 0);
  std::vector<ActorId> new_others;
  for (uint32_t i : others) {
    if (!new_others.empty() && new_others.back() == *table[i]) {
      map[i] = static_cast<uint32_t>(new_others.size());
      continue;
    }
    new_others.push_back(*table[i]);
    map[i] = static_cast<uint32_t>(new_others.size());
  }
  for (uint32_t i = 1; i < nt; ++i)
    if (*table[i] == ch.actor) map[i] = 0;

  Bytes c_obj_actor, c_obj_ctr, c_key_actor, c_key_ctr, c_key_str, c_insert,
      c_action, c_vmeta, c_vraw, c_pred_n, c_pred_actor, c_pred_ctr, c_expand,
      c_mark;
  {
    UintRleEncoder obj_actor(c_obj_actor), obj_ctr(c_obj_ctr),
        key_actor(c_key_actor), action(c_action), vmeta(c_vmeta),
        pred_n(c_pred_n), pred_actor(c_pred_actor);
    DeltaEncoder key_ctr(c_key_ctr), pred_ctr(c_pred_ctr);
    StrRleEncoder key_str(c_key_str), mark(c_mark);
    BoolEncoder insert(c_insert), expand(c_expand);
    bool any_expand = false;
    for (auto& op : ops) {
      if (op.obj.counter == 0) {
        obj_actor.AppendNull();
        obj_ctr.AppendNull();
      } else {
        op.obj.actor = map[op.obj.actor];
        obj_actor.Append(uint64_t{op.obj.actor});
        obj_ctr.Append(op.obj.counter);
      }
      if (op.key_is_str) {
        key_actor.AppendNull();
        key_ctr.AppendNull();
        key_str.Append(op.key);
      } else {
        if (op.elem.counter == 0) {
          key_actor.AppendNull();
        } else {
          op.elem.actor = map[op.elem.actor];
          key_actor.Append(uint64_t{op.elem.actor});
        }
        key_ctr.Append(static_cast<int64_t>(op.elem.counter));
        key_str.AppendNull();
      }
      insert.Append(op.insert);
      action.Append(uint64_t{static_cast<uint8_t>(op.action)});
      vmeta.Append(EncodeValue(op.value, c_vraw));
      pred_n.Append(uint64_t{op.pred.size()});
      for (auto& p : op.pred) {
        p.actor = map[p.actor];
        pred_actor.Append(uint64_t{p.actor});
        pred_ctr.Append(static_cast<int64_t>(p.counter));
      }
      expand.Append(op.expand);
      any_expand |= op.expand;
      mark.Append(op.mark_name);
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
    if (!any_expand) c_expand.clear();
  }
  ch.other_actors = std::move(new_others);

  std::vector<OutColumn> cols;
  cols.push_back({Spec(0, kActor), std::move(c_obj_actor)});
  cols.push_back({Spec(0, kUintRle), std::move(c_obj_ctr)});
  cols.push_back({Spec(1, kActor), std::move(c_key_actor)});
  cols.push_back({Spec(1, kDelta), std::move(c_key_ctr)});
  cols.push_back({Spec(1, kStringRle), std::move(c_key_str)});
  cols.push_back({Spec(3, kBool), std::move(c_insert)});
  cols.push_back({Spec(4, kUintRle), std::move(c_action)});
  cols.push_back({Spec(5, kValueMeta), std::move(c_vmeta)});
  cols.push_back({Spec(5, kValueRaw), std::move(c_vraw)});
  cols.push_back({Spec(7, kGroup), std::move(c_pred_n)});
  cols.push_back({Spec(7, kActor), std::move(c_pred_actor)});
  cols.push_back({Spec(7, kDelta), std::move(c_pred_ctr)});
  cols.push_back({Spec(9, kBool), std::move(c_expand)});
  cols.push_back({Spec(10, kStringRle), std::move(c_mark)});

  Bytes body;
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
  Append(body, ch.extra);
  ch.hash = ChunkHash(ChunkType::kChange, body);
  ch.bytes = WriteChunkWithHash(ChunkType::kChange, body, ch.hash);
  return Ok();
}

Status EncodeChange(Change& ch) { return EncodeChangeImpl(ch, ch.ops); }

Status EncodeChange(Change& ch, std::deque<ChangeOp>& ops) {
  return EncodeChangeImpl(ch, ops);
}

}  // namespace vudo::automerge
