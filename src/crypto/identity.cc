#include "crypto/identity.h"

#include "base/paths.h"

namespace vudo::crypto {

Result<SecretKey> LoadOrCreateIdentity(const std::filesystem::path& data_dir) {
  auto path = data_dir / kSecretKeyFile;
  auto loaded = SecretKey::LoadFromFile(path);
  if (loaded || loaded.error().code != ErrorCode::kNotFound) return loaded;
  VUDO_TRY(EnsurePrivateDir(data_dir));
  auto key = SecretKey::Generate();
  auto saved = key.SaveToFile(path);
  if (!saved) {
    // Lost a race with another process creating it: use theirs.
    if (saved.error().code == ErrorCode::kAlreadyExists)
      return SecretKey::LoadFromFile(path);
    return tl::unexpected(saved.error());
  }
  return key;
}

}  // namespace vudo::crypto
