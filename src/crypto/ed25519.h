// Ed25519 identities (libsodium). A node's PublicKey is its NodeId (iroh
// 1.0's EndpointId): 32 bytes, text form 64 lowercase hex characters.
#pragma once

#include <array>
#include <compare>
#include <filesystem>
#include <functional>
#include <string>

#include "base/bytes.h"

namespace vudo::crypto {

// Must be called once before any other crypto function; idempotent and
// thread-safe. Every function here calls it.
void InitSodium();

using Signature = std::array<uint8_t, 64>;

class PublicKey {
 public:
  static constexpr size_t kSize = 32;
  PublicKey() = default;
  explicit PublicKey(const std::array<uint8_t, kSize>& b) : bytes_(b) {}

  // Any 32 bytes that are a valid Ed25519 point (kInvalidArgument otherwise).
  static Result<PublicKey> FromBytes(ByteSpan b);
  // 64 hex characters (either case).
  static Result<PublicKey> FromHex(std::string_view hex);

  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  ByteSpan span() const { return bytes_; }
  std::string ToHex() const;
  // First 5 bytes in hex, for logs.
  std::string ShortHex() const;

  bool Verify(ByteSpan message, const Signature& sig) const;
  // The X25519 public key of the same identity (for crypto_box).
  Result<std::array<uint8_t, 32>> ToX25519() const;

  auto operator<=>(const PublicKey&) const = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

using NodeId = PublicKey;

class SecretKey {
 public:
  static constexpr size_t kSeedSize = 32;
  // A fresh random key.
  static SecretKey Generate();
  static Result<SecretKey> FromSeed(ByteSpan seed);

  const PublicKey& public_key() const { return public_; }
  ByteSpan seed() const { return {sk_.data(), kSeedSize}; }
  Signature Sign(ByteSpan message) const;
  // X25519 secret key of the same identity (for crypto_box).
  std::array<uint8_t, 32> ToX25519() const;

  // File form: PEM "PRIVATE KEY" (PKCS#8 Ed25519, as openssl writes it).
  std::string ToPem() const;
  static Result<SecretKey> FromPem(std::string_view pem);
  // Writes atomically with mode 0600 (kAlreadyExists unless overwrite).
  Status SaveToFile(const std::filesystem::path& path,
                    bool overwrite = false) const;
  // Errors: kNotFound, kIo, kPermissionDenied (group/other can read it),
  // kInvalidArgument (not a key file).
  static Result<SecretKey> LoadFromFile(const std::filesystem::path& path);

 private:
  std::array<uint8_t, 64> sk_{};  // libsodium form: seed || public key
  PublicKey public_;
};

}  // namespace vudo::crypto

template <>
struct std::hash<vudo::crypto::PublicKey> {
  size_t operator()(const vudo::crypto::PublicKey& k) const noexcept {
    size_t h;
    std::memcpy(&h, k.bytes().data(), sizeof h);
    return h;
  }
};
