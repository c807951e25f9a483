// Byte buffers and bounds-checked readers/writers.
//
// ByteReader never reads past its span: every Read* returns kTruncated when
// the input ends early. It is the base of every decoder of untrusted bytes.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vudo {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(std::string_view s) {
  auto b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}
inline Bytes ToBytes(ByteSpan b) { return Bytes(b.begin(), b.end()); }

inline void Append(Bytes& out, ByteSpan b) {
  out.insert(out.end(), b.begin(), b.end());
}
inline void AppendU16BE(Bytes& out, uint16_t v) {
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}
inline void AppendU32BE(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}
inline void AppendU64BE(Bytes& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}
inline uint32_t LoadU32BE(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint32_t LoadU32LE(const uint8_t* p) {
  return (uint32_t(p[3]) << 24) | (uint32_t(p[2]) << 16) |
         (uint32_t(p[1]) << 8) | uint32_t(p[0]);
}

// Constant-time comparison for secrets.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

// A cursor over untrusted bytes.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }
  // The unread rest (does not advance).
  ByteSpan rest() const { return data_.subspan(pos_); }

  Result<uint8_t> ReadU8();
  Result<uint16_t> ReadU16BE();
  Result<uint32_t> ReadU32BE();
  Result<uint64_t> ReadU64BE();
  // A view of the next n bytes (valid as long as the underlying buffer).
  Result<ByteSpan> ReadSpan(size_t n);
  Result<Bytes> ReadBytes(size_t n);
  template <size_t N>
  Result<std::array<uint8_t, N>> ReadArray() {
    VUDO_ASSIGN_OR_RETURN(auto s, ReadSpan(N));
    std::array<uint8_t, N> a;
    std::memcpy(a.data(), s.data(), N);
    return a;
  }
  Status Skip(size_t n);
  // Returns a kInvalidArgument error unless every byte was consumed.
  Status ExpectEnd(std::string_view what) const;

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

}  // namespace vudo
