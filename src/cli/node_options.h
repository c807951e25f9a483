// Options shared by every command that acts as (or on) a named node:
// --name N and --data-dir D.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "base/result.h"

namespace vudo::cli {

struct NodeOptions {
  std::string name = "default";
  std::string data_dir;

  // Adds --name and --data-dir (mutually exclusive) to cmd.
  void AddTo(CLI::App* cmd);
  // The resolved data dir (see base/paths.h).
  Result<std::filesystem::path> DataDir() const;
};

}  // namespace vudo::cli
