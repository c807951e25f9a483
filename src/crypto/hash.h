// Hash functions: SHA-256 (nettle, SHA-NI when the CPU has it) and BLAKE3 (our
// own; see blake3.h).
#pragma once

#include <array>

#include "base/bytes.h"

namespace vudo::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(ByteSpan data);

// Incremental SHA-256.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(ByteSpan data);
  Sha256Digest Finish();

 private:
  alignas(64) unsigned char state_[128];
};

// Bitcoin-style base58check as automerge-repo uses it for DocumentIds:
// base58(payload || first 4 bytes of SHA-256(SHA-256(payload))).
std::string Base58CheckEncode(ByteSpan payload);
// Errors: the base58 decoder's, kTruncated (< 4 bytes), kCorrupt (checksum).
Result<Bytes> Base58CheckDecode(std::string_view text);

}  // namespace vudo::crypto
