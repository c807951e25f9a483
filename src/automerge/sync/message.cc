#include "automerge/sync/message.h"

#include <cstring>

#include "base/leb128.h"

namespace vudo::automerge::sync {
namespace {

constexpr uint8_t kFlagsMarker = 0x80;
constexpr uint8_t kLegacyV2Byte = 0x02;

Error Context(const Error& e, std::string_view field) {
  return e.WithContext(fmt::format("sync message {}", field));
}

// A count that announces `count` items of at least `min_size` bytes each
// must fit in what remains of the input.
Status CheckCount(uint64_t count, size_t min_size, const ByteReader& reader,
                  std::string_view field) {
  if (count > reader.remaining() / min_size) {
    return Err(ErrorCode::kTruncated,
               "sync message {}: {} entries announced but only {} bytes left",
               field, count, reader.remaining());
  }
  return Ok();
}

Result<HashList> ReadHashes(ByteReader& reader, std::string_view field) {
  auto count = ReadUleb(reader);
  if (!count) return tl::unexpected(Context(count.error(), field));
  VUDO_TRY(CheckCount(*count, 32, reader, field));
  HashList hashes(*count);
  for (auto& hash : hashes) {
    auto span = reader.ReadSpan(32);
    std::memcpy(hash.data(), span->data(), 32);
  }
  return hashes;
}

Result<ByteSpan> ReadLengthPrefixed(ByteReader& reader,
                                    std::string_view field) {
  auto length = ReadUleb(reader);
  if (!length) return tl::unexpected(Context(length.error(), field));
  if (*length > reader.remaining()) {
    return Err(ErrorCode::kTruncated,
               "sync message {}: {} bytes announced but only {} left", field,
               *length, reader.remaining());
  }
  return *reader.ReadSpan(*length);
}

void AppendHashes(Bytes& out, const HashList& hashes) {
  AppendUleb(out, hashes.size());
  for (const auto& hash : hashes)
    out.insert(out.end(), hash.begin(), hash.end());
}

size_t HashesSize(const HashList& hashes) {
  return UlebSize(hashes.size()) + 32 * hashes.size();
}

}  // namespace

uint8_t ParseFlagBytes(ByteSpan trailer) {
  uint8_t flags = 0;
  for (uint8_t byte : trailer) {
    if (byte & kFlagsMarker) flags |= byte & uint8_t(~kFlagsMarker);
  }
  return flags;
}

Result<Message> DecodeMessage(ByteSpan bytes) {
  ByteReader reader(bytes);
  Message message;
  auto type = reader.ReadU8();
  if (!type) return Err(ErrorCode::kTruncated, "sync message: empty input");
  if (*type == uint8_t(MessageVersion::kV1)) {
    message.version = MessageVersion::kV1;
  } else if (*type == uint8_t(MessageVersion::kV2)) {
    message.version = MessageVersion::kV2;
  } else {
    return Err(ErrorCode::kUnsupported,
               "sync message: type byte 0x{:02x} (expected 0x42 or 0x43)",
               *type);
  }
  VUDO_ASSIGN_OR_RETURN(message.heads, ReadHashes(reader, "heads"));
  VUDO_ASSIGN_OR_RETURN(message.need, ReadHashes(reader, "need"));

  auto have_count = ReadUleb(reader);
  if (!have_count) return tl::unexpected(Context(have_count.error(), "have"));
  // Each have entry is at least two bytes (two zero counts).
  VUDO_TRY(CheckCount(*have_count, 2, reader, "have"));
  if (*have_count > kMaxHaveEntries) {
    return Err(ErrorCode::kInvalidArgument,
               "sync message have: {} entries (at most {} accepted)",
               *have_count, kMaxHaveEntries);
  }
  message.have.reserve(*have_count);
  for (uint64_t i = 0; i < *have_count; ++i) {
    Have have;
    VUDO_ASSIGN_OR_RETURN(have.last_sync, ReadHashes(reader, "have.lastSync"));
    VUDO_ASSIGN_OR_RETURN(ByteSpan bloom,
                          ReadLengthPrefixed(reader, "have.bloom"));
    auto filter = BloomFilter::Decode(bloom);
    if (!filter) return tl::unexpected(Context(filter.error(), "have"));
    have.bloom = std::move(*filter);
    message.have.push_back(std::move(have));
  }

  auto change_count = ReadUleb(reader);
  if (!change_count) {
    return tl::unexpected(Context(change_count.error(), "changes"));
  }
  VUDO_TRY(CheckCount(*change_count, 1, reader, "changes"));
  message.changes.reserve(*change_count);
  for (uint64_t i = 0; i < *change_count; ++i) {
    VUDO_ASSIGN_OR_RETURN(ByteSpan change,
                          ReadLengthPrefixed(reader, "changes"));
    message.changes.emplace_back(change.begin(), change.end());
  }

  if (!reader.empty()) {
    VUDO_ASSIGN_OR_RETURN(ByteSpan trailer,
                          ReadLengthPrefixed(reader, "flags"));
    message.flags = ParseFlagBytes(trailer);
  }
  return message;
}

size_t EncodedMessageSize(const Message& message) {
  size_t size = 1 + HashesSize(message.heads) + HashesSize(message.need);
  size += UlebSize(message.have.size());
  for (const auto& have : message.have) {
    size_t bloom = have.bloom.EncodedSize();
    size += HashesSize(have.last_sync) + UlebSize(bloom) + bloom;
  }
  size += UlebSize(message.changes.size());
  for (const auto& change : message.changes) {
    size += UlebSize(change.size()) + change.size();
  }
  if (message.flags) size += 3;
  return size;
}

Bytes EncodeMessage(const Message& message) {
  Bytes out;
  out.reserve(EncodedMessageSize(message));
  out.push_back(uint8_t(message.version));
  AppendHashes(out, message.heads);
  AppendHashes(out, message.need);
  AppendUleb(out, message.have.size());
  for (const auto& have : message.have) {
    AppendHashes(out, have.last_sync);
    AppendUleb(out, have.bloom.EncodedSize());
    have.bloom.EncodeTo(out);
  }
  AppendUleb(out, message.changes.size());
  for (const auto& change : message.changes) {
    AppendUleb(out, change.size());
    Append(out, change);
  }
  if (message.flags) {
    AppendUleb(out, 2);
    out.push_back(kLegacyV2Byte);
    out.push_back(kFlagsMarker | (*message.flags & 0x7f));
  }
  return out;
}

}  // namespace vudo::automerge::sync
