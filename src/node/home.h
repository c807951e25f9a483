// A node's data dir, opened: identity, store and access-control config.
//
//   <data dir>/secret.key    Ed25519 identity (PEM, 0600)
//   <data dir>/vudo.db       the store (SQLite, WAL)
//   <data dir>/config.json   optional access control (see docs/node.md)
//   <data dir>/control.sock  the running node's control socket
#pragma once

#include <filesystem>
#include <memory>

#include "crypto/ed25519.h"
#include "repo/repo.h"
#include "repo/store.h"

namespace vudo::node {

inline constexpr char kStoreFile[] = "vudo.db";
inline constexpr char kConfigFile[] = "config.json";

struct Home {
  std::filesystem::path dir;
  crypto::SecretKey key;
  std::unique_ptr<repo::Store> store;
  repo::AllowListPolicy policy;

  // Creates the dir, identity and store on first use. Errors name the file.
  static Result<std::unique_ptr<Home>> Open(const std::filesystem::path& dir);
  std::string node_id() const { return key.public_key().ToHex(); }
  std::filesystem::path control_socket() const;
};

// Parses config.json text into a policy. Errors: kInvalidArgument with the
// offending field.
Result<repo::AllowListPolicy> ParseAccessConfig(std::string_view json_text);

}  // namespace vudo::node
