#include "repo/cbor.h"

#include <cmath>
#include <cstring>

#include "base/encoding.h"

namespace vudo::repo::cbor {

Value Value::Unsigned(uint64_t v) {
  Value r;
  r.type_ = Type::kUnsigned;
  r.uint_ = v;
  return r;
}
Value Value::NegativeMinusOne(uint64_t n) {
  Value r;
  r.type_ = Type::kNegative;
  r.uint_ = n;
  return r;
}
Value Value::Int(int64_t v) {
  if (v >= 0) return Unsigned(uint64_t(v));
  return NegativeMinusOne(uint64_t(-(v + 1)));
}
Value Value::FromBytes(ByteSpan b) {
  Value r;
  r.type_ = Type::kBytes;
  r.bytes_.assign(b.begin(), b.end());
  return r;
}
Value Value::FromBytes(Bytes&& b) {
  Value r;
  r.type_ = Type::kBytes;
  r.bytes_ = std::move(b);
  return r;
}
Value Value::TextFromUtf8(Bytes&& utf8) {
  Value r;
  r.type_ = Type::kText;
  r.bytes_ = std::move(utf8);
  return r;
}
Value Value::Text(std::string_view s) {
  Value r;
  r.type_ = Type::kText;
  r.bytes_ = ToBytes(s);
  return r;
}
Value Value::Array(std::vector<Value> items) {
  Value r;
  r.type_ = Type::kArray;
  r.items_ = std::move(items);
  return r;
}
Value Value::Map(std::vector<std::pair<Value, Value>> entries) {
  Value r;
  r.type_ = Type::kMap;
  r.entries_ = std::move(entries);
  return r;
}
Value Value::Tag(uint64_t tag, Value content) {
  Value r;
  r.type_ = Type::kTag;
  r.uint_ = tag;
  r.items_.push_back(std::move(content));
  return r;
}
Value Value::Bool(bool b) { return Simple(b ? kTrue : kFalse); }
Value Value::Null() { return Simple(kNull); }
Value Value::Undefined() { return Simple(kUndefined); }
Value Value::Simple(uint8_t v) {
  Value r;
  r.type_ = Type::kSimple;
  r.uint_ = v;
  return r;
}
Value Value::Float(double d) {
  Value r;
  r.type_ = Type::kFloat;
  r.float_ = d;
  return r;
}

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const auto& [k, v] : entries_) {
    if (k.type_ == Type::kText && k.text() == key) return &v;
  }
  return nullptr;
}

void Value::Add(std::string_view key, Value v) {
  entries_.emplace_back(Text(key), std::move(v));
}

Result<uint64_t> Value::AsUint(std::string_view what) const {
  if (type_ == Type::kUnsigned) return uint_;
  if (type_ == Type::kFloat) {
    constexpr double kMaxSafe = 9007199254740992.0;  // 2^53
    if (float_ >= 0 && float_ <= kMaxSafe && std::floor(float_) == float_)
      return uint64_t(float_);
  }
  return Err(ErrorCode::kInvalidArgument, "{}: expected a non-negative integer",
             what);
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::kUnsigned:
    case Value::Type::kNegative:
    case Value::Type::kSimple:
      return a.uint_ == b.uint_;
    case Value::Type::kFloat:
      return a.float_ == b.float_;
    case Value::Type::kBytes:
    case Value::Type::kText:
      return a.bytes_ == b.bytes_;
    case Value::Type::kArray:
      return a.items_ == b.items_;
    case Value::Type::kMap:
      return a.entries_ == b.entries_;
    case Value::Type::kTag:
      return a.uint_ == b.uint_ && a.items_ == b.items_;
  }
  return false;
}

