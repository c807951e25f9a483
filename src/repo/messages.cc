#include "repo/messages.h"

#include <algorithm>
#include <cstring>
#include <deque>

namespace vudo::repo {
namespace {

// ---- encoding: writes directly (no intermediate cbor::Value), in the field
// order of the objects automerge-repo builds, with cbor-x's map heads.

void Head(Bytes& out, uint8_t major, uint64_t n) {
  cbor::AppendHead(out, major, n);
}

// A JS object: cbor-x writes its key count as 0xb9 + u16.
void MapHead(Bytes& out, size_t n) {
  if (n <= 0xFFFF) {
    out.push_back(0xB9);
    AppendU16BE(out, uint16_t(n));
  } else {
    out.push_back(0xBA);
    AppendU32BE(out, uint32_t(n));
  }
}

void Text(Bytes& out, std::string_view s) {
  Head(out, 3, s.size());
  Append(out, AsBytes(s));
}

void TextField(Bytes& out, std::string_view key, std::string_view value) {
  Text(out, key);
  Text(out, value);
}

void BytesField(Bytes& out, std::string_view key, ByteSpan value) {
  Text(out, key);
  Head(out, 2, value.size());
  Append(out, value);
}

// A JS number that holds an integer, as cbor-x writes it: a CBOR integer up
// to 2^32 - 1, above that a float64 (exact up to 2^53). cbor-x decodes a
// 64-bit CBOR integer to a BigInt, which automerge-repo's arithmetic on
// counts and timestamps does not expect. Beyond 2^53 (no JS number holds
// it exactly) the CBOR integer is kept.
void JsInteger(Bytes& out, uint64_t value) {
  constexpr uint64_t kMaxSafe = uint64_t{1} << 53;
  if (value <= 0xFFFFFFFF || value > kMaxSafe) {
    Head(out, 0, value);
    return;
  }
  double d = double(value);
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  out.push_back(0xFB);
  AppendU64BE(out, bits);
}

void UintField(Bytes& out, std::string_view key, uint64_t value) {
  Text(out, key);
  JsInteger(out, value);
}

void TextArray(Bytes& out, const std::vector<std::string>& items) {
  Head(out, 4, items.size());
  for (const auto& s : items) Text(out, s);
}

void MetadataField(Bytes& out, const PeerMetadata& m) {
  Text(out, "peerMetadata");
  MapHead(out, size_t(m.storage_id.has_value()) + m.is_ephemeral.has_value());
  if (m.storage_id) TextField(out, "storageId", *m.storage_id);
  if (m.is_ephemeral) {
    Text(out, "isEphemeral");
    out.push_back(*m.is_ephemeral ? 0xF5 : 0xF4);
  }
}

void Start(Bytes& out, size_t fields, std::string_view type,
           size_t reserve = 64) {
  out.reserve(out.size() + reserve);
  MapHead(out, fields);
  TextField(out, "type", type);
}

// ---- decoding
//
// The top-level map is split into raw entries (validated, nothing copied);
// hot fields (ids, data, type) are read straight from their bytes, anything
// nested or unusual (arrays, maps, indefinite lengths, tags) through a small
// cbor::Value.

using cbor::RawEntry;

tl::unexpected<Error> MissingField(std::string_view type,
                                   std::string_view key) {
  return Err(ErrorCode::kInvalidArgument,
             "{} message: required field \"{}\" is missing", type, key);
}
tl::unexpected<Error> MistypedField(std::string_view type, std::string_view key,
                                    std::string_view expected) {
  return Err(ErrorCode::kInvalidArgument, "{} message: field \"{}\" must be {}",
             type, key, expected);
}

Result<std::vector<std::string>> TextArrayOf(const cbor::Value& v,
                                             std::string_view type,
                                             std::string_view key) {
  if (v.type() != cbor::Value::Type::kArray) {
    return MistypedField(type, key, "an array of text strings");
  }
  std::vector<std::string> out;
  out.reserve(v.items().size());
  for (const auto& item : v.items()) {
    if (item.type() != cbor::Value::Type::kText) {
      return MistypedField(type, key, "an array of text strings");
    }
    out.emplace_back(item.text());
  }
  return out;
}

// A field of a nested map: nullptr when absent, null or undefined.
const cbor::Value* NestedField(const cbor::Value& map, std::string_view key) {
  const cbor::Value* v = map.Find(key);
  return v == nullptr || v->is_null_or_undefined() ? nullptr : v;
}

class Fields {
 public:
  Fields(std::vector<RawEntry> entries, std::string_view type)
      : entries_(std::move(entries)), type_(type) {}

