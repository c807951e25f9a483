#include "node/home.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/paths.h"
#include "crypto/identity.h"
#include "node/control.h"

namespace vudo::node {

using nlohmann::json;

Result<repo::AllowListPolicy> ParseAccessConfig(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Err(ErrorCode::kInvalidArgument, "config is not a JSON object");
  auto id_list = [](const json& v,
                    const std::string& where) -> Result<std::set<std::string>> {
    if (!v.is_array())
      return Err(ErrorCode::kInvalidArgument, "{} must be a list of node ids",
                 where);
    std::set<std::string> out;
    for (const auto& x : v) {
      if (!x.is_string())
        return Err(ErrorCode::kInvalidArgument, "{}: ids are strings", where);
      std::string s = x;
      if (s != "*" && !crypto::PublicKey::FromHex(s))
        return Err(ErrorCode::kInvalidArgument, "{}: '{}' is not a node id",
                   where, s);
      out.insert(s);
    }
    return out;
  };
  repo::AllowListPolicy policy;
  if (j.contains("peers")) {
    VUDO_ASSIGN_OR_RETURN(policy.peers, id_list(j["peers"], "peers"));
  }
  if (j.contains("documents")) {
    if (!j["documents"].is_object())
      return Err(ErrorCode::kInvalidArgument, "documents must be an object");
    for (const auto& [doc, rules] : j["documents"].items()) {
      if (doc != "*" && !repo::DocumentId::Parse(doc))
        return Err(ErrorCode::kInvalidArgument,
                   "documents: '{}' is not a document id", doc);
      if (!rules.is_object())
        return Err(ErrorCode::kInvalidArgument,
                   "documents.{} must be an object", doc);
      repo::AllowListPolicy::Access access;
      if (rules.contains("read")) {
        VUDO_ASSIGN_OR_RETURN(
            access.read, id_list(rules["read"], "documents." + doc + ".read"));
      }
      if (rules.contains("write")) {
        VUDO_ASSIGN_OR_RETURN(
            access.write,
            id_list(rules["write"], "documents." + doc + ".write"));
      }
      std::string key = doc;
      if (doc != "*") key = repo::DocumentId::Parse(doc)->ToString();
      policy.documents[key] = access;
    }
  }
  return policy;
}

Result<std::unique_ptr<Home>> Home::Open(const std::filesystem::path& dir) {
  VUDO_ASSIGN_OR_RETURN(auto key, crypto::LoadOrCreateIdentity(dir));
  auto home = std::unique_ptr<Home>(new Home{dir, key, nullptr, {}});
  VUDO_ASSIGN_OR_RETURN(home->store, repo::Store::Open(dir / kStoreFile));
  std::ifstream in(dir / kConfigFile);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto policy = ParseAccessConfig(ss.str());
    if (!policy)
      return tl::unexpected(
          policy.error().WithContext((dir / kConfigFile).string()));
    home->policy = std::move(*policy);
  }
  return home;
}

std::filesystem::path Home::control_socket() const {
  return dir / kControlSocketName;
}

}  // namespace vudo::node
