#include "crypto/hash.h"

#include <nettle/sha2.h>

#include "base/encoding.h"

namespace vudo::crypto {

// nettle's SHA-256 (a fat build: SHA-NI on x86-64 CPUs that have it,
// selected at run time).
static_assert(sizeof(sha256_ctx) <= 128);
static_assert(alignof(sha256_ctx) <= 64);

namespace {
sha256_ctx* Ctx(unsigned char* state) {
  return reinterpret_cast<sha256_ctx*>(state);
}
}  // namespace

Sha256Digest Sha256(ByteSpan data) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), data.data());
  Sha256Digest d;
  sha256_digest(&ctx, d.size(), d.data());
  return d;
}

Sha256Hasher::Sha256Hasher() { sha256_init(Ctx(state_)); }
void Sha256Hasher::Update(ByteSpan data) {
  sha256_update(Ctx(state_), data.size(), data.data());
}
Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest d;
  sha256_digest(Ctx(state_), d.size(), d.data());
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
