#include "crypto/box.h"

#include <sodium.h>

namespace vudo::crypto {

static_assert(crypto_box_NONCEBYTES == kBoxNonceSize);
static_assert(crypto_box_MACBYTES == 16);

Result<SharedBox> SharedBox::Create(const SecretKey& ours,
                                    const PublicKey& theirs) {
  InitSodium();
  VUDO_ASSIGN_OR_RETURN(auto their_x, theirs.ToX25519());
  auto our_x = ours.ToX25519();
  SharedBox box;
  int rc = crypto_box_beforenm(box.key_.data(), their_x.data(), our_x.data());
  sodium_memzero(our_x.data(), our_x.size());
  if (rc != 0)
    return Err(ErrorCode::kInvalidArgument, "cannot derive a shared key");
  return box;
}

Bytes SharedBox::Seal(ByteSpan plaintext) const {
  Bytes out(kBoxNonceSize + crypto_box_MACBYTES + plaintext.size());
  randombytes_buf(out.data(), kBoxNonceSize);
  crypto_box_easy_afternm(out.data() + kBoxNonceSize, plaintext.data(),
                          plaintext.size(), out.data(), key_.data());
  return out;
}

Result<Bytes> SharedBox::Open(ByteSpan sealed) const {
  if (sealed.size() < kBoxOverhead)
    return Err(ErrorCode::kTruncated, "sealed box shorter than its overhead");
  Bytes out(sealed.size() - kBoxOverhead);
  if (crypto_box_open_easy_afternm(out.data(), sealed.data() + kBoxNonceSize,
                                   sealed.size() - kBoxNonceSize, sealed.data(),
                                   key_.data()) != 0)
    return Err(ErrorCode::kCorrupt, "sealed box failed authentication");
  return out;
}

}  // namespace vudo::crypto
