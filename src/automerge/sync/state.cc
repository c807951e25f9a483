#include "automerge/sync/state.h"

#include <cstring>

#include "base/leb128.h"

namespace vudo::automerge::sync {
namespace {
constexpr uint8_t kSyncStateType = 0x43;
}

SyncState SyncState::New(bool read_only) {
  SyncState state;
  state.read_only = read_only;
  return state;
}

Bytes SyncState::Encode() const {
  Bytes out;
  out.reserve(1 + UlebSize(shared_heads.size()) + 32 * shared_heads.size());
  out.push_back(kSyncStateType);
  AppendUleb(out, shared_heads.size());
  for (const auto& hash : shared_heads) {
    out.insert(out.end(), hash.begin(), hash.end());
  }
  return out;
}

Result<SyncState> SyncState::Decode(ByteSpan bytes) {
  ByteReader reader(bytes);
  auto type = reader.ReadU8();
  if (!type) return Err(ErrorCode::kTruncated, "sync state: empty input");
  if (*type != kSyncStateType) {
    return Err(ErrorCode::kUnsupported,
               "sync state: type byte 0x{:02x} (expected 0x43)", *type);
  }
  auto count = ReadUleb(reader);
  if (!count) return tl::unexpected(count.error().WithContext("sync state"));
  if (*count > reader.remaining() / 32) {
    return Err(ErrorCode::kTruncated,
               "sync state: {} heads announced but only {} bytes left", *count,
               reader.remaining());
  }
  SyncState state;
  state.shared_heads.resize(*count);
  for (auto& hash : state.shared_heads) {
    std::memcpy(hash.data(), reader.ReadSpan(32)->data(), 32);
  }
  state.their_have.emplace();
  return state;
}

void SyncState::SetReadOnly(bool value) {
  if (read_only == value) return;
  if (read_only) {
    auto capabilities = their_capabilities;
    *this = SyncState();
    their_capabilities = capabilities;
    needs_reset = true;
  } else {
    read_only = true;
    in_flight = false;
    have_responded = false;
  }
}

}  // namespace vudo::automerge::sync
