#include "crypto/ed25519.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "base/encoding.h"

namespace vudo::crypto {
namespace {

// PKCS#8 prefix of an Ed25519 private key (RFC 8410): SEQUENCE { INTEGER 0,
// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
constexpr uint8_t kPkcs8Prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30,
                                    0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                    0x04, 0x22, 0x04, 0x20};
constexpr std::string_view kPemBegin = "-----BEGIN PRIVATE KEY-----";
constexpr std::string_view kPemEnd = "-----END PRIVATE KEY-----";
constexpr size_t kMaxKeyFile = 4096;

}  // namespace

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: cannot run
  });
}

Result<PublicKey> PublicKey::FromBytes(ByteSpan b) {
  InitSodium();
  if (b.size() != kSize)
    return Err(ErrorCode::kInvalidArgument,
               "public key must be 32 bytes, got {}", b.size());
  std::array<uint8_t, kSize> a;
  std::memcpy(a.data(), b.data(), kSize);
  if (crypto_core_ed25519_is_valid_point(a.data()) != 1)
    return Err(ErrorCode::kInvalidArgument,
               "public key is not a valid Ed25519 point");
  return PublicKey(a);
}

Result<PublicKey> PublicKey::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize)
    return Err(ErrorCode::kInvalidArgument,
               "node id must be 64 hex characters, got {}", hex.size());
  VUDO_ASSIGN_OR_RETURN(auto bytes, HexDecode(hex));
  return FromBytes(bytes);
}

std::string PublicKey::ToHex() const { return HexEncode(bytes_); }
std::string PublicKey::ShortHex() const {
  return HexEncode(ByteSpan(bytes_.data(), 5));
}

bool PublicKey::Verify(ByteSpan message, const Signature& sig) const {
  InitSodium();
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(),
                                     bytes_.data()) == 0;
}

Result<std::array<uint8_t, 32>> PublicKey::ToX25519() const {
  InitSodium();
  std::array<uint8_t, 32> out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), bytes_.data()) != 0)
    return Err(ErrorCode::kInvalidArgument,
               "public key has no X25519 equivalent");
  return out;
}

SecretKey SecretKey::Generate() {
  InitSodium();
  std::array<uint8_t, kSeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  auto key = *FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

Result<SecretKey> SecretKey::FromSeed(ByteSpan seed) {
  InitSodium();
  if (seed.size() != kSeedSize)
    return Err(ErrorCode::kInvalidArgument, "secret key seed must be 32 bytes");
  SecretKey k;
  std::array<uint8_t, 32> pk;
  crypto_sign_seed_keypair(pk.data(), k.sk_.data(), seed.data());
  k.public_ = PublicKey(pk);
  return k;
}

Signature SecretKey::Sign(ByteSpan message) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                       sk_.data());
  return sig;
}

std::array<uint8_t, 32> SecretKey::ToX25519() const {
  std::array<uint8_t, 32> out;
  crypto_sign_ed25519_sk_to_curve25519(out.data(), sk_.data());
  return out;
}

std::string SecretKey::ToPem() const {
  Bytes der(std::begin(kPkcs8Prefix), std::end(kPkcs8Prefix));
  Append(der, seed());
  std::string pem = std::string(kPemBegin) + "\n" + Base64Encode(der) + "\n" +
                    std::string(kPemEnd) + "\n";
  sodium_memzero(der.data(), der.size());
  return pem;
}

Result<SecretKey> SecretKey::FromPem(std::string_view pem) {
  if (pem.size() > kMaxKeyFile)
    return Err(ErrorCode::kInvalidArgument, "key file too large");
  size_t begin = pem.find(kPemBegin);
  size_t end = pem.find(kPemEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos ||
      end < begin)
    return Err(ErrorCode::kInvalidArgument,
               "not a PEM private key (no BEGIN/END PRIVATE KEY lines)");
  auto body =
      pem.substr(begin + kPemBegin.size(), end - begin - kPemBegin.size());
  auto der = Base64Decode(body);
  if (!der) return tl::unexpected(der.error().WithContext("key file"));
  if (der->size() != sizeof(kPkcs8Prefix) + kSeedSize ||
      std::memcmp(der->data(), kPkcs8Prefix, sizeof(kPkcs8Prefix)) != 0)
    return Err(ErrorCode::kInvalidArgument,
               "key file: not an Ed25519 PKCS#8 private key");
  auto key = FromSeed(ByteSpan(*der).subspan(sizeof(kPkcs8Prefix)));
  sodium_memzero(der->data(), der->size());
  return key;
}

Status SecretKey::SaveToFile(const std::filesystem::path& path,
                             bool overwrite) const {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    return Err(ErrorCode::kAlreadyExists, "{} already exists", path.string());
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return Err(ErrorCode::kIo, "cannot create {}: {}", tmp.string(),
               std::strerror(errno));
  std::string pem = ToPem();
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, pem.data(), pem.size()) == ssize_t(pem.size()) &&
            ::fsync(fd) == 0;
  int saved_errno = errno;
  ::close(fd);
  sodium_memzero(pem.data(), pem.size());
  if (!ok) {
    ::unlink(tmp.c_str());
    return Err(ErrorCode::kIo, "cannot write {}: {}", tmp.string(),
               std::strerror(saved_errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Err(ErrorCode::kIo, "cannot rename to {}: {}", path.string(),
               std::strerror(errno));
  // Make the rename durable.
  int dfd =
      ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

Result<SecretKey> SecretKey::LoadFromFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return Err(ErrorCode::kNotFound, "{} does not exist", path.string());
    return Err(ErrorCode::kIo, "cannot open {}: {}", path.string(),
               std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Err(ErrorCode::kIo, "cannot stat {}", path.string());
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return Err(ErrorCode::kPermissionDenied,
               "{} is readable by others (mode {:o}); chmod 600 it",
               path.string(), st.st_mode & 0777);
  }
  if (st.st_size > ssize_t(kMaxKeyFile)) {
    ::close(fd);
    return Err(ErrorCode::kInvalidArgument, "{}: key file too large",
               path.string());
  }
  std::string text(size_t(st.st_size), '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != st.st_size)
    return Err(ErrorCode::kIo, "cannot read {}", path.string());
  auto key = FromPem(text);
  sodium_memzero(text.data(), text.size());
  if (!key) return tl::unexpected(key.error().WithContext(path.string()));
  return key;
}

}  // namespace vudo::crypto