  // Resolves the entries' keys (only text keys can match a field).
  Status Index() {
    keys_.reserve(entries_.size());
    for (const RawEntry& e : entries_) {
      if (auto k = cbor::PeekText(e.key)) {
        keys_.push_back(*k);
        continue;
      }
      VUDO_ASSIGN_OR_RETURN(cbor::Value k, cbor::Decode(e.key));
      if (k.type() == cbor::Value::Type::kText) {
        owned_keys_.emplace_back(k.text());
        keys_.push_back(owned_keys_.back());
      } else {
        keys_.push_back(std::nullopt);
      }
    }
    return Ok();
  }

  // The raw value of the first entry named `key`; nullptr when absent, null
  // or undefined.
  const RawEntry* Get(std::string_view key) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (keys_[i] && *keys_[i] == key) {
        return cbor::IsNullOrUndefined(entries_[i].value) ? nullptr
                                                          : &entries_[i];
      }
    }
    return nullptr;
  }

  Result<std::optional<std::string>> OptionalText(std::string_view key) const {
    const RawEntry* e = Get(key);
    if (e == nullptr) return std::optional<std::string>();
    if (auto t = cbor::PeekText(e->value)) {
      return std::optional<std::string>(std::string(*t));
    }
    VUDO_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(e->value));
    if (v.type() != cbor::Value::Type::kText) {
      return MistypedField(type_, key, "a text string");
    }
    return std::optional<std::string>(std::string(v.text()));
  }

  Result<std::string> Text(std::string_view key) const {
    VUDO_ASSIGN_OR_RETURN(auto s, OptionalText(key));
    if (!s) return MissingField(type_, key);
    return std::move(*s);
  }

  // REQUIRES: the last read of this Fields when it owns its input (the
  // bytes are then moved to the front of that buffer, which is handed out).
  Result<Bytes> Data(std::string_view key) const {
    const RawEntry* e = Get(key);
    if (e == nullptr) return MissingField(type_, key);
    if (auto b = cbor::PeekBytes(e->value)) {
      if (owned_ == nullptr) return ToBytes(*b);
      Bytes& frame = *owned_;
      size_t offset = size_t(b->data() - frame.data());
      size_t len = b->size();
      std::memmove(frame.data(), frame.data() + offset, len);
      frame.resize(len);
      return std::move(frame);
    }
    VUDO_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(e->value));
    cbor::Value* inner = &v;
    // Tolerate cbor-x's tagged Uint8Array (tag 64) as well.
    if (v.type() == cbor::Value::Type::kTag && v.uint() == 64) {
      inner = &v.mutable_items()[0];
    }
    if (inner->type() != cbor::Value::Type::kBytes) {
      return MistypedField(type_, key, "a byte string");
    }
    return std::move(inner->mutable_bytes());
  }

  Result<DocumentId> DocId() const {
    VUDO_ASSIGN_OR_RETURN(std::string text, Text("documentId"));
    auto id = DocumentId::Parse(text);
    if (!id) {
      return tl::unexpected(id.error().WithContext(
          fmt::format("{} message: field \"documentId\"", type_)));
    }
    return *id;
  }

  Result<uint64_t> Uint(std::string_view key) const {
    const RawEntry* e = Get(key);
    if (e == nullptr) return MissingField(type_, key);
    VUDO_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(e->value));
    auto n = v.AsUint(key);
    if (!n) return MistypedField(type_, key, "a non-negative integer");
    return *n;
  }

  // A nested item as a cbor::Value, or nullopt when absent/null/undefined.
  Result<std::optional<cbor::Value>> Nested(std::string_view key) const {
    const RawEntry* e = Get(key);
    if (e == nullptr) return std::optional<cbor::Value>();
    VUDO_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(e->value));
    return std::optional<cbor::Value>(std::move(v));
  }

  Result<std::optional<std::vector<std::string>>> OptionalTextArray(
      std::string_view key) const {
    VUDO_ASSIGN_OR_RETURN(auto v, Nested(key));
    if (!v) return std::optional<std::vector<std::string>>();
    VUDO_ASSIGN_OR_RETURN(auto list, TextArrayOf(*v, type_, key));
    return std::optional<std::vector<std::string>>(std::move(list));
  }

  // "peerMetadata" (what automerge-repo sends) or "metadata" (the name in the
  // websocket adapter's protocol description).
  Result<std::optional<PeerMetadata>> Metadata() const {
    std::string_view key = "peerMetadata";
    VUDO_ASSIGN_OR_RETURN(auto v, Nested(key));
    if (!v) {
      key = "metadata";
      VUDO_ASSIGN_OR_RETURN(v, Nested(key));
    }
    if (!v) return std::optional<PeerMetadata>();
    if (v->type() != cbor::Value::Type::kMap) {
      return MistypedField(type_, key, "a map");
    }
    PeerMetadata m;
    if (const cbor::Value* s = NestedField(*v, "storageId")) {
      if (s->type() != cbor::Value::Type::kText) {
        return MistypedField(type_, "storageId", "a text string");
      }
      m.storage_id = std::string(s->text());
    }
    if (const cbor::Value* e = NestedField(*v, "isEphemeral")) {
      if (!e->is_bool())
        return MistypedField(type_, "isEphemeral", "a boolean");
      m.is_ephemeral = e->as_bool();
    }
    return std::optional<PeerMetadata>(std::move(m));
  }

  Result<std::vector<RemoteHeads>> NewHeads() const {
    VUDO_ASSIGN_OR_RETURN(auto v, Nested("newHeads"));
    if (!v) return MissingField(type_, "newHeads");
    if (v->type() != cbor::Value::Type::kMap) {
      return MistypedField(type_, "newHeads", "a map from storage id to heads");
    }
    std::vector<RemoteHeads> out;
    for (const auto& [key, value] : v->entries()) {
      if (key.type() != cbor::Value::Type::kText ||
          value.type() != cbor::Value::Type::kMap) {
        return MistypedField(type_, "newHeads",
                             "a map from storage id to {heads, timestamp}");
      }
      RemoteHeads rh;
      rh.storage_id = std::string(key.text());
      const cbor::Value* list = NestedField(value, "heads");
      if (list == nullptr) return MissingField(type_, "newHeads.heads");
      VUDO_ASSIGN_OR_RETURN(rh.heads,
                            TextArrayOf(*list, type_, "newHeads.heads"));
      const cbor::Value* ts = NestedField(value, "timestamp");
      if (ts == nullptr) return MissingField(type_, "newHeads.timestamp");
      auto n = ts->AsUint("timestamp");
      if (!n) {
        return MistypedField(type_, "newHeads.timestamp",
                             "a non-negative integer");
      }
      rh.timestamp = *n;
      out.push_back(std::move(rh));
    }
    return out;
  }

  void set_type(std::string_view type) { type_ = type; }
  // The buffer the entries point into, when the caller gave it away.
  void set_owned(Bytes* frame) { owned_ = frame; }

 private:
  std::vector<RawEntry> entries_;
  std::vector<std::optional<std::string_view>> keys_;
  std::deque<std::string> owned_keys_;  // stable addresses for keys_
  std::string_view type_;
  Bytes* owned_ = nullptr;
};