namespace {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(ByteSpan s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path, 8 bytes at a time.
    while (s.size() - i >= 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i == s.size()) break;
    uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

double HalfToDouble(uint16_t h) {
  int exp = (h >> 10) & 0x1F;
  int mant = h & 0x3FF;
  double v;
  if (exp == 0) {
    v = std::ldexp(mant, -24);
  } else if (exp == 31) {
    v = mant == 0 ? INFINITY : NAN;
  } else {
    v = std::ldexp(mant + 1024, exp - 25);
  }
  return (h & 0x8000) ? -v : v;
}

class Decoder {
 public:
  Decoder(ByteSpan data, const DecodeLimits& limits)
      : data_(data), reader_(data), limits_(limits) {}

  // The entries of the map that spans all of the input, as raw key/value
  // items (validated like DecodeAll).
  Result<std::vector<RawEntry>> SplitTopMap() {
    VUDO_TRY(CountItem());
    VUDO_ASSIGN_OR_RETURN(Head h, ReadHead());
    if (h.major != 5) {
      return Err(ErrorCode::kInvalidArgument, "cbor: expected a map");
    }
    std::vector<RawEntry> out;
    if (!h.indefinite) {
      if (h.arg > reader_.remaining() / 2) {
        return Err(ErrorCode::kTruncated,
                   "cbor: map of {} entries but only {} bytes remain", h.arg,
                   reader_.remaining());
      }
      VUDO_TRY(CheckCount(h.arg * 2));
      out.reserve(size_t(h.arg));
    }
    for (uint64_t i = 0; h.indefinite || i < h.arg; ++i) {
      if (h.indefinite) {
        if (reader_.empty()) {
          return Err(ErrorCode::kTruncated, "cbor: unterminated map");
        }
        if (AtBreak()) {
          (void)reader_.ReadU8();
          break;
        }
      }
      size_t k0 = reader_.position();
      VUDO_TRY(Skip(1));
      size_t k1 = reader_.position();
      VUDO_TRY(Skip(1));
      size_t v1 = reader_.position();
      out.push_back({data_.subspan(k0, k1 - k0), data_.subspan(k1, v1 - k1)});
    }
    if (!reader_.empty()) {
      return Err(ErrorCode::kInvalidArgument,
                 "cbor: {} trailing bytes after the item", reader_.remaining());
    }
    return out;
  }

  Result<Value> DecodeAll() {
    VUDO_ASSIGN_OR_RETURN(Value v, DecodeItem(0));
    if (!reader_.empty()) {
      return Err(ErrorCode::kInvalidArgument,
                 "cbor: {} trailing bytes after the item", reader_.remaining());
    }
    return v;
  }

 private:
  struct Head {
    uint8_t major;
    uint8_t info;  // additional information (low 5 bits)
    uint64_t arg;  // argument; meaningless when indefinite
    bool indefinite;
  };

  Result<Head> ReadHead() {
    auto byte = reader_.ReadU8();
    if (!byte) return Err(ErrorCode::kTruncated, "cbor: input ends early");
    Head h{uint8_t(*byte >> 5), uint8_t(*byte & 0x1F), 0, false};
    if (h.info < 24) {
      h.arg = h.info;
    } else if (h.info <= 27) {
      size_t n = size_t{1} << (h.info - 24);
      auto span = reader_.ReadSpan(n);
      if (!span) return Err(ErrorCode::kTruncated, "cbor: input ends early");
      for (uint8_t b : *span) h.arg = (h.arg << 8) | b;
    } else if (h.info == 31) {
      if (h.major == 0 || h.major == 1 || h.major == 6) {
        return Err(ErrorCode::kInvalidArgument,
                   "cbor: indefinite length not allowed for major type {}",
                   h.major);
      }
      h.indefinite = true;
    } else {
      return Err(ErrorCode::kInvalidArgument,
                 "cbor: reserved additional information {}", h.info);
    }
    return h;
  }

  Status CountItem() {
    if (++items_ > limits_.max_items) {
      return Err(ErrorCode::kOverflow, "cbor: more than {} items",
                 limits_.max_items);
    }
    return Ok();
  }

  // A container announcing n more items must fit in the item budget; this
  // also bounds what is reserved for it.
  Status CheckCount(uint64_t n) const {
    if (n > limits_.max_items - items_) {
      return Err(ErrorCode::kOverflow, "cbor: more than {} items",
                 limits_.max_items);
    }
    return Ok();
  }

  bool AtBreak() const { return !reader_.empty() && reader_.rest()[0] == 0xFF; }

  // A string of major type 2 or 3 (definite, or indefinite chunks).
  Result<Bytes> ReadString(const Head& h) {
    if (!h.indefinite) {
      if (h.arg > reader_.remaining()) {
        return Err(ErrorCode::kTruncated,
                   "cbor: string of {} bytes but only {} remain", h.arg,
                   reader_.remaining());
      }
      return reader_.ReadBytes(size_t(h.arg));
    }
    Bytes out;
    while (true) {
      if (reader_.empty()) {
        return Err(ErrorCode::kTruncated, "cbor: unterminated string");
      }
      if (AtBreak()) {
        (void)reader_.ReadU8();
        return out;
      }
      VUDO_TRY(CountItem());
      VUDO_ASSIGN_OR_RETURN(Head chunk, ReadHead());
      if (chunk.major != h.major || chunk.indefinite) {
        return Err(ErrorCode::kInvalidArgument,
                   "cbor: bad chunk in an indefinite-length string");
      }
      if (chunk.arg > reader_.remaining()) {
        return Err(ErrorCode::kTruncated, "cbor: string chunk too long");
      }
      VUDO_ASSIGN_OR_RETURN(ByteSpan s, reader_.ReadSpan(size_t(chunk.arg)));
      Append(out, s);
    }
  }

  // Validates one item exactly as DecodeItem does, without building it.
  Status Skip(int depth) {
    if (depth > limits_.max_depth) {
      return Err(ErrorCode::kOverflow, "cbor: nesting deeper than {}",
                 limits_.max_depth);
    }
    VUDO_TRY(CountItem());
    VUDO_ASSIGN_OR_RETURN(Head h, ReadHead());
    switch (h.major) {
      case 0:
      case 1:
        return Ok();
      case 2:
      case 3: {
        if (h.indefinite) {
          VUDO_ASSIGN_OR_RETURN(Bytes b, ReadString(h));
          if (h.major == 3 && !IsValidUtf8(b)) {
            return Err(ErrorCode::kInvalidArgument,
                       "cbor: text string is not valid UTF-8");
          }
          return Ok();
        }
        if (h.arg > reader_.remaining()) {
          return Err(ErrorCode::kTruncated,
                     "cbor: string of {} bytes but only {} remain", h.arg,
                     reader_.remaining());
        }
        VUDO_ASSIGN_OR_RETURN(ByteSpan span, reader_.ReadSpan(size_t(h.arg)));
        if (h.major == 3 && !IsValidUtf8(span)) {
          return Err(ErrorCode::kInvalidArgument,
                     "cbor: text string is not valid UTF-8");
        }
        return Ok();
      }
      case 4:
      case 5: {
        const uint64_t per_entry = h.major == 5 ? 2 : 1;
        if (h.indefinite) {
          while (!AtBreak()) {
            if (reader_.empty()) {
              return Err(ErrorCode::kTruncated, "cbor: unterminated {}",
                         h.major == 5 ? "map" : "array");
            }
            for (uint64_t k = 0; k < per_entry; ++k) VUDO_TRY(Skip(depth + 1));
          }
          (void)reader_.ReadU8();
          return Ok();
        }
        if (h.arg > reader_.remaining() / per_entry) {
          return Err(ErrorCode::kTruncated,
                     "cbor: container of {} entries but only {} bytes remain",
                     h.arg, reader_.remaining());
        }
        VUDO_TRY(CheckCount(h.arg * per_entry));
        for (uint64_t i = 0; i < h.arg * per_entry; ++i) {
          VUDO_TRY(Skip(depth + 1));
        }
        return Ok();
      }
      case 6:
        return Skip(depth + 1);
      default:  // 7
        if (h.indefinite) {
          return Err(ErrorCode::kInvalidArgument, "cbor: unexpected break");
        }
        if (h.info == 24 && h.arg < 32) {
          return Err(ErrorCode::kInvalidArgument,
                     "cbor: simple value {} in two-byte form", h.arg);
        }
        return Ok();
    }
  }

  Result<Value> DecodeItem(int depth) {
    if (depth > limits_.max_depth) {
      return Err(ErrorCode::kOverflow, "cbor: nesting deeper than {}",
                 limits_.max_depth);
    }
    VUDO_TRY(CountItem());
    VUDO_ASSIGN_OR_RETURN(Head h, ReadHead());
    switch (h.major) {
      case 0:
        return Value::Unsigned(h.arg);
      case 1:
        return Value::NegativeMinusOne(h.arg);
      case 2:
      case 3: {
        VUDO_ASSIGN_OR_RETURN(Bytes b, ReadString(h));
        if (h.major == 2) return Value::FromBytes(std::move(b));
        if (!IsValidUtf8(b)) {
          return Err(ErrorCode::kInvalidArgument,
                     "cbor: text string is not valid UTF-8");
        }
        return Value::TextFromUtf8(std::move(b));
      }
      case 4: {
        std::vector<Value> items;
        if (h.indefinite) {
          while (!AtBreak()) {
            if (reader_.empty()) {
              return Err(ErrorCode::kTruncated, "cbor: unterminated array");
            }
            VUDO_ASSIGN_OR_RETURN(Value v, DecodeItem(depth + 1));
            items.push_back(std::move(v));
          }
          (void)reader_.ReadU8();
        } else {
          // Every item takes at least one byte: bound before reserving.
          if (h.arg > reader_.remaining()) {
            return Err(ErrorCode::kTruncated,
                       "cbor: array of {} items but only {} bytes remain",
                       h.arg, reader_.remaining());
          }
          VUDO_TRY(CheckCount(h.arg));
          items.reserve(size_t(h.arg));
          for (uint64_t i = 0; i < h.arg; ++i) {
            VUDO_ASSIGN_OR_RETURN(Value v, DecodeItem(depth + 1));
            items.push_back(std::move(v));
          }
        }
        return Value::Array(std::move(items));
      }
      case 5: {
        std::vector<std::pair<Value, Value>> entries;
        if (h.indefinite) {
          while (!AtBreak()) {
            if (reader_.empty()) {
              return Err(ErrorCode::kTruncated, "cbor: unterminated map");
            }
            VUDO_ASSIGN_OR_RETURN(Value k, DecodeItem(depth + 1));
            VUDO_ASSIGN_OR_RETURN(Value v, DecodeItem(depth + 1));
            entries.emplace_back(std::move(k), std::move(v));
          }
          (void)reader_.ReadU8();
        } else {
          if (h.arg > reader_.remaining() / 2) {
            return Err(ErrorCode::kTruncated,
                       "cbor: map of {} entries but only {} bytes remain",
                       h.arg, reader_.remaining());
          }
          VUDO_TRY(CheckCount(h.arg * 2));
          entries.reserve(size_t(h.arg));
          for (uint64_t i = 0; i < h.arg; ++i) {
            VUDO_ASSIGN_OR_RETURN(Value k, DecodeItem(depth + 1));
            VUDO_ASSIGN_OR_RETURN(Value v, DecodeItem(depth + 1));
            entries.emplace_back(std::move(k), std::move(v));
          }
        }
        return Value::Map(std::move(entries));
      }
      case 6: {
        VUDO_ASSIGN_OR_RETURN(Value content, DecodeItem(depth + 1));
        return Value::Tag(h.arg, std::move(content));
      }
      default:  // 7
        if (h.indefinite) {
          return Err(ErrorCode::kInvalidArgument, "cbor: unexpected break");
        }
        switch (h.info) {
          case 24:
            if (h.arg < 32) {
              return Err(ErrorCode::kInvalidArgument,
                         "cbor: simple value {} in two-byte form", h.arg);
            }
            return Value::Simple(uint8_t(h.arg));
          case 25:
            return Value::Float(HalfToDouble(uint16_t(h.arg)));
          case 26: {
            uint32_t bits = uint32_t(h.arg);
            float f;
            std::memcpy(&f, &bits, 4);
            return Value::Float(double(f));
          }
          case 27: {
            double d;
            std::memcpy(&d, &h.arg, 8);
            return Value::Float(d);
          }
          default:
            return Value::Simple(uint8_t(h.arg));
        }
    }
  }

  ByteSpan data_;
  ByteReader reader_;
  const DecodeLimits& limits_;
  size_t items_ = 0;
};

}  // namespace

void AppendHead(Bytes& out, uint8_t major, uint64_t n) {
  uint8_t m = uint8_t(major << 5);
  if (n < 24) {
    out.push_back(uint8_t(m | n));
  } else if (n <= 0xFF) {
    out.push_back(m | 24);
    out.push_back(uint8_t(n));
  } else if (n <= 0xFFFF) {
    out.push_back(m | 25);
    AppendU16BE(out, uint16_t(n));
  } else if (n <= 0xFFFFFFFF) {
    out.push_back(m | 26);
    AppendU32BE(out, uint32_t(n));
  } else {
    out.push_back(m | 27);
    AppendU64BE(out, n);
  }
}

namespace {

void DiagnosticTo(const Value& v, std::string& out) {
  switch (v.type()) {
    case Value::Type::kUnsigned:
      out += std::to_string(v.uint());
      break;
    case Value::Type::kNegative:
      out += "-" + (v.uint() == UINT64_MAX ? std::string("18446744073709551616")
                                           : std::to_string(v.uint() + 1));
      break;
    case Value::Type::kBytes:
      out += "h'" + HexEncode(v.bytes()) + "'";
      break;
    case Value::Type::kText:
      out += "\"";
      for (char c : v.text()) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += "\"";
      break;
    case Value::Type::kArray: {
      out += "[";
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += ", ";
        first = false;
        DiagnosticTo(item, out);
      }
      out += "]";
      break;
    }
    case Value::Type::kMap: {
      out += "{";
      bool first = true;
      for (const auto& [k, val] : v.entries()) {
        if (!first) out += ", ";
        first = false;
        DiagnosticTo(k, out);
        out += ": ";
        DiagnosticTo(val, out);
      }
      out += "}";
      break;
    }
    case Value::Type::kTag:
      out += std::to_string(v.uint()) + "(";
      DiagnosticTo(v.items()[0], out);
      out += ")";
      break;
    case Value::Type::kSimple:
      switch (v.uint()) {
        case Value::kFalse:
          out += "false";
          break;
        case Value::kTrue:
          out += "true";
          break;
        case Value::kNull:
          out += "null";
          break;
        case Value::kUndefined:
          out += "undefined";
          break;
        default:
          out += "simple(" + std::to_string(v.uint()) + ")";
      }
      break;
    case Value::Type::kFloat:
      out += fmt::format("{}", v.float_value());
      break;
  }
}

}  // namespace

