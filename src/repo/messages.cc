#include "repo/messages.h"

#include <algorithm>
#include <cstring>

namespace vudo::repo {
namespace {

// ---- encoding: writes directly (no intermediate cbor::Value), in the field
// order of the objects automerge-repo builds, with cbor-x's map heads.

void Head(Bytes& out, uint8_t major, uint64_t n) {
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

Bytes Start(size_t fields, std::string_view type, size_t reserve = 64) {
  Bytes out;
  out.reserve(reserve);
  MapHead(out, fields);
  TextField(out, "type", type);
  return out;
}

// ---- decoding

// Typed access to the fields of one decoded message map.
class Fields {
 public:
  Fields(cbor::Value& map, std::string_view type) : map_(map), type_(type) {}

  // The value of `key`, or nullptr when absent, null or undefined.
  cbor::Value* Get(std::string_view key) {
    cbor::Value* v = map_.Find(key);
    if (v == nullptr || v->is_null_or_undefined()) return nullptr;
    return v;
  }

  tl::unexpected<Error> Missing(std::string_view key) const {
    return Err(ErrorCode::kInvalidArgument,
               "{} message: required field \"{}\" is missing", type_, key);
  }
  tl::unexpected<Error> Mistyped(std::string_view key,
                                 std::string_view expected) const {
    return Err(ErrorCode::kInvalidArgument,
               "{} message: field \"{}\" must be {}", type_, key, expected);
  }

  Result<std::optional<std::string>> OptionalText(std::string_view key) {
    cbor::Value* v = Get(key);
    if (v == nullptr) return std::optional<std::string>();
    if (v->type() != cbor::Value::Type::kText) {
      return Mistyped(key, "a text string");
    }
    return std::optional<std::string>(std::string(v->text()));
  }

  Result<std::string> Text(std::string_view key) {
    VUDO_ASSIGN_OR_RETURN(auto s, OptionalText(key));
    if (!s) return Missing(key);
    return std::move(*s);
  }

  Result<Bytes> Data(std::string_view key) {
    cbor::Value* v = Get(key);
    if (v == nullptr) return Missing(key);
    // Tolerate cbor-x's tagged Uint8Array (tag 64) as well.
    if (v->type() == cbor::Value::Type::kTag && v->uint() == 64) {
      v = &v->mutable_items()[0];
    }
    if (v->type() != cbor::Value::Type::kBytes) {
      return Mistyped(key, "a byte string");
    }
    return std::move(v->mutable_bytes());
  }

  Result<DocumentId> DocId() {
    VUDO_ASSIGN_OR_RETURN(std::string text, Text("documentId"));
    auto id = DocumentId::Parse(text);
    if (!id) {
      return tl::unexpected(id.error().WithContext(
          fmt::format("{} message: field \"documentId\"", type_)));
    }
    return *id;
  }

  Result<uint64_t> Uint(std::string_view key) {
    cbor::Value* v = Get(key);
    if (v == nullptr) return Missing(key);
    auto n = v->AsUint(key);
    if (!n) return Mistyped(key, "a non-negative integer");
    return *n;
  }

  Result<std::optional<std::vector<std::string>>> OptionalTextArray(
      std::string_view key) {
    cbor::Value* v = Get(key);
    if (v == nullptr) return std::optional<std::vector<std::string>>();
    return TextArrayOf(*v, key);
  }

  Result<std::vector<std::string>> TextArrayOf(const cbor::Value& v,
                                               std::string_view key) {
    if (v.type() != cbor::Value::Type::kArray) {
      return Mistyped(key, "an array of text strings");
    }
    std::vector<std::string> out;
    out.reserve(v.items().size());
    for (const auto& item : v.items()) {
      if (item.type() != cbor::Value::Type::kText) {
        return Mistyped(key, "an array of text strings");
      }
      out.emplace_back(item.text());
    }
    return out;
  }

  // "peerMetadata" (what automerge-repo sends) or "metadata" (the name in the
  // websocket adapter's protocol description).
  Result<std::optional<PeerMetadata>> Metadata() {
    std::string_view key = "peerMetadata";
    cbor::Value* v = Get(key);
    if (v == nullptr) {
      key = "metadata";
      v = Get(key);
    }
    if (v == nullptr) return std::optional<PeerMetadata>();
    if (v->type() != cbor::Value::Type::kMap) return Mistyped(key, "a map");
    Fields inner(*v, type_);
    PeerMetadata m;
    VUDO_ASSIGN_OR_RETURN(m.storage_id, inner.OptionalText("storageId"));
    if (cbor::Value* e = inner.Get("isEphemeral")) {
      if (!e->is_bool()) return Mistyped("isEphemeral", "a boolean");
      m.is_ephemeral = e->as_bool();
    }
    return std::optional<PeerMetadata>(std::move(m));
  }

 private:
  cbor::Value& map_;
  std::string_view type_;
};

Result<Message> DecodeTyped(cbor::Value& map, std::string_view type) {
  Fields f(map, type);
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
    VUDO_ASSIGN_OR_RETURN(Bytes data, f.Data("data"));
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
    VUDO_ASSIGN_OR_RETURN(m.data, f.Data("data"));
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
    cbor::Value* heads = f.Get("newHeads");
    if (heads == nullptr) return f.Missing("newHeads");
    if (heads->type() != cbor::Value::Type::kMap) {
      return f.Mistyped("newHeads", "a map from storage id to heads");
    }
    for (auto& [key, value] : heads->mutable_entries()) {
      if (key.type() != cbor::Value::Type::kText ||
          value.type() != cbor::Value::Type::kMap) {
        return f.Mistyped("newHeads",
                          "a map from storage id to {heads, timestamp}");
      }
      Fields entry(value, type);
      RemoteHeads rh;
      rh.storage_id = std::string(key.text());
      cbor::Value* list = entry.Get("heads");
      if (list == nullptr) return entry.Missing("newHeads.heads");
      VUDO_ASSIGN_OR_RETURN(rh.heads,
                            entry.TextArrayOf(*list, "newHeads.heads"));
      cbor::Value* ts = entry.Get("timestamp");
      if (ts == nullptr) return entry.Missing("newHeads.timestamp");
      auto n = ts->AsUint("timestamp");
      if (!n) {
        return entry.Mistyped("newHeads.timestamp", "a non-negative integer");
      }
      rh.timestamp = *n;
      m.new_heads.push_back(std::move(rh));
    }
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

Bytes JoinMessage::Encode() const {
  Bytes out = Start(2 + size_t(peer_metadata.has_value()) +
                        supported_protocol_versions.has_value(),
                    kType);
  TextField(out, "senderId", sender_id);
  if (peer_metadata) MetadataField(out, *peer_metadata);
  if (supported_protocol_versions) {
    Text(out, "supportedProtocolVersions");
    TextArray(out, *supported_protocol_versions);
  }
  return out;
}

Bytes PeerMessage::Encode() const {
  Bytes out = Start(4 + size_t(peer_metadata.has_value()), kType);
  TextField(out, "senderId", sender_id);
  if (peer_metadata) MetadataField(out, *peer_metadata);
  TextField(out, "selectedProtocolVersion", selected_protocol_version);
  TextField(out, "targetId", target_id);
  return out;
}

Bytes LeaveMessage::Encode() const {
  Bytes out = Start(2, kType);
  TextField(out, "senderId", sender_id);
  return out;
}

// automerge-repo's DocSynchronizer builds {type, targetId, documentId, data}
// for a request and {type, targetId, data, documentId} for a sync message;
// the network subsystem then appends senderId.
Bytes RequestMessage::Encode() const {
  Bytes out = Start(5, kType, 128 + data.size());
  TextField(out, "targetId", target_id);
  TextField(out, "documentId", document_id.ToString());
  BytesField(out, "data", data);
  TextField(out, "senderId", sender_id);
  return out;
}

Bytes SyncMessage::Encode() const {
  Bytes out = Start(5, kType, 128 + data.size());
  TextField(out, "targetId", target_id);
  BytesField(out, "data", data);
  TextField(out, "documentId", document_id.ToString());
  TextField(out, "senderId", sender_id);
  return out;
}

Bytes DocUnavailableMessage::Encode() const {
  Bytes out = Start(4, kType);
  TextField(out, "documentId", document_id.ToString());
  TextField(out, "targetId", target_id);
  TextField(out, "senderId", sender_id);
  return out;
}

Bytes EphemeralMessage::Encode() const {
  Bytes out = Start(7, kType, 160 + data.size());
  TextField(out, "targetId", target_id);
  TextField(out, "documentId", document_id.ToString());
  BytesField(out, "data", data);
  UintField(out, "count", count);
  TextField(out, "sessionId", session_id);
  TextField(out, "senderId", sender_id);
  return out;
}

Bytes RemoteSubscriptionChangeMessage::Encode() const {
  Bytes out = Start(3 + size_t(add.has_value()) + remove.has_value(), kType);
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
  return out;
}

Bytes RemoteHeadsChangedMessage::Encode() const {
  Bytes out = Start(5, kType, 256);
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
  return out;
}

Bytes ErrorMessage::Encode() const {
  Bytes out =
      Start(2 + size_t(sender_id.has_value()) + target_id.has_value(), kType);
  if (sender_id) TextField(out, "senderId", *sender_id);
  TextField(out, "message", message);
  if (target_id) TextField(out, "targetId", *target_id);
  return out;
}

std::string_view MessageType(const Message& m) {
  return std::visit([](const auto& msg) { return msg.kType; }, m);
}

Bytes EncodeMessage(const Message& m) {
  return std::visit([](const auto& msg) { return msg.Encode(); }, m);
}

cbor::Value MessageToCbor(const Message& m) {
  // Our own encoding always decodes; an empty map only if that invariant
  // were broken.
  auto v = cbor::Decode(EncodeMessage(m));
  return v ? std::move(*v) : cbor::Value::Map();
}

Result<Message> MessageFromCbor(cbor::Value v) {
  if (v.type() != cbor::Value::Type::kMap) {
    return Err(ErrorCode::kInvalidArgument, "message: not a CBOR map");
  }
  const cbor::Value* type = v.Find("type");
  if (type == nullptr) {
    return Err(ErrorCode::kInvalidArgument, "message: no \"type\" field");
  }
  if (type->type() != cbor::Value::Type::kText) {
    return Err(ErrorCode::kInvalidArgument,
               "message: \"type\" must be a text string");
  }
  std::string type_name(type->text());
  return DecodeTyped(v, type_name);
}

Result<Message> DecodeMessage(ByteSpan data, size_t max_bytes) {
  if (data.size() > max_bytes) {
    return Err(ErrorCode::kOverflow,
               "message of {} bytes exceeds the limit of {} bytes", data.size(),
               max_bytes);
  }
  cbor::DecodeLimits limits;
  limits.max_input_bytes = max_bytes;
  auto v = cbor::Decode(data, limits);
  if (!v) return tl::unexpected(v.error().WithContext("message"));
  return MessageFromCbor(std::move(*v));
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
