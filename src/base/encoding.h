// Text encodings of binary data: hex, RFC 4648 base32 (lowercase, unpadded),
// z-base-32, base58 (Bitcoin alphabet) and base64 (RFC 4648, padded).
//
// Decoders reject every character outside the alphabet, impossible lengths
// and non-zero trailing bits with kInvalidArgument, and inputs longer than
// kMaxDecodeInput with kOverflow.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"

namespace vudo {

inline constexpr size_t kMaxDecodeInput = 16 << 20;

std::string HexEncode(ByteSpan data);
// Accepts upper and lower case.
Result<Bytes> HexDecode(std::string_view text);

std::string Base32Encode(ByteSpan data);
// Accepts upper and lower case; no padding.
Result<Bytes> Base32Decode(std::string_view text);

std::string ZBase32Encode(ByteSpan data);
Result<Bytes> ZBase32Decode(std::string_view text);

std::string Base58Encode(ByteSpan data);
Result<Bytes> Base58Decode(std::string_view text);

std::string Base64Encode(ByteSpan data);
// Ignores ASCII whitespace; requires correct padding.
Result<Bytes> Base64Decode(std::string_view text);

}  // namespace vudo
