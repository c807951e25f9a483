// TodoService: the TodoApp on a node's repo, driven by JSON commands. The
// same code serves the running node (commands from its control socket and
// its stdin) and `vudo todo` when no node runs (it then opens the data dir
// directly).
//
// Commands (one JSON object each; every answer has "ok"):
//   {"cmd":"add","title":T}            ->
//   {"ok":true,"saved":true,"todo":{..},"change":hex}
//   {"cmd":"toggle","ref":R}           -> {"ok":true,"saved":true,"todo":{..}}
//   {"cmd":"edit","ref":R,"title":T}   -> likewise
//   {"cmd":"rm","ref":R}               ->
//   {"ok":true,"saved":true,"removed":{..}}
//   {"cmd":"list"}                     -> {"ok":true,"doc":url,"todos":[..]}
//   {"cmd":"json"}                     -> {"ok":true,"value":<whole document>}
// R is a 1-based position or an id (prefix). "saved" means durable on disk.
// Errors: {"ok":false,"error":"..."}.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "app/todo.h"
#include "repo/repo.h"

namespace vudo::node {

// The store setting that names the node's todo document.
inline constexpr char kTodoDocSetting[] = "todo_doc";

class TodoService {
 public:
  // repo and store are not owned.
  TodoService(repo::Repo* repo, repo::Store* store, const Clock* clock)
      : repo_(repo), store_(store), clock_(clock) {}

  // The todo document: the configured one, if any.
  std::optional<repo::DocumentId> doc() const { return doc_; }
  // Loads the document named in the store's settings (if any).
  Status LoadFromSettings();
  // Uses `id` from now on (and remembers it in the store). Starts syncing
  // it (Repo::Find).
  Status Use(const repo::DocumentId& id);
  // Creates a new todo document and uses it.
  Result<repo::DocumentId> CreateNew();
  // Uses the configured document, or creates one if there is none.
  Result<repo::DocumentId> EnsureDoc();

  nlohmann::json Execute(const nlohmann::json& request);

  // JSON of a todo, as commands print it.
  static nlohmann::json TodoJson(const app::Todo& t);
  std::vector<app::Todo> List() const;

 private:
  Result<nlohmann::json> Run(const nlohmann::json& request);
  int64_t NowMs() const { return int64_t(clock_->WallNs() / 1'000'000); }

  repo::Repo* repo_;
  repo::Store* store_;
  const Clock* clock_;
  std::optional<repo::DocumentId> doc_;
};

}  // namespace vudo::node
