// LEB128 (as used by Automerge and postcard) and QUIC variable-length
// integers (RFC 9000 section 16).
#pragma once

#include <cstdint>

#include "base/bytes.h"

namespace vudo {

enum class Leb128Mode {
  kStrict,   // reject overlong encodings (Automerge's rule)
  kLenient,  // accept redundant trailing continuation bytes
};

void AppendUleb(Bytes& out, uint64_t v);
void AppendSleb(Bytes& out, int64_t v);
// Number of bytes AppendUleb would write.
size_t UlebSize(uint64_t v);

// Errors: kTruncated (input ended inside the number), kOverflow (more than
// 64 bits), kInvalidArgument (overlong, in strict mode).
Result<uint64_t> ReadUleb(ByteReader& r, Leb128Mode mode = Leb128Mode::kStrict);
Result<int64_t> ReadSleb(ByteReader& r, Leb128Mode mode = Leb128Mode::kStrict);
// Reads a uleb that must fit in uint32 (kOverflow otherwise).
Result<uint32_t> ReadUleb32(ByteReader& r,
                            Leb128Mode mode = Leb128Mode::kStrict);

// QUIC varint: values up to 2^62-1, encoded in 1, 2, 4 or 8 bytes.
inline constexpr uint64_t kQuicVarintMax = (uint64_t{1} << 62) - 1;
// Appends the shortest encoding; v must be <= kQuicVarintMax (checked:
// returns kOverflow).
Status AppendQuicVarint(Bytes& out, uint64_t v);
size_t QuicVarintSize(uint64_t v);
Result<uint64_t> ReadQuicVarint(ByteReader& r);

}  // namespace vudo
