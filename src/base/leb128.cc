#include "base/leb128.h"

namespace vudo {

void AppendUleb(Bytes& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    out.push_back(b);
  } while (v != 0);
}

size_t UlebSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendSleb(Bytes& out, int64_t v) {
  for (;;) {
    uint8_t b = v & 0x7f;
    v >>= 7;  // arithmetic shift
    bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
    if (!done) b |= 0x80;
    out.push_back(b);
    if (done) return;
  }
}

Result<uint64_t> ReadUleb(ByteReader& r, Leb128Mode mode) {
  uint64_t result = 0;
  unsigned shift = 0;
  for (int i = 0;; ++i) {
    auto byte = r.ReadU8();
    if (!byte) return Err(ErrorCode::kTruncated, "truncated LEB128");
    uint8_t b = *byte;
    if (i == 9) {
      // The 10th byte holds bit 63 only.
      if ((b & 0x7f) > 1 || (b & 0x80))
        return Err(ErrorCode::kOverflow, "LEB128 exceeds 64 bits");
    }
    result |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (mode == Leb128Mode::kStrict && b == 0 && i > 0)
        return Err(ErrorCode::kInvalidArgument, "overlong LEB128");
      return result;
    }
    shift += 7;
  }
}

Result<uint32_t> ReadUleb32(ByteReader& r, Leb128Mode mode) {
  VUDO_ASSIGN_OR_RETURN(uint64_t v, ReadUleb(r, mode));
  if (v > UINT32_MAX)
    return Err(ErrorCode::kOverflow, "LEB128 exceeds 32 bits");
  return uint32_t(v);
}

Result<int64_t> ReadSleb(ByteReader& r, Leb128Mode mode) {
  int64_t result = 0;
  unsigned shift = 0;
  uint8_t prev = 0;
  for (int i = 0;; ++i) {
    auto byte = r.ReadU8();
    if (!byte) return Err(ErrorCode::kTruncated, "truncated signed LEB128");
    uint8_t b = *byte;
    if (i == 9) {
      // 63 bits consumed; the last byte carries bit 63 and must be pure sign
      // extension: 0x00 (positive) or 0x7f (negative).
      if (b != 0x00 && b != 0x7f)
        return Err(ErrorCode::kOverflow, "signed LEB128 exceeds 64 bits");
      bool negative = b == 0x7f;
      if (negative) result |= int64_t(uint64_t(1) << 63);
      if (mode == Leb128Mode::kStrict &&
          ((b == 0 && !(prev & 0x40)) || (b == 0x7f && (prev & 0x40))))
        return Err(ErrorCode::kInvalidArgument, "overlong signed LEB128");
      return result;
    }
    result |= int64_t(uint64_t(b & 0x7f) << shift);
    shift += 7;
    if (!(b & 0x80)) {
      if (mode == Leb128Mode::kStrict && i > 0 &&
          ((b == 0 && !(prev & 0x40)) || (b == 0x7f && (prev & 0x40))))
        return Err(ErrorCode::kInvalidArgument, "overlong signed LEB128");
      if (b & 0x40) result |= int64_t(~uint64_t(0) << shift);  // sign extend
      return result;
    }
    prev = b;
  }
}

size_t QuicVarintSize(uint64_t v) {
  if (v < (1u << 6)) return 1;
  if (v < (1u << 14)) return 2;
  if (v < (1u << 30)) return 4;
  return 8;
}

Status AppendQuicVarint(Bytes& out, uint64_t v) {
  if (v > kQuicVarintMax)
    return Err(ErrorCode::kOverflow, "QUIC varint value {} too large", v);
  size_t n = QuicVarintSize(v);
  uint8_t prefix = n == 1 ? 0x00 : n == 2 ? 0x40 : n == 4 ? 0x80 : 0xc0;
  for (size_t i = 0; i < n; ++i) {
    uint8_t b = uint8_t(v >> (8 * (n - 1 - i)));
    if (i == 0) b |= prefix;
    out.push_back(b);
  }
  return Ok();
}

Result<uint64_t> ReadQuicVarint(ByteReader& r) {
  auto first = r.ReadU8();
  if (!first) return Err(ErrorCode::kTruncated, "truncated QUIC varint");
  size_t n = size_t{1} << (*first >> 6);
  uint64_t v = *first & 0x3f;
  auto rest = r.ReadSpan(n - 1);
  if (!rest) return Err(ErrorCode::kTruncated, "truncated QUIC varint");
  for (uint8_t b : *rest) v = (v << 8) | b;
  return v;
}

}  // namespace vudo
