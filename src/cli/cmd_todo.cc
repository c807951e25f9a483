// vudo todo ...: edit the todo list of a node, through its control socket
// when it runs, else directly in its data dir.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/node_options.h"
#include "node/control.h"
#include "node/home.h"
#include "node/todo_service.h"

namespace vudo::cli {
namespace {

using nlohmann::json;

struct TodoArgs {
  NodeOptions node;
  bool json_out = false;
  std::string title;
  std::string ref;
};

// Runs a request against the running node, or offline on the data dir.
Result<json> Run(const NodeOptions& options, const json& request) {
  VUDO_ASSIGN_OR_RETURN(auto dir, options.DataDir());
  auto answer = node::ControlRequest(dir / node::kControlSocketName, request);
  if (answer || answer.error().code != ErrorCode::kNotFound) return answer;
  // No node runs: work on the data dir directly.
  VUDO_ASSIGN_OR_RETURN(auto home, node::Home::Open(dir));
  repo::RepoOptions ro;
  ro.self = home->node_id();
  ro.store = home->store.get();
  ro.policy = &home->policy;
  repo::Repo repo(ro);
  node::TodoService todos(&repo, home->store.get(), &SystemClock::Get());
  VUDO_TRY(todos.LoadFromSettings());
  return todos.Execute(request);
}

std::string Line(const json& t) {
  std::string title = t.value("title", "");
  std::string id = t.value("id", "");
  return fmt::format("[{}] {}  ({})", t.value("done", false) ? "x" : " ", title,
                     id.substr(0, 8));
}

void Print(const TodoArgs& args, const json& answer) {
  if (args.json_out) {
    std::cout << answer.dump(-1, ' ', false, json::error_handler_t::replace)
              << "\n";
  } else if (!answer.value("ok", false)) {
    // printed below
  } else if (answer.contains("todos")) {
    int i = 0;
    for (const auto& t : answer["todos"])
      std::cout << fmt::format("{:>3}. {}\n", ++i, Line(t));
    if (i == 0) std::cout << "(no todos)\n";
  } else if (answer.contains("removed")) {
    std::cout << "removed: " << Line(answer["removed"]) << "\n";
  } else if (answer.contains("todo")) {
    std::cout << (answer.value("saved", false) ? "saved: " : "")
              << Line(answer["todo"]) << "\n";
  }
  if (!answer.value("ok", false))
    Fail(answer.value("error", std::string("failed")));
}

void Do(const TodoArgs& args, json request) {
  auto answer = Run(args.node, request);
  if (!answer) return Fail(answer.error().ToString());
  Print(args, *answer);
}

void Register(CLI::App& app) {
  static TodoArgs a;
  auto* todo = app.add_subcommand(
      "todo",
      "Edit the todo list of a node (the running one, or its data dir)");
  a.node.AddTo(todo);
  todo->add_flag("--json", a.json_out, "Print the answer as JSON");
  todo->require_subcommand(1);
  auto* add = todo->add_subcommand("add", "Add a todo");
  add->add_option("TITLE", a.title, "Its title")->required();
  add->callback([] { Do(a, {{"cmd", "add"}, {"title", a.title}}); });
  auto* toggle = todo->add_subcommand("toggle", "Mark done / not done");
  toggle->add_option("N", a.ref, "Position (1-based) or id prefix")->required();
  toggle->callback([] { Do(a, {{"cmd", "toggle"}, {"ref", a.ref}}); });
  auto* edit = todo->add_subcommand("edit", "Change a todo's title");
  edit->add_option("N", a.ref, "Position (1-based) or id prefix")->required();
  edit->add_option("TITLE", a.title, "The new title")->required();
  edit->callback([] {
    Do(a, {{"cmd", "edit"}, {"ref", a.ref}, {"title", a.title}});
  });
  auto* rm = todo->add_subcommand("rm", "Remove a todo");
  rm->add_option("N", a.ref, "Position (1-based) or id prefix")->required();
  rm->callback([] { Do(a, {{"cmd", "rm"}, {"ref", a.ref}}); });
  auto* list = todo->add_subcommand("list", "List the todos");
  list->callback([] { Do(a, {{"cmd", "list"}}); });
  auto* show = todo->add_subcommand("json", "Print the whole document as JSON");
  show->callback([] {
    a.json_out = true;
    Do(a, {{"cmd", "json"}});
  });
}
VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
