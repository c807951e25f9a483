#include "net/tls.h"

#include <gnutls/abstract.h>

#include <cstring>

namespace vudo::net {
namespace {

// DER prefixes of an Ed25519 SubjectPublicKeyInfo and PKCS#8 private key.
constexpr uint8_t kSpkiPrefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                     0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr uint8_t kPkcs8Prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30,
                                      0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                      0x04, 0x22, 0x04, 0x20};

gnutls_datum_t Datum(const Bytes& b) {
  return gnutls_datum_t{const_cast<uint8_t*>(b.data()),
                        static_cast<unsigned>(b.size())};
}

}  // namespace

const char kTlsPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:-SIGN-ALL:+SIGN-EDDSA-ED25519:-GROUP-ALL:+GROUP-X25519:"
    "-CTYPE-ALL:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK:%DISABLE_TLS13_COMPAT_MODE";

Bytes Ed25519Spki(const NodeId& id) {
  Bytes out(std::begin(kSpkiPrefix), std::end(kSpkiPrefix));
  Append(out, id.span());
  return out;
}

Result<NodeId> NodeIdFromSpki(ByteSpan spki) {
  if (spki.size() != sizeof(kSpkiPrefix) + NodeId::kSize)
    return Err(ErrorCode::kUnsupported,
               "peer raw public key is {} bytes, not an Ed25519 key",
               spki.size());
  if (std::memcmp(spki.data(), kSpkiPrefix, sizeof(kSpkiPrefix)) != 0)
    return Err(ErrorCode::kUnsupported, "peer raw public key is not Ed25519");
  return NodeId::FromBytes(spki.subspan(sizeof(kSpkiPrefix)));
}

Status TlsContext::InitPriority() {
  const char* err_pos = nullptr;
  if (int rv = gnutls_priority_init(&priority_, kTlsPriority, &err_pos); rv < 0)
    return Err(ErrorCode::kInternal, "gnutls priority: {} (at '{}')",
               gnutls_strerror(rv), err_pos ? err_pos : "");
  return Ok();
}

Result<std::unique_ptr<TlsContext>> TlsContext::Create(
    const crypto::SecretKey& key) {
  std::unique_ptr<TlsContext> ctx(new TlsContext());
  VUDO_TRY(ctx->InitPriority());
  if (gnutls_certificate_allocate_credentials(&ctx->cred_) < 0)
    return Err(ErrorCode::kInternal, "gnutls credentials allocation failed");
  Bytes spki = Ed25519Spki(key.public_key());
  Bytes pkcs8(std::begin(kPkcs8Prefix), std::end(kPkcs8Prefix));
  Append(pkcs8, key.seed());
  gnutls_datum_t spki_d = Datum(spki), key_d = Datum(pkcs8);
  int rv = gnutls_certificate_set_rawpk_key_mem(ctx->cred_, &spki_d, &key_d,
                                                GNUTLS_X509_FMT_DER, nullptr, 0,
                                                nullptr, 0, 0);
  std::fill(pkcs8.begin(), pkcs8.end(), 0);
  if (rv < 0)
    return Err(ErrorCode::kInternal, "gnutls rejected the node key: {}",
               gnutls_strerror(rv));
  ctx->id_ = key.public_key();
  return ctx;
}

Result<std::unique_ptr<TlsContext>> TlsContext::CreateWithoutKeyForTesting() {
  std::unique_ptr<TlsContext> ctx(new TlsContext());
  VUDO_TRY(ctx->InitPriority());
  if (gnutls_certificate_allocate_credentials(&ctx->cred_) < 0)
    return Err(ErrorCode::kInternal, "gnutls credentials allocation failed");
  return ctx;
}

TlsContext::~TlsContext() {
  if (cred_) gnutls_certificate_free_credentials(cred_);
  if (priority_) gnutls_priority_deinit(priority_);
}

std::string TlsAlertName(uint8_t alert) {
  const char* name =
      gnutls_alert_get_strname(static_cast<gnutls_alert_description_t>(alert));
  return name ? name : "alert " + std::to_string(alert);
}

}  // namespace vudo::net
