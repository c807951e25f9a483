#include "cli/node_options.h"

#include "base/paths.h"

namespace vudo::cli {

void NodeOptions::AddTo(CLI::App* cmd) {
  auto* n = cmd->add_option("--name", name,
                            "Node name: its data dir is "
                            "$XDG_DATA_HOME/vudo/NAME (default: default)");
  auto* d = cmd->add_option("--data-dir", data_dir,
                            "Use this data dir instead of the named one");
  n->excludes(d);
}

Result<std::filesystem::path> NodeOptions::DataDir() const {
  return ResolveDataDir(name, data_dir);
}

}  // namespace vudo::cli
