#include "base/encoding.h"

#include <algorithm>
#include <array>

namespace vudo {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr char kZBase32[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
constexpr char kBase58[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr char kBase64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Reverse table: -1 for characters outside the alphabet.
std::array<int8_t, 256> MakeTable(std::string_view alphabet,
                                  bool fold_case = false) {
  std::array<int8_t, 256> t;
  t.fill(-1);
  for (size_t i = 0; i < alphabet.size(); ++i) {
    unsigned char c = alphabet[i];
    t[c] = int8_t(i);
    if (fold_case) {
      if (c >= 'a' && c <= 'z') t[c - 32] = int8_t(i);
      if (c >= 'A' && c <= 'Z') t[c + 32] = int8_t(i);
    }
  }
  return t;
}

std::string Base32EncodeWith(ByteSpan data, const char* alphabet) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<Bytes> Base32DecodeWith(std::string_view text,
                               const std::array<int8_t, 256>& table,
                               const char* name) {
  if (text.size() > kMaxDecodeInput)
    return Err(ErrorCode::kOverflow, "{}: input too long", name);
  size_t rem = text.size() % 8;
  if (rem == 1 || rem == 3 || rem == 6)
    return Err(ErrorCode::kInvalidArgument, "{}: impossible length {}", name,
               text.size());
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int8_t v = table[static_cast<unsigned char>(text[i])];
    if (v < 0)
      return Err(ErrorCode::kInvalidArgument,
                 "{}: invalid character at position {}", name, i);
    buffer = (buffer << 5) | uint32_t(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(uint8_t(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0)
    return Err(ErrorCode::kInvalidArgument, "{}: non-zero trailing bits", name);
  return out;
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view text) {
  static const auto table = MakeTable("0123456789abcdef", true);
  if (text.size() > kMaxDecodeInput)
    return Err(ErrorCode::kOverflow, "hex: input too long");
  if (text.size() % 2 != 0)
    return Err(ErrorCode::kInvalidArgument, "hex: odd length {}", text.size());
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = table[static_cast<unsigned char>(text[2 * i])];
    int lo = table[static_cast<unsigned char>(text[2 * i + 1])];
    if (hi < 0 || lo < 0)
      return Err(ErrorCode::kInvalidArgument,
                 "hex: invalid character near position {}", 2 * i);
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

std::string Base32Encode(ByteSpan data) {
  return Base32EncodeWith(data, kBase32);
}
Result<Bytes> Base32Decode(std::string_view text) {
  static const auto table = MakeTable(kBase32, true);
  return Base32DecodeWith(text, table, "base32");
}

std::string ZBase32Encode(ByteSpan data) {
  return Base32EncodeWith(data, kZBase32);
}
Result<Bytes> ZBase32Decode(std::string_view text) {
  static const auto table = MakeTable(kZBase32);
  return Base32DecodeWith(text, table, "z-base-32");
}

std::string Base58Encode(ByteSpan data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // log(256)/log(58) ~ 1.366
  std::vector<uint8_t> digits((data.size() - zeros) * 138 / 100 + 1, 0);
  size_t len = 0;
  for (size_t i = zeros; i < data.size(); ++i) {
    uint32_t carry = data[i];
    size_t j = 0;
    for (; j < len || carry != 0; ++j) {
      carry += uint32_t(digits[j]) * 256;
      digits[j] = uint8_t(carry % 58);
      carry /= 58;
    }
    len = j;
  }
  std::string out(zeros, '1');
  for (size_t i = 0; i < len; ++i) out.push_back(kBase58[digits[len - 1 - i]]);
  return out;
}

Result<Bytes> Base58Decode(std::string_view text) {
  static const auto table = MakeTable(kBase58);
  // Quadratic in the length: cap well below anything slow.
  if (text.size() > 4096)
    return Err(ErrorCode::kOverflow, "base58: input too long ({} chars)",
               text.size());
  size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  std::vector<uint8_t> bytes(text.size() * 733 / 1000 + 1, 0);
  size_t len = 0;
  for (size_t i = ones; i < text.size(); ++i) {
    int8_t v = table[static_cast<unsigned char>(text[i])];
    if (v < 0)
      return Err(ErrorCode::kInvalidArgument,
                 "base58: invalid character at position {}", i);
    uint32_t carry = uint32_t(v);
    size_t j = 0;
    for (; j < len || carry != 0; ++j) {
      carry += uint32_t(bytes[j]) * 58;
      bytes[j] = uint8_t(carry & 0xff);
      carry >>= 8;
    }
    len = j;
  }
  Bytes out(ones, 0);
  for (size_t i = 0; i < len; ++i) out.push_back(bytes[len - 1 - i]);
  return out;
}

std::string Base64Encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64[(v >> s) & 63]);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = data[i] << 16;
    if (rest == 2) v |= data[i + 1] << 8;
    out.push_back(kBase64[(v >> 18) & 63]);
    out.push_back(kBase64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  static const auto table = MakeTable(kBase64);
  if (text.size() > kMaxDecodeInput)
    return Err(ErrorCode::kOverflow, "base64: input too long");
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0)
    return Err(ErrorCode::kInvalidArgument,
               "base64: length not a multiple of 4");
  size_t pad = 0;
  if (!clean.empty() && clean.back() == '=') ++pad;
  if (clean.size() >= 2 && clean[clean.size() - 2] == '=') ++pad;
  Bytes out;
  out.reserve(clean.size() / 4 * 3);
  for (size_t i = 0; i < clean.size(); i += 4) {
    uint32_t v = 0;
    bool last = i + 4 == clean.size();
    for (size_t k = 0; k < 4; ++k) {
      char c = clean[i + k];
      int8_t d;
      if (c == '=' && last && k >= 4 - pad) {
        d = 0;
      } else {
        d = table[static_cast<unsigned char>(c)];
        if (d < 0)
          return Err(ErrorCode::kInvalidArgument,
                     "base64: invalid character at position {}", i + k);
      }
      v = (v << 6) | uint32_t(d);
    }
    out.push_back(uint8_t(v >> 16));
    if (!last || pad < 2) out.push_back(uint8_t(v >> 8));
    if (!last || pad < 1) out.push_back(uint8_t(v));
    if (last && ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))))
      return Err(ErrorCode::kInvalidArgument, "base64: non-zero trailing bits");
  }
  return out;
}

}  // namespace vudo