Result<Message> DecodeTyped(const Fields& f, std::string_view type) {
  if (type == JoinMessage::kType) {
    JoinMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.peer_metadata, f.Metadata());
    VUDO_ASSIGN_OR_RETURN(m.supported_protocol_versions,
                          f.OptionalTextArray("supportedProtocolVersions"));
    return m;
  }
  if (type == PeerMessage::kType) {
    PeerMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.target_id, f.Text("targetId"));
    VUDO_ASSIGN_OR_RETURN(m.peer_metadata, f.Metadata());
    VUDO_ASSIGN_OR_RETURN(m.selected_protocol_version,
                          f.Text("selectedProtocolVersion"));
    return m;
  }
  if (type == LeaveMessage::kType) {
    LeaveMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    return m;
  }
  if (type == RequestMessage::kType || type == SyncMessage::kType) {
    PeerId sender, target;
    VUDO_ASSIGN_OR_RETURN(sender, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(target, f.Text("targetId"));
    VUDO_ASSIGN_OR_RETURN(DocumentId doc, f.DocId());
    VUDO_ASSIGN_OR_RETURN(Bytes data, f.Data("data"));  // last: see Data()
    if (type == RequestMessage::kType) {
      return RequestMessage{std::move(sender), std::move(target), doc,
                            std::move(data)};
    }
    return SyncMessage{std::move(sender), std::move(target), doc,
                       std::move(data)};
  }
  if (type == DocUnavailableMessage::kType) {
    DocUnavailableMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.target_id, f.Text("targetId"));
    VUDO_ASSIGN_OR_RETURN(m.document_id, f.DocId());
    return m;
  }
  if (type == EphemeralMessage::kType) {
    EphemeralMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.target_id, f.Text("targetId"));
    VUDO_ASSIGN_OR_RETURN(m.document_id, f.DocId());
    VUDO_ASSIGN_OR_RETURN(m.count, f.Uint("count"));
    VUDO_ASSIGN_OR_RETURN(m.session_id, f.Text("sessionId"));
    VUDO_ASSIGN_OR_RETURN(m.data, f.Data("data"));  // last: may move the input
    return m;
  }
  if (type == RemoteSubscriptionChangeMessage::kType) {
    RemoteSubscriptionChangeMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.target_id, f.Text("targetId"));
    VUDO_ASSIGN_OR_RETURN(m.add, f.OptionalTextArray("add"));
    VUDO_ASSIGN_OR_RETURN(m.remove, f.OptionalTextArray("remove"));
    return m;
  }
  if (type == RemoteHeadsChangedMessage::kType) {
    RemoteHeadsChangedMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.Text("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.target_id, f.Text("targetId"));
    VUDO_ASSIGN_OR_RETURN(m.document_id, f.DocId());
    VUDO_ASSIGN_OR_RETURN(m.new_heads, f.NewHeads());
    return m;
  }
  if (type == ErrorMessage::kType) {
    ErrorMessage m;
    VUDO_ASSIGN_OR_RETURN(m.sender_id, f.OptionalText("senderId"));
    VUDO_ASSIGN_OR_RETURN(m.target_id, f.OptionalText("targetId"));
    VUDO_ASSIGN_OR_RETURN(m.message, f.Text("message"));
    return m;
  }
  // Bound what we echo back of an attacker-chosen string.
  std::string shown(type.substr(0, 64));
  return Err(ErrorCode::kUnsupported, "unknown message type \"{}\"{}", shown,
             type.size() > 64 ? "..." : "");
}

}  // namespace

