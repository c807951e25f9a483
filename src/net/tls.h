// TLS 1.3 identities for QUIC, as iroh 1.0 uses them: RFC 7250 raw public
// keys in both directions, Ed25519 only, no X.509.
//
// A node's TLS "certificate" is the 44-byte DER SubjectPublicKeyInfo of its
// Ed25519 key (302a300506032b6570032100 || 32-byte key); the 32-byte key is
// the NodeId (iroh's EndpointId).
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/ed25519.h"

namespace vudo::net {

using NodeId = crypto::PublicKey;

// The GnuTLS priority string every vudo session uses: TLS 1.3 only, raw
// public keys for client and server, Ed25519 signatures only, no middlebox
// compatibility mode (QUIC forbids it). AES-128-GCM is preferred (cheaper
// per byte than AES-256-GCM, and its SHA-256 transcript hash runs on the
// CPU's SHA extensions); AES-256-GCM and ChaCha20-Poly1305 are accepted.
extern const char kTlsPriority[];

// The 44-byte SubjectPublicKeyInfo DER of an Ed25519 key.
inline constexpr size_t kSpkiLength = 44;
Bytes Ed25519Spki(const NodeId& id);

// Parses a peer's raw public key (SubjectPublicKeyInfo DER). Errors:
// kUnsupported (not Ed25519), kInvalidArgument (malformed or not a valid
// Ed25519 point).
Result<NodeId> NodeIdFromSpki(ByteSpan spki);

// The credentials of one node: its raw public key and Ed25519 private key.
// Shared by every session of an endpoint. Not copyable; thread-compatible
// (GnuTLS credentials are read-only once built).
class TlsContext {
 public:
  // Errors: kInternal when GnuTLS refuses the key (should not happen).
  static Result<std::unique_ptr<TlsContext>> Create(
      const crypto::SecretKey& key);
  // Credentials that hold no key at all: a client using them presents no
  // raw public key. For tests of the "client without a key" refusal only.
  static Result<std::unique_ptr<TlsContext>> CreateWithoutKeyForTesting();

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  gnutls_certificate_credentials_t credentials() const { return cred_; }
  // kTlsPriority, parsed once (gnutls_priority_set per session).
  gnutls_priority_t priority() const { return priority_; }
  // The node id of the key (nullopt for CreateWithoutKeyForTesting).
  const std::optional<NodeId>& id() const { return id_; }

 private:
  TlsContext() = default;
  Status InitPriority();
  gnutls_certificate_credentials_t cred_ = nullptr;
  gnutls_priority_t priority_ = nullptr;
  std::optional<NodeId> id_;
};

// Name of a TLS alert number for messages ("bad_certificate", ...).
std::string TlsAlertName(uint8_t alert);

}  // namespace vudo::net
