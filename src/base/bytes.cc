#include "base/bytes.h"

namespace vudo {

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

Result<uint8_t> ByteReader::ReadU8() {
  if (remaining() < 1)
    return Err(ErrorCode::kTruncated, "need 1 byte at offset {}", pos_);
  return data_[pos_++];
}

Result<uint16_t> ByteReader::ReadU16BE() {
  VUDO_ASSIGN_OR_RETURN(auto s, ReadSpan(2));
  return uint16_t((s[0] << 8) | s[1]);
}

Result<uint32_t> ByteReader::ReadU32BE() {
  VUDO_ASSIGN_OR_RETURN(auto s, ReadSpan(4));
  return LoadU32BE(s.data());
}

Result<uint64_t> ByteReader::ReadU64BE() {
  VUDO_ASSIGN_OR_RETURN(auto s, ReadSpan(8));
  uint64_t v = 0;
  for (uint8_t b : s) v = (v << 8) | b;
  return v;
}

Result<ByteSpan> ByteReader::ReadSpan(size_t n) {
  if (remaining() < n)
    return Err(ErrorCode::kTruncated, "need {} bytes at offset {}, have {}", n,
               pos_, remaining());
  ByteSpan s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

Result<Bytes> ByteReader::ReadBytes(size_t n) {
  VUDO_ASSIGN_OR_RETURN(auto s, ReadSpan(n));
  return Bytes(s.begin(), s.end());
}

Status ByteReader::Skip(size_t n) {
  VUDO_TRY(ReadSpan(n));
  return Ok();
}

Status ByteReader::ExpectEnd(std::string_view what) const {
  if (remaining() != 0)
    return Err(ErrorCode::kInvalidArgument, "{}: {} trailing bytes", what,
               remaining());
  return Ok();
}

}  // namespace vudo