Result<std::vector<RawEntry>> SplitMap(ByteSpan data,
                                       const DecodeLimits& limits) {
  if (data.size() > limits.max_input_bytes) {
    return Err(ErrorCode::kOverflow, "cbor: input of {} bytes exceeds {}",
               data.size(), limits.max_input_bytes);
  }
  if (data.empty()) return Err(ErrorCode::kTruncated, "cbor: empty input");
  return Decoder(data, limits).SplitTopMap();
}

namespace {

// The head of a definite-length string of `major` spanning all of `item`.
std::optional<ByteSpan> PeekString(ByteSpan item, uint8_t major) {
  if (item.empty() || (item[0] >> 5) != major) return std::nullopt;
  uint8_t info = item[0] & 0x1F;
  size_t head = 1;
  uint64_t len = info;
  if (info >= 24 && info <= 27) {
    size_t n = size_t{1} << (info - 24);
    if (item.size() < 1 + n) return std::nullopt;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | item[1 + i];
    head += n;
  } else if (info > 27) {
    return std::nullopt;
  }
  if (len != item.size() - head) return std::nullopt;
  return item.subspan(head);
}

}  // namespace

std::optional<std::string_view> PeekText(ByteSpan item) {
  auto s = PeekString(item, 3);
  if (!s || !IsValidUtf8(*s)) return std::nullopt;
  return AsString(*s);
}