void JoinMessage::EncodeTo(Bytes& out) const {
  Start(out,
        2 + size_t(peer_metadata.has_value()) +
            supported_protocol_versions.has_value(),
        kType);
  TextField(out, "senderId", sender_id);
  if (peer_metadata) MetadataField(out, *peer_metadata);
  if (supported_protocol_versions) {
    Text(out, "supportedProtocolVersions");
    TextArray(out, *supported_protocol_versions);
  }
}

Bytes JoinMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void PeerMessage::EncodeTo(Bytes& out) const {
  Start(out, 4 + size_t(peer_metadata.has_value()), kType);
  TextField(out, "senderId", sender_id);
  if (peer_metadata) MetadataField(out, *peer_metadata);
  TextField(out, "selectedProtocolVersion", selected_protocol_version);
  TextField(out, "targetId", target_id);
}

Bytes PeerMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void LeaveMessage::EncodeTo(Bytes& out) const {
  Start(out, 2, kType);
  TextField(out, "senderId", sender_id);
}

Bytes LeaveMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

// automerge-repo's DocSynchronizer builds {type, targetId, documentId, data}
// for a request and {type, targetId, data, documentId} for a sync message;
// the network subsystem then appends senderId.
void RequestMessage::EncodeTo(Bytes& out) const {
  Start(out, 5, kType, 128 + data.size());
  TextField(out, "targetId", target_id);
  TextField(out, "documentId", document_id.ToString());
  BytesField(out, "data", data);
  TextField(out, "senderId", sender_id);
}

Bytes RequestMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void SyncMessage::EncodeTo(Bytes& out) const {
  Start(out, 5, kType, 128 + data.size());
  TextField(out, "targetId", target_id);
  BytesField(out, "data", data);
  TextField(out, "documentId", document_id.ToString());
  TextField(out, "senderId", sender_id);
}

Bytes SyncMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void DocUnavailableMessage::EncodeTo(Bytes& out) const {
  Start(out, 4, kType);
  TextField(out, "documentId", document_id.ToString());
  TextField(out, "targetId", target_id);
  TextField(out, "senderId", sender_id);
}

Bytes DocUnavailableMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void EphemeralMessage::EncodeTo(Bytes& out) const {
  Start(out, 7, kType, 160 + data.size());
  TextField(out, "targetId", target_id);
  TextField(out, "documentId", document_id.ToString());
  BytesField(out, "data", data);
  UintField(out, "count", count);
  TextField(out, "sessionId", session_id);
  TextField(out, "senderId", sender_id);
}

