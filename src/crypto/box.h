// Public-key authenticated encryption between two Ed25519 identities
// (libsodium crypto_box: X25519 + XSalsa20-Poly1305), used to seal
// hole-punching packets.
#pragma once

#include "crypto/ed25519.h"

namespace vudo::crypto {

inline constexpr size_t kBoxNonceSize = 24;
inline constexpr size_t kBoxOverhead = 16 + kBoxNonceSize;

// The precomputed shared key of (our secret, their public).
class SharedBox {
 public:
  static Result<SharedBox> Create(const SecretKey& ours,
                                  const PublicKey& theirs);
  // nonce(24) || ciphertext+tag; a fresh random nonce per call.
  Bytes Seal(ByteSpan plaintext) const;
  // Errors: kTruncated, kCorrupt (authentication failed).
  Result<Bytes> Open(ByteSpan sealed) const;

 private:
  std::array<uint8_t, 32> key_{};
};

}  // namespace vudo::crypto
