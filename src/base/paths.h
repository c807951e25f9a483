// Where a node keeps its state.
#pragma once

#include <filesystem>
#include <string_view>

#include "base/result.h"

namespace vudo {

inline constexpr std::string_view kDefaultNodeName = "default";

// The data dir of node `name`: `override_dir` if non-empty, else
// $XDG_DATA_HOME/vudo/<name>, else $HOME/.local/share/vudo/<name>.
// kInvalidArgument for a name that is empty, "." / "..", or has a '/'.
Result<std::filesystem::path> ResolveDataDir(
    std::string_view name, const std::filesystem::path& override_dir = {});

// Creates dir (and parents) with mode 0700 if missing.
Status EnsurePrivateDir(const std::filesystem::path& dir);

}  // namespace vudo
