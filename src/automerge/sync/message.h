// Sync messages of the Automerge sync protocol (automerge 3.x wire format).
//
//   message = type (0x42 v1 | 0x43 v2)
//             | hashes heads | hashes need
//             | uleb nHave, (hashes lastSync | uleb len, bloom bytes)*
//             | uleb nChanges, (uleb len, bytes)*
//             | [uleb nFlags, flag bytes]          (optional trailer)
//   hashes  = uleb n, n x 32 bytes
//
// In a v1 message every `changes` entry is one change chunk. In a v2
// message the single entry is either a concatenation of change chunks or a
// whole document chunk; either way it is input for an incremental load.
// The flags trailer is what automerge appends since 2023: `02 02 8X`, a
// legacy 0x02 byte (old "MessageV2" capability) then a bitfield byte with
// the high bit set (bit 0 SyncReset, bit 1 ReadOnly, bit 2
// SupportsSyncReset). A message with any trailer marks its sender as v2
// capable. Bytes after the trailer are ignored (forward compatibility).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "automerge/sync/bloom.h"
#include "automerge/sync/hash.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge::sync {

enum class MessageVersion : uint8_t { kV1 = 0x42, kV2 = 0x43 };

// Bits of the flags bitfield byte (without its 0x80 marker).
inline constexpr uint8_t kFlagSyncReset = 1 << 0;
inline constexpr uint8_t kFlagReadOnly = 1 << 1;
inline constexpr uint8_t kFlagSupportsSyncReset = 1 << 2;

// A summary of what the sender has: the heads of its last completed sync
// with the recipient and a Bloom filter of every change added since.
struct Have {
  HashList last_sync;
  BloomFilter bloom;
  friend bool operator==(const Have&, const Have&) = default;
};

struct Message {
  MessageVersion version = MessageVersion::kV1;
  // The sender's heads (sorted).
  HashList heads;
  // Hashes the sender explicitly asks for.
  HashList need;
  // What the sender already has (automerge sends zero or one entry).
  std::vector<Have> have;
  // Chunks for the recipient to load, in order.
  std::vector<Bytes> changes;
  // The flags bitfield (kFlag* bits); nullopt when the sender wrote no
  // trailer (a v1-only peer).
  std::optional<uint8_t> flags;

  friend bool operator==(const Message&, const Message&) = default;
};

// Most `have` entries we accept in one message. Automerge sends at most
// one; every entry costs a filter lookup per change when we answer.
inline constexpr size_t kMaxHaveEntries = 16;

// Decodes a message from an untrusted peer. Every count is checked against
// the bytes that remain before anything is allocated. Errors:
// kUnsupported (first byte is not 0x42/0x43), kTruncated, kOverflow,
// kInvalidArgument (overlong LEB128, bad bloom filter, more than
// kMaxHaveEntries have entries); the message says which field failed.
Result<Message> DecodeMessage(ByteSpan bytes);

// Encodes a message the way automerge does (a present `flags` is written
// as `02 02 80|flags`).
Bytes EncodeMessage(const Message& message);
// Size of EncodeMessage's output, without encoding.
size_t EncodedMessageSize(const Message& message);

// Flags parsed from a raw trailer the way automerge does: every byte with
// the high bit set contributes its low 7 bits; other bytes are ignored.
uint8_t ParseFlagBytes(ByteSpan trailer);

}  // namespace vudo::automerge::sync
