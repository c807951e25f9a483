#include "automerge/columnar.h"

#include <cstring>

#include "automerge/change.h"

namespace vudo::automerge::col {

namespace {

// Shared RLE decoding loop. read_value(ByteReader&) -> Result<T>.
template <typename T, typename ReadFn>
Result<std::vector<std::optional<T>>> DecodeRle(ByteSpan data, size_t max_items,
                                                ReadFn read_value) {
  std::vector<std::optional<T>> out;
  ByteReader r(data);
  while (!r.empty()) {
    VUDO_ASSIGN_OR_RETURN(int64_t n, ReadSleb(r));
    if (n > 0) {
      if (static_cast<uint64_t>(n) > max_items - out.size())
        return Err(ErrorCode::kOverflow, "RLE run of {} exceeds {} items", n,
                   max_items);
      VUDO_ASSIGN_OR_RETURN(T v, read_value(r));
      out.insert(out.end(), static_cast<size_t>(n), std::optional<T>(v));
    } else if (n < 0) {
      uint64_t k = static_cast<uint64_t>(-(n + 1)) + 1;
      if (k > max_items - out.size())
        return Err(ErrorCode::kOverflow, "RLE literal of {} exceeds {} items",
                   k, max_items);
      // Each literal needs at least one byte.
      if (k > r.remaining())
        return Err(ErrorCode::kTruncated, "RLE literal of {} values", k);
      for (uint64_t i = 0; i < k; ++i) {
        VUDO_ASSIGN_OR_RETURN(T v, read_value(r));
        out.emplace_back(std::move(v));
      }
    } else {
      VUDO_ASSIGN_OR_RETURN(uint64_t k, ReadUleb(r));
      if (k > max_items - out.size())
        return Err(ErrorCode::kOverflow, "RLE null run of {} exceeds {} items",
                   k, max_items);
      out.insert(out.end(), static_cast<size_t>(k), std::nullopt);
    }
  }
  return out;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

Result<std::vector<std::optional<uint64_t>>> DecodeUintRle(ByteSpan data,
                                                           size_t max_items) {
  return DecodeRle<uint64_t>(data, max_items,
                             [](ByteReader& r) { return ReadUleb(r); });
}

Result<std::vector<std::optional<std::string>>> DecodeStrRle(ByteSpan data,
                                                             size_t max_items) {
  return DecodeRle<std::string>(
      data, max_items, [](ByteReader& r) -> Result<std::string> {
        VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r));
        if (len > r.remaining())
          return Err(ErrorCode::kTruncated, "string of {} bytes", len);
        VUDO_ASSIGN_OR_RETURN(ByteSpan b, r.ReadSpan(len));
        std::string s(AsString(b));
        if (!IsValidUtf8(s))
          return Err(ErrorCode::kInvalidArgument, "invalid UTF-8 in column");
        return s;
      });
}

Result<std::vector<std::optional<int64_t>>> DecodeDelta(ByteSpan data,
                                                        size_t max_items) {
  VUDO_ASSIGN_OR_RETURN(auto deltas,
                        DecodeRle<int64_t>(data, max_items, [](ByteReader& r) {
                          return ReadSleb(r);
                        }));
  uint64_t abs = 0;
  for (auto& d : deltas) {
    if (!d) continue;
    abs += static_cast<uint64_t>(*d);
    d = static_cast<int64_t>(abs);
  }
  return deltas;
}

Result<std::vector<bool>> DecodeBool(ByteSpan data, size_t max_items) {
  std::vector<bool> out;
  ByteReader r(data);
  bool v = false;
  while (!r.empty()) {
    VUDO_ASSIGN_OR_RETURN(uint64_t n, ReadUleb(r));
    if (n > max_items - out.size())
      return Err(ErrorCode::kOverflow, "boolean run of {} exceeds {} items", n,
                 max_items);
    out.insert(out.end(), static_cast<size_t>(n), v);
    v = !v;
  }
  return out;
}

uint64_t EncodeValue(const ScalarValue& v, Bytes& raw) {
  size_t before = raw.size();
  uint64_t tag = 0;
  switch (v.type) {
    case ScalarType::kNull:
      tag = 0;
      break;
    case ScalarType::kBool:
      tag = v.b ? 2 : 1;
      break;
    case ScalarType::kUint:
      tag = 3;
      AppendUleb(raw, v.u);
      break;
    case ScalarType::kInt:
      tag = 4;
      AppendSleb(raw, v.i);
      break;
    case ScalarType::kF64: {
      tag = 5;
      uint64_t bits;
      std::memcpy(&bits, &v.f, 8);
      for (int i = 0; i < 8; ++i) raw.push_back(uint8_t(bits >> (8 * i)));
      break;
    }
    case ScalarType::kStr:
      tag = 6;
      raw.insert(raw.end(), v.s.begin(), v.s.end());
      break;
    case ScalarType::kBytes:
      tag = 7;
      raw.insert(raw.end(), v.s.begin(), v.s.end());
      break;
    case ScalarType::kCounter:
      tag = 8;
      AppendSleb(raw, v.i);
      break;
    case ScalarType::kTimestamp:
      tag = 9;
      AppendSleb(raw, v.i);
      break;
    case ScalarType::kUnknown:
      tag = v.unknown_tag;
      raw.insert(raw.end(), v.s.begin(), v.s.end());
      break;
  }
  return (uint64_t(raw.size() - before) << 4) | tag;
}

Result<ScalarValue> DecodeValue(uint64_t meta, ByteSpan raw) {
  uint64_t tag = meta & 15;
  auto read_uleb = [&]() -> Result<uint64_t> {
    ByteReader r(raw);
    VUDO_ASSIGN_OR_RETURN(uint64_t v, ReadUleb(r));
    VUDO_TRY(r.ExpectEnd("uint value"));
    return v;
  };
  auto read_sleb = [&]() -> Result<int64_t> {
    ByteReader r(raw);
    VUDO_ASSIGN_OR_RETURN(int64_t v, ReadSleb(r));
    VUDO_TRY(r.ExpectEnd("int value"));
    return v;
  };
  switch (tag) {
    case 0:
    case 1:
    case 2:
      if (!raw.empty())
        return Err(ErrorCode::kInvalidArgument, "null/bool value with {} bytes",
                   raw.size());
      if (tag == 0) return ScalarValue::Null();
      return ScalarValue::Bool(tag == 2);
    case 3: {
      VUDO_ASSIGN_OR_RETURN(uint64_t v, read_uleb());
      return ScalarValue::Uint(v);
    }
    case 4: {
      VUDO_ASSIGN_OR_RETURN(int64_t v, read_sleb());
      return ScalarValue::Int(v);
    }
    case 5: {
      if (raw.size() != 8)
        return Err(ErrorCode::kInvalidArgument, "f64 value of {} bytes",
                   raw.size());
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits |= uint64_t(raw[i]) << (8 * i);
      double d;
      std::memcpy(&d, &bits, 8);
      return ScalarValue::F64(d);
    }
    case 6: {
      std::string s(AsString(raw));
      if (!IsValidUtf8(s))
        return Err(ErrorCode::kInvalidArgument, "invalid UTF-8 string value");
      return ScalarValue::Str(std::move(s));
    }
    case 7:
      return ScalarValue::BytesValue(std::string(AsString(raw)));
    case 8: {
      VUDO_ASSIGN_OR_RETURN(int64_t v, read_sleb());
      return ScalarValue::Counter(v);
    }
    case 9: {
      VUDO_ASSIGN_OR_RETURN(int64_t v, read_sleb());
      return ScalarValue::Timestamp(v);
    }
    default:
      return ScalarValue::Unknown(static_cast<uint8_t>(tag),
                                  std::string(AsString(raw)));
  }
}

Result<std::vector<ScalarValue>> DecodeValues(ByteSpan meta, ByteSpan raw,
                                              size_t max_items) {
  VUDO_ASSIGN_OR_RETURN(auto metas, DecodeUintRle(meta, max_items));
  std::vector<ScalarValue> out;
  out.reserve(metas.size());
  size_t pos = 0;
  for (const auto& m : metas) {
    uint64_t mv = m.value_or(0);
    uint64_t len = mv >> 4;
    if (len > raw.size() - pos)
      return Err(ErrorCode::kTruncated, "value of {} bytes overruns column",
                 len);
    VUDO_ASSIGN_OR_RETURN(ScalarValue v,
                          DecodeValue(mv, raw.subspan(pos, len)));
    pos += len;
    out.push_back(std::move(v));
  }
  if (pos != raw.size())
    return Err(ErrorCode::kCorrupt, "{} unused bytes in value column",
               raw.size() - pos);
  return out;
}

Result<std::vector<ColumnMeta>> ReadColumnMeta(ByteReader& r,
                                               size_t available) {
  VUDO_ASSIGN_OR_RETURN(uint64_t n, ReadUleb(r));
  if (n > r.remaining() / 2)
    return Err(ErrorCode::kTruncated, "{} columns declared", n);
  std::vector<ColumnMeta> out;
  out.reserve(n);
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; ++i) {
    VUDO_ASSIGN_OR_RETURN(uint64_t spec, ReadUleb(r));
    VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r));
    if (spec > 0xffffffffu)
      return Err(ErrorCode::kOverflow, "column spec {}", spec);
    if (!out.empty() && (spec & ~uint64_t{kDeflateBit}) <=
                            (out.back().spec & ~uint32_t{kDeflateBit}))
      return Err(ErrorCode::kCorrupt, "column specs not ascending");
    if (len > available || total + len > available)
      return Err(ErrorCode::kTruncated, "columns overrun the chunk");
    total += len;
    out.push_back({static_cast<uint32_t>(spec), len});
  }
  return out;
}