std::optional<ByteSpan> PeekBytes(ByteSpan item) { return PeekString(item, 2); }

bool IsNullOrUndefined(ByteSpan item) {
  return item.size() == 1 && (item[0] == 0xF6 || item[0] == 0xF7);
}

Result<Value> Decode(ByteSpan data, const DecodeLimits& limits) {
  if (data.size() > limits.max_input_bytes) {
    return Err(ErrorCode::kOverflow, "cbor: input of {} bytes exceeds {}",
               data.size(), limits.max_input_bytes);
  }
  if (data.empty()) return Err(ErrorCode::kTruncated, "cbor: empty input");
  return Decoder(data, limits).DecodeAll();
}

void Encode(const Value& v, Bytes& out) {
  switch (v.type()) {
    case Value::Type::kUnsigned:
      AppendHead(out, 0, v.uint());
      break;
    case Value::Type::kNegative:
      AppendHead(out, 1, v.uint());
      break;
    case Value::Type::kBytes:
      AppendHead(out, 2, v.bytes().size());
      Append(out, v.bytes());
      break;
    case Value::Type::kText:
      AppendHead(out, 3, v.bytes().size());
      Append(out, v.bytes());
      break;
    case Value::Type::kArray:
      AppendHead(out, 4, v.items().size());
      for (const auto& item : v.items()) Encode(item, out);
      break;
    case Value::Type::kMap: {
      // cbor-x writes a JS object's key count as 0xb9 + u16 (0xba + u32 when
      // larger) so it can patch the count in place.
      size_t n = v.entries().size();
      if (n <= 0xFFFF) {
        out.push_back(0xB9);
        AppendU16BE(out, uint16_t(n));
      } else {
        out.push_back(0xBA);
        AppendU32BE(out, uint32_t(n));
      }
      for (const auto& [key, val] : v.entries()) {
        Encode(key, out);
        Encode(val, out);
      }
      break;
    }
    case Value::Type::kTag:
      AppendHead(out, 6, v.uint());
      Encode(v.items()[0], out);
      break;
    case Value::Type::kSimple:
      if (v.uint() < 24) {
        out.push_back(uint8_t(0xE0 | v.uint()));
      } else {
        out.push_back(0xF8);
        out.push_back(uint8_t(v.uint()));
      }
      break;
    case Value::Type::kFloat: {
      out.push_back(0xFB);
      double d = v.float_value();
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      AppendU64BE(out, bits);
      break;
    }
  }
}

Bytes Encode(const Value& v) {
  Bytes out;
  Encode(v, out);
  return out;
}

std::string ToDiagnostic(const Value& v) {
  std::string out;
  DiagnosticTo(v, out);
  return out;
}

}  // namespace vudo::repo::cbor
