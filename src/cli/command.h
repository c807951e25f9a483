// Command registration for the vudo CLI. Each command group lives in its own
// cmd_<area>.cc and registers a function that adds its subcommands:
//
//   namespace {
//   void Register(CLI::App& app) {
//     auto* doc = app.add_subcommand("doc", "Inspect and edit documents");
//     ...
//   }
//   VUDO_REGISTER_COMMANDS(Register);
//   }  // namespace
//
// A subcommand's callback runs the command and sets the process exit code
// with SetExitCode(); errors go to stderr as "vudo: <message>".
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace vudo::cli {

using RegisterFn = std::function<void(CLI::App&)>;

std::vector<RegisterFn>& Registry();
void SetExitCode(int code);
int ExitCode();
// Prints "vudo: <message>" to stderr and sets exit code 1.
void Fail(const std::string& message);

// The subcommand `name` of parent, created with `description` if no other
// command group has created it yet (so that several cmd_*.cc files can add
// commands under one group, e.g. "doc").
inline CLI::App* GetOrAddSubcommand(CLI::App& parent, const std::string& name,
                                    const std::string& description) {
  for (auto* sub : parent.get_subcommands({}))
    if (sub->get_name() == name) return sub;
  auto* sub = parent.add_subcommand(name, description);
  sub->require_subcommand(1);
  return sub;
}

struct Registrar {
  explicit Registrar(RegisterFn fn) { Registry().push_back(std::move(fn)); }
};

}  // namespace vudo::cli

#define VUDO_REGISTER_COMMANDS(fn) \
  static ::vudo::cli::Registrar vudo_registrar_##fn(fn)