Result<Columns> Columns::Slice(const std::vector<ColumnMeta>& meta,
                               ByteSpan data, size_t* consumed) {
  Columns c;
  size_t pos = 0;
  for (const auto& m : meta) {
    if (m.len > data.size() - pos)
      return Err(ErrorCode::kTruncated, "column overruns the chunk");
    ByteSpan d = data.subspan(pos, m.len);
    pos += m.len;
    c.specs_.push_back(m.spec & ~kDeflateBit);
    if (m.spec & kDeflateBit) {
      VUDO_ASSIGN_OR_RETURN(Bytes inflated, Inflate(d));
      c.owned_.push_back(std::move(inflated));
      c.data_.push_back({});
    } else {
      c.data_.push_back(d);
    }
  }
  // Point inflated columns at their (now stable) storage.
  size_t k = 0;
  for (size_t i = 0; i < meta.size(); ++i)
    if (meta[i].spec & kDeflateBit) c.data_[i] = c.owned_[k++];
  if (consumed) *consumed = pos;
  return c;
}

ByteSpan Columns::Get(uint32_t spec) const {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i] == spec) return data_[i];
  return {};
}

void WriteColumnMeta(const std::vector<OutColumn>& cols, Bytes& out) {
  size_t n = 0;
  for (const auto& c : cols)
    if (!c.data.empty()) ++n;
  AppendUleb(out, n);
  for (const auto& c : cols) {
    if (c.data.empty()) continue;
    AppendUleb(out, c.spec);
    AppendUleb(out, c.data.size());
  }
}

void WriteColumnData(const std::vector<OutColumn>& cols, Bytes& out) {
  for (const auto& c : cols) Append(out, c.data);
}

}  // namespace vudo::automerge::col