Bytes EphemeralMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void RemoteSubscriptionChangeMessage::EncodeTo(Bytes& out) const {
  Start(out, 3 + size_t(add.has_value()) + remove.has_value(), kType);
  TextField(out, "targetId", target_id);
  if (add) {
    Text(out, "add");
    TextArray(out, *add);
  }
  if (remove) {
    Text(out, "remove");
    TextArray(out, *remove);
  }
  TextField(out, "senderId", sender_id);
}

Bytes RemoteSubscriptionChangeMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void RemoteHeadsChangedMessage::EncodeTo(Bytes& out) const {
  Start(out, 5, kType, 256);
  TextField(out, "targetId", target_id);
  TextField(out, "documentId", document_id.ToString());
  Text(out, "newHeads");
  MapHead(out, new_heads.size());
  for (const RemoteHeads& rh : new_heads) {
    Text(out, rh.storage_id);
    MapHead(out, 2);
    Text(out, "heads");
    TextArray(out, rh.heads);
    UintField(out, "timestamp", rh.timestamp);
  }
  TextField(out, "senderId", sender_id);
}

Bytes RemoteHeadsChangedMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

void ErrorMessage::EncodeTo(Bytes& out) const {
  Start(out, 2 + size_t(sender_id.has_value()) + target_id.has_value(), kType);
  if (sender_id) TextField(out, "senderId", *sender_id);
  TextField(out, "message", message);
  if (target_id) TextField(out, "targetId", *target_id);
}

Bytes ErrorMessage::Encode() const {
  Bytes out;
  EncodeTo(out);
  return out;
}

std::string_view MessageType(const Message& m) {
  return std::visit([](const auto& msg) { return msg.kType; }, m);
}

Bytes EncodeMessage(const Message& m) {
  return std::visit([](const auto& msg) { return msg.Encode(); }, m);
}

void EncodeMessageTo(const Message& m, Bytes& out) {
  std::visit([&out](const auto& msg) { msg.EncodeTo(out); }, m);
}

cbor::Value MessageToCbor(const Message& m) {
  // Our own encoding always decodes; an empty map only if that invariant
  // were broken.
  auto v = cbor::Decode(EncodeMessage(m));
  return v ? std::move(*v) : cbor::Value::Map();
}

Result<Message> MessageFromCbor(const cbor::Value& v) {
  if (v.type() != cbor::Value::Type::kMap) {
    return Err(ErrorCode::kInvalidArgument, "message: not a CBOR map");
  }
  return DecodeMessage(cbor::Encode(v));
}

namespace {

Result<Message> Decode(ByteSpan data, size_t max_bytes, Bytes* owned) {
  if (data.size() > max_bytes) {
    return Err(ErrorCode::kOverflow,
               "message of {} bytes exceeds the limit of {} bytes", data.size(),
               max_bytes);
  }
  if (!data.empty() && (data[0] >> 5) != 5) {
    return Err(ErrorCode::kInvalidArgument, "message: not a CBOR map");
  }
  cbor::DecodeLimits limits;
  limits.max_input_bytes = max_bytes;
  auto entries = cbor::SplitMap(data, limits);
  if (!entries) return tl::unexpected(entries.error().WithContext("message"));
  Fields fields(std::move(*entries), "untyped");
  VUDO_TRY(fields.Index());
  VUDO_ASSIGN_OR_RETURN(auto type, fields.OptionalText("type"));
  if (!type) {
    return Err(ErrorCode::kInvalidArgument, "message: no \"type\" field");
  }
  fields.set_type(*type);
  fields.set_owned(owned);
  return DecodeTyped(fields, *type);
}

}  // namespace

Result<Message> DecodeMessage(ByteSpan data, size_t max_bytes) {
  return Decode(data, max_bytes, nullptr);
}

Result<Message> DecodeMessage(Bytes&& frame, size_t max_bytes) {
  return Decode(frame, max_bytes, &frame);
}

std::optional<std::string> SelectProtocolVersion(const JoinMessage& join) {
  if (!join.supported_protocol_versions) return std::string(kProtocolV1);
  const auto& versions = *join.supported_protocol_versions;
  if (std::find(versions.begin(), versions.end(), kProtocolV1) !=
      versions.end()) {
    return std::string(kProtocolV1);
  }
  return std::nullopt;
}

}  // namespace vudo::repo
