// The TodoApp model on an Automerge document:
//
//   {"todos": [{"id": str, "title": text, "done": bool, "created": timestamp}]}
//
// Concurrent edits merge without conflicts: two adds keep both todos; two
// toggles of one todo keep one winner (Automerge's last-writer rule by op
// id); two edits of a title merge as text (an edit is a minimal splice);
// a removed todo stays removed.
//
// Every mutating call makes exactly one Automerge change (committed with the
// given time) and returns its hash; nothing is recorded when the call would
// not change the document.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "automerge/document.h"

namespace vudo::app {

struct Todo {
  std::string id;
  std::string title;
  bool done = false;
  int64_t created_ms = 0;
};

// The first change of every todo document: {"todos": []} authored by a fixed
// actor (16 zero bytes) at time 0. It is byte-identical on every node, so two
// nodes that create the structure independently never get two conflicting
// "todos" lists.
automerge::ActorId TodoGenesisActor();

class TodoList {
 public:
  // Wraps doc (not owned; must outlive this).
  explicit TodoList(automerge::Document* doc) : doc_(doc) {}

  // Adds the genesis change if the document has no "todos" list yet.
  // Returns true if it added it.
  Result<bool> EnsureInitialized();

  // Reads.
  std::vector<Todo> List() const;
  size_t Size() const;
  // Finds a todo by 1-based position ("3") or by id or unique id prefix.
  Result<size_t> Resolve(std::string_view ref) const;

  // Edits (index is 0-based). `now_ms` is the wall clock in milliseconds: it
  // becomes the todo's created timestamp and the change's time.
  Result<std::pair<Todo, automerge::ChangeHash>> Add(std::string_view title,
                                                     int64_t now_ms);
  Result<std::optional<automerge::ChangeHash>> Toggle(size_t index,
                                                      int64_t now_ms);
  Result<std::optional<automerge::ChangeHash>> SetDone(size_t index, bool done,
                                                       int64_t now_ms);
  Result<std::optional<automerge::ChangeHash>> Edit(size_t index,
                                                    std::string_view title,
                                                    int64_t now_ms);
  Result<std::optional<automerge::ChangeHash>> Remove(size_t index,
                                                      int64_t now_ms);

 private:
  Result<automerge::ObjId> TodosList() const;
  Result<automerge::ObjId> TodoAt(size_t index) const;
  std::optional<automerge::ChangeHash> Commit(int64_t now_ms);

  automerge::Document* doc_;
};

}  // namespace vudo::app
