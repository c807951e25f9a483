#include "crypto/hash.h"

#include <sodium.h>

#include "base/encoding.h"
#include "crypto/ed25519.h"

namespace vudo::crypto {

static_assert(sizeof(crypto_hash_sha256_state) <= 128);

Sha256Digest Sha256(ByteSpan data) {
  InitSodium();
  Sha256Digest d;
  crypto_hash_sha256(d.data(), data.data(), data.size());
  return d;
}

Sha256Hasher::Sha256Hasher() {
  InitSodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}
void Sha256Hasher::Update(ByteSpan data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            data.data(), data.size());
}
Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest d;
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                           d.data());
  return d;
}

std::string Base58CheckEncode(ByteSpan payload) {
  auto check = Sha256(Sha256(payload));
  Bytes b(payload.begin(), payload.end());
  b.insert(b.end(), check.begin(), check.begin() + 4);
  return Base58Encode(b);
}

Result<Bytes> Base58CheckDecode(std::string_view text) {
  VUDO_ASSIGN_OR_RETURN(Bytes b, Base58Decode(text));
  if (b.size() < 4)
    return Err(ErrorCode::kTruncated, "base58check: shorter than its checksum");
  ByteSpan payload(b.data(), b.size() - 4);
  auto check = Sha256(Sha256(payload));
  if (!std::equal(check.begin(), check.begin() + 4, b.end() - 4))
    return Err(ErrorCode::kCorrupt, "base58check: checksum mismatch");
  b.resize(b.size() - 4);
  return b;
}

}  // namespace vudo::crypto
