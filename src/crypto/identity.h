// A node's identity: the Ed25519 secret key in its data dir.
#pragma once

#include <filesystem>

#include "crypto/ed25519.h"

namespace vudo::crypto {

inline constexpr char kSecretKeyFile[] = "secret.key";

// Loads <data_dir>/secret.key, creating the dir (0700) and a fresh key (0600)
// on first use. Never overwrites an existing key: a corrupt or too-open key
// file is an error for the user to resolve.
Result<SecretKey> LoadOrCreateIdentity(const std::filesystem::path& data_dir);

}  // namespace vudo::crypto
