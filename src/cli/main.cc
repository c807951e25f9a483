// vudo: the command-line entry point. Wiring only: each command group is in
// cmd_<area>.cc.
#include <cstdio>
#include <iostream>

#include "base/log.h"
#include "cli/command.h"

namespace vudo::cli {

std::vector<RegisterFn>& Registry() {
  static std::vector<RegisterFn> registry;
  return registry;
}

namespace {
int g_exit_code = 0;
}

void SetExitCode(int code) { g_exit_code = code; }
int ExitCode() { return g_exit_code; }
void Fail(const std::string& message) {
  std::cerr << "vudo: " << message << "\n";
  g_exit_code = 1;
}

}  // namespace vudo::cli

int main(int argc, char** argv) {
  CLI::App app{
      "vudo: local-first peer-to-peer sync of Automerge documents over QUIC"};
  app.set_version_flag("--version", std::string("vudo ") + VUDO_VERSION);
  app.require_subcommand(1);
  std::string log_level;
  app.add_option(
      "--log", log_level,
      "Log level: trace, debug, info, warn, error, off (env VUDO_LOG)");
  app.parse_complete_callback([&] {
    if (!log_level.empty()) vudo::SetLogLevel(log_level);
  });
  for (auto& fn : vudo::cli::Registry()) fn(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return vudo::cli::ExitCode();
}
