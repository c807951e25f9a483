#include "discovery/dns_message.h"

#include <map>
#include <utility>

namespace vudo::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMinQuestionSize = 5;  // root name + type + class
constexpr size_t kMinRecordSize = 11;   // root name + type/class/ttl/rdlen

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

bool LabelEqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// A cursor over the whole message; names need absolute offsets.
class Reader {
 public:
  explicit Reader(ByteSpan data) : data_(data) {}
  size_t pos() const { return pos_; }
  size_t size() const { return data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }

  Result<uint16_t> U16(std::string_view what) {
    if (remaining() < 2) return Err(ErrorCode::kTruncated, "dns: {}", what);
    uint16_t v = uint16_t((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> U32(std::string_view what) {
    if (remaining() < 4) return Err(ErrorCode::kTruncated, "dns: {}", what);
    uint32_t v = LoadU32BE(data_.data() + pos_);
    pos_ += 4;
    return v;
  }
  Result<ByteSpan> Span(size_t n, std::string_view what) {
    if (remaining() < n) return Err(ErrorCode::kTruncated, "dns: {}", what);
    ByteSpan s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // Reads a possibly compressed name starting at pos(); leaves pos() after
  // the name's bytes at this position (after the first pointer, if any).
  Result<Name> ReadName() {
    Name name;
    size_t cur = pos_;
    size_t segment_start = pos_;  // pointers must point before this
    size_t end_after = 0;
    bool jumped = false;
    int hops = 0;
    size_t wire_len = 1;
    while (true) {
      if (cur >= data_.size()) return Err(ErrorCode::kTruncated, "dns: name");
      uint8_t len = data_[cur];
      if (len == 0) {
        if (!jumped) end_after = cur + 1;
        break;
      }
      if ((len & 0xC0) == 0xC0) {
        if (cur + 1 >= data_.size()) {
          return Err(ErrorCode::kTruncated, "dns: name pointer");
        }
        size_t target = (size_t(len & 0x3F) << 8) | data_[cur + 1];
        if (!jumped) end_after = cur + 2;
        if (target >= segment_start) {
          return Err(ErrorCode::kCorrupt,
                     "dns: name pointer to {} does not point backwards",
                     target);
        }
        if (++hops > kMaxPointerHops) {
          return Err(ErrorCode::kCorrupt, "dns: too many name pointers");
        }
        segment_start = target;
        cur = target;
        jumped = true;
        continue;
      }
      if ((len & 0xC0) != 0) {
        return Err(ErrorCode::kInvalidArgument, "dns: label type {:#x}",
                   len & 0xC0);
      }
      if (data_.size() - cur - 1 < len) {
        return Err(ErrorCode::kTruncated, "dns: label");
      }
      wire_len += size_t(len) + 1;
      if (wire_len > kMaxNameWireLength) {
        return Err(ErrorCode::kOverflow, "dns: name longer than 255 bytes");
      }
      name.labels.emplace_back(reinterpret_cast<const char*>(&data_[cur + 1]),
                               len);
      cur += 1 + size_t(len);
    }
    pos_ = end_after;
    return name;
  }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

Result<RData> ReadRData(Reader& r, uint16_t type, size_t rdlength) {
  size_t end = r.pos() + rdlength;
  switch (type) {
    case kTypeA: {
      if (rdlength != 4) {
        return Err(ErrorCode::kInvalidArgument, "dns: A rdata of {} bytes",
                   rdlength);
      }
      VUDO_ASSIGN_OR_RETURN(auto s, r.Span(4, "A rdata"));
      Ipv4Bytes a;
      std::copy(s.begin(), s.end(), a.begin());
      return RData(a);
    }
    case kTypeAaaa: {
      if (rdlength != 16) {
        return Err(ErrorCode::kInvalidArgument, "dns: AAAA rdata of {} bytes",
                   rdlength);
      }
      VUDO_ASSIGN_OR_RETURN(auto s, r.Span(16, "AAAA rdata"));
      Ipv6Bytes a;
      std::copy(s.begin(), s.end(), a.begin());
      return RData(a);
    }
    case kTypePtr: {
      VUDO_ASSIGN_OR_RETURN(auto target, r.ReadName());
      if (r.pos() != end) {
        return Err(ErrorCode::kInvalidArgument,
                   "dns: PTR name does not fill its rdata");
      }
      return RData(PtrData{std::move(target)});
    }
    case kTypeSrv: {
      if (rdlength < 7) {
        return Err(ErrorCode::kInvalidArgument, "dns: SRV rdata too short");
      }
      SrvData srv;
      VUDO_ASSIGN_OR_RETURN(srv.priority, r.U16("SRV priority"));
      VUDO_ASSIGN_OR_RETURN(srv.weight, r.U16("SRV weight"));
      VUDO_ASSIGN_OR_RETURN(srv.port, r.U16("SRV port"));
      VUDO_ASSIGN_OR_RETURN(srv.target, r.ReadName());
      if (r.pos() != end) {
        return Err(ErrorCode::kInvalidArgument,
                   "dns: SRV target does not fill its rdata");
      }
      return RData(std::move(srv));
    }
    case kTypeTxt: {
      TxtData txt;
      while (r.pos() < end) {
        VUDO_ASSIGN_OR_RETURN(auto len_span, r.Span(1, "TXT length"));
        size_t len = len_span[0];
        if (end - r.pos() < len) {
          return Err(ErrorCode::kInvalidArgument,
                     "dns: TXT string overruns its rdata");
        }
        VUDO_ASSIGN_OR_RETURN(auto s, r.Span(len, "TXT string"));
        txt.strings.emplace_back(AsString(s));
      }
      return RData(std::move(txt));
    }
    default: {
      VUDO_ASSIGN_OR_RETURN(auto s, r.Span(rdlength, "rdata"));
      return RData(RawData{ToBytes(s)});
    }
  }
}

Result<Record> ReadRecord(Reader& r) {
  Record rec;
  VUDO_ASSIGN_OR_RETURN(rec.name, r.ReadName());
  VUDO_ASSIGN_OR_RETURN(rec.type, r.U16("record type"));
  VUDO_ASSIGN_OR_RETURN(rec.klass, r.U16("record class"));
  VUDO_ASSIGN_OR_RETURN(rec.ttl, r.U32("record ttl"));
  VUDO_ASSIGN_OR_RETURN(uint16_t rdlength, r.U16("rdlength"));
  if (r.remaining() < rdlength) {
    return Err(ErrorCode::kTruncated, "dns: rdata of {} bytes, {} left",
               rdlength, r.remaining());
  }
  VUDO_ASSIGN_OR_RETURN(rec.data, ReadRData(r, rec.type, rdlength));
  return rec;
}

Status CheckCount(size_t count, size_t min_size, size_t remaining,
                  std::string_view what) {
  if (count * min_size > remaining) {
    return Err(ErrorCode::kTruncated, "dns: {} {} cannot fit in {} bytes",
               count, what, remaining);
  }
  return Ok();
}

class Writer {
 public:
  Bytes& out() { return out_; }

  Status WriteName(const Name& name, bool compress) {
    if (name.WireLength() > kMaxNameWireLength) {
      return Err(ErrorCode::kInvalidArgument, "dns: name {} too long",
                 name.ToString());
    }
    for (size_t i = 0; i < name.labels.size(); ++i) {
      const std::string& label = name.labels[i];
      if (label.empty() || label.size() > kMaxLabelLength) {
        return Err(ErrorCode::kInvalidArgument, "dns: bad label length {}",
                   label.size());
      }
      std::string key = SuffixKey(name, i);
      if (compress) {
        auto it = offsets_.find(key);
        if (it != offsets_.end()) {
          AppendU16BE(out_, uint16_t(0xC000 | it->second));
          return Ok();
        }
      }
      if (out_.size() < 0x4000 && !offsets_.count(key)) {
        offsets_.emplace(std::move(key), uint16_t(out_.size()));
      }
      out_.push_back(uint8_t(label.size()));
      Append(out_, AsBytes(label));
    }
    out_.push_back(0);
    return Ok();
  }

 private:
  static std::string SuffixKey(const Name& name, size_t from) {
    std::string key;
    for (size_t i = from; i < name.labels.size(); ++i) {
      key.push_back(char(name.labels[i].size()));
      key += name.labels[i];
    }
    return key;
  }

  Bytes out_;
  std::map<std::string, uint16_t> offsets_;
};

const char* TypeMismatch(uint16_t type, const RData& data) {
  bool ok = false;
  switch (type) {
    case kTypeA:
      ok = std::holds_alternative<Ipv4Bytes>(data);
      break;
    case kTypeAaaa:
      ok = std::holds_alternative<Ipv6Bytes>(data);
      break;
    case kTypePtr:
      ok = std::holds_alternative<PtrData>(data);
      break;
    case kTypeSrv:
      ok = std::holds_alternative<SrvData>(data);
      break;
    case kTypeTxt:
      ok = std::holds_alternative<TxtData>(data);
      break;
    default:
      ok = std::holds_alternative<RawData>(data);
      break;
  }
  return ok ? nullptr : "rdata does not match the record type";
}

Status WriteRecord(Writer& w, const Record& rec) {
  if (const char* why = TypeMismatch(rec.type, rec.data)) {
    return Err(ErrorCode::kInvalidArgument, "dns: {} (type {})", why, rec.type);
  }
  VUDO_TRY(w.WriteName(rec.name, true));
  Bytes& out = w.out();
  AppendU16BE(out, rec.type);
  AppendU16BE(out, rec.klass);
  AppendU32BE(out, rec.ttl);
  size_t len_at = out.size();
  AppendU16BE(out, 0);
  size_t start = out.size();
  if (auto* a = std::get_if<Ipv4Bytes>(&rec.data)) {
    Append(out, *a);
  } else if (auto* a6 = std::get_if<Ipv6Bytes>(&rec.data)) {
    Append(out, *a6);
  } else if (auto* ptr = std::get_if<PtrData>(&rec.data)) {
    VUDO_TRY(w.WriteName(ptr->target, true));
  } else if (auto* srv = std::get_if<SrvData>(&rec.data)) {
    AppendU16BE(out, srv->priority);
    AppendU16BE(out, srv->weight);
    AppendU16BE(out, srv->port);
    VUDO_TRY(w.WriteName(srv->target, false));
  } else if (auto* txt = std::get_if<TxtData>(&rec.data)) {
    for (const auto& s : txt->strings) {
      if (s.size() > 255) {
        return Err(ErrorCode::kInvalidArgument, "dns: TXT string of {} bytes",
                   s.size());
      }
      out.push_back(uint8_t(s.size()));
      Append(out, AsBytes(s));
    }
  } else if (auto* raw = std::get_if<RawData>(&rec.data)) {
    Append(out, raw->bytes);
  }
  size_t rdlength = out.size() - start;
  if (rdlength > 0xFFFF) {
    return Err(ErrorCode::kInvalidArgument, "dns: rdata of {} bytes", rdlength);
  }
  out[len_at] = uint8_t(rdlength >> 8);
  out[len_at + 1] = uint8_t(rdlength);
  return Ok();
}

}  // namespace

Result<Name> Name::Parse(std::string_view text) {
  Name name;
  if (text == ".") return name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) {
    return Err(ErrorCode::kInvalidArgument, "dns: empty name");
  }
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view label = text.substr(start, dot == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : dot - start);
    if (label.empty() || label.size() > kMaxLabelLength) {
      return Err(ErrorCode::kInvalidArgument, "dns: bad label in '{}'", text);
    }
    name.labels.emplace_back(label);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (name.WireLength() > kMaxNameWireLength) {
    return Err(ErrorCode::kInvalidArgument, "dns: name '{}' too long", text);
  }
  return name;
}

std::string Name::ToString() const {
  if (labels.empty()) return ".";
  std::string s;
  for (const auto& l : labels) {
    s += l;
    s += '.';
  }
  return s;
}

size_t Name::WireLength() const {
  size_t n = 1;
  for (const auto& l : labels) n += l.size() + 1;
  return n;
}

bool Name::EqualsIgnoreCase(const Name& other) const {
  if (labels.size() != other.labels.size()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!LabelEqualsIgnoreCase(labels[i], other.labels[i])) return false;
  }
  return true;
}

bool Name::IsChildOf(const Name& suffix, size_t extra) const {
  if (labels.size() != suffix.labels.size() + extra) return false;
  for (size_t i = 0; i < suffix.labels.size(); ++i) {
    if (!LabelEqualsIgnoreCase(labels[extra + i], suffix.labels[i])) {
      return false;
    }
  }
  return true;
}

Result<Message> DecodeMessage(ByteSpan wire) {
  if (wire.size() > kMaxMessageSize) {
    return Err(ErrorCode::kOverflow, "dns: message of {} bytes", wire.size());
  }
  if (wire.size() < kHeaderSize) {
    return Err(ErrorCode::kTruncated, "dns: header");
  }
  Reader r(wire);
  Message m;
  VUDO_ASSIGN_OR_RETURN(m.id, r.U16("id"));
  VUDO_ASSIGN_OR_RETURN(m.flags, r.U16("flags"));
  VUDO_ASSIGN_OR_RETURN(uint16_t qd, r.U16("qdcount"));
  VUDO_ASSIGN_OR_RETURN(uint16_t an, r.U16("ancount"));
  VUDO_ASSIGN_OR_RETURN(uint16_t ns, r.U16("nscount"));
  VUDO_ASSIGN_OR_RETURN(uint16_t ar, r.U16("arcount"));
  VUDO_TRY(CheckCount(
      size_t(qd) * kMinQuestionSize + (size_t(an) + ns + ar) * kMinRecordSize,
      1, r.remaining(), "entries"));
  m.questions.reserve(qd);
  for (size_t i = 0; i < qd; ++i) {
    Question q;
    VUDO_ASSIGN_OR_RETURN(q.name, r.ReadName());
    VUDO_ASSIGN_OR_RETURN(q.type, r.U16("question type"));
    VUDO_ASSIGN_OR_RETURN(q.klass, r.U16("question class"));
    m.questions.push_back(std::move(q));
  }
  std::pair<std::vector<Record>*, uint16_t> sections[] = {
      {&m.answers, an}, {&m.authorities, ns}, {&m.additionals, ar}};
  for (auto& [section, count] : sections) {
    section->reserve(count);
    for (size_t i = 0; i < count; ++i) {
      VUDO_ASSIGN_OR_RETURN(auto rec, ReadRecord(r));
      section->push_back(std::move(rec));
    }
  }
  if (r.remaining() != 0) {
    return Err(ErrorCode::kInvalidArgument,
               "dns: {} trailing bytes after the last record", r.remaining());
  }
  return m;
}

Result<Bytes> EncodeMessage(const Message& message) {
  for (const auto* section :
       {&message.answers, &message.authorities, &message.additionals}) {
    if (section->size() > 0xFFFF) {
      return Err(ErrorCode::kInvalidArgument, "dns: section too large");
    }
  }
  if (message.questions.size() > 0xFFFF) {
    return Err(ErrorCode::kInvalidArgument, "dns: too many questions");
  }
  Writer w;
  Bytes& out = w.out();
  AppendU16BE(out, message.id);
  AppendU16BE(out, message.flags);
  AppendU16BE(out, uint16_t(message.questions.size()));
  AppendU16BE(out, uint16_t(message.answers.size()));
  AppendU16BE(out, uint16_t(message.authorities.size()));
  AppendU16BE(out, uint16_t(message.additionals.size()));
  for (const auto& q : message.questions) {
    VUDO_TRY(w.WriteName(q.name, true));
    AppendU16BE(out, q.type);
    AppendU16BE(out, q.klass);
  }
  for (const auto* section :
       {&message.answers, &message.authorities, &message.additionals}) {
    for (const auto& rec : *section) VUDO_TRY(WriteRecord(w, rec));
  }
  if (out.size() > 0xFFFF) {
    return Err(ErrorCode::kInvalidArgument, "dns: message of {} bytes",
               out.size());
  }
  return std::move(out);
}

Record MakeARecord(Name name, uint32_t ttl, const Ipv4Bytes& addr) {
  return Record{std::move(name), kTypeA, kClassIn, ttl, RData(addr)};
}
Record MakeAaaaRecord(Name name, uint32_t ttl, const Ipv6Bytes& addr) {
  return Record{std::move(name), kTypeAaaa, kClassIn, ttl, RData(addr)};
}
Record MakePtrRecord(Name name, uint32_t ttl, Name target) {
  return Record{std::move(name), kTypePtr, kClassIn, ttl,
                RData(PtrData{std::move(target)})};
}
Record MakeSrvRecord(Name name, uint32_t ttl, SrvData srv) {
  return Record{std::move(name), kTypeSrv, kClassIn, ttl,
                RData(std::move(srv))};
}
Record MakeTxtRecord(Name name, uint32_t ttl,
                     std::vector<std::string> strings) {
  return Record{std::move(name), kTypeTxt, kClassIn, ttl,
                RData(TxtData{std::move(strings)})};
}

}  // namespace vudo::dns
