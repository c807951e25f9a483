#include "node/todo_service.h"

#include "automerge/types.h"

namespace vudo::node {

using nlohmann::json;

Status TodoService::LoadFromSettings() {
  VUDO_ASSIGN_OR_RETURN(auto setting, store_->GetSetting(kTodoDocSetting));
  if (!setting) return Ok();
  VUDO_ASSIGN_OR_RETURN(auto id, repo::DocumentId::Parse(*setting));
  doc_ = id;
  VUDO_TRY(repo_->Find(id));
  return Ok();
}

Status TodoService::Use(const repo::DocumentId& id) {
  VUDO_TRY(store_->PutSetting(kTodoDocSetting, id.ToString()));
  doc_ = id;
  VUDO_TRY(repo_->Find(id));
  return Ok();
}

Result<repo::DocumentId> TodoService::CreateNew() {
  VUDO_ASSIGN_OR_RETURN(auto id,
                        repo_->Create([](automerge::Document& d) -> Status {
                          VUDO_TRY(app::TodoList(&d).EnsureInitialized());
                          return Ok();
                        }));
  VUDO_TRY(Use(id));
  return id;
}

Result<repo::DocumentId> TodoService::EnsureDoc() {
  if (doc_) return *doc_;
  return CreateNew();
}

std::vector<app::Todo> TodoService::List() const {
  if (!doc_) return {};
  auto doc = repo_->Get(*doc_);
  if (!doc) return {};
  return app::TodoList(*doc).List();
}

json TodoService::TodoJson(const app::Todo& t) {
  return {{"id", t.id},
          {"title", t.title},
          {"done", t.done},
          {"created", t.created_ms}};
}

json TodoService::Execute(const json& request) {
  auto r = Run(request);
  if (!r) return {{"ok", false}, {"error", r.error().message}};
  (*r)["ok"] = true;
  return *r;
}

Result<json> TodoService::Run(const json& request) {
  if (!request.is_object() || !request.contains("cmd") ||
      !request["cmd"].is_string())
    return Err(ErrorCode::kInvalidArgument, "request needs a \"cmd\" string");
  std::string cmd = request["cmd"];
  auto str = [&](const char* key) -> Result<std::string> {
    if (!request.contains(key) || !request[key].is_string())
      return Err(ErrorCode::kInvalidArgument, "\"{}\" needs a \"{}\" string",
                 cmd, key);
    return request[key].get<std::string>();
  };
  if (cmd == "list" || cmd == "json") {
    json out;
    out["doc"] = doc_ ? json(doc_->ToUrl()) : json(nullptr);
    if (cmd == "list") {
      json todos = json::array();
      for (const auto& t : List()) todos.push_back(TodoJson(t));
      out["todos"] = todos;
    } else {
      auto doc =
          doc_ ? repo_->Get(*doc_)
               : Result<automerge::Document*>(Err(ErrorCode::kNotFound, ""));
      out["value"] = doc ? (*doc)->ToJson() : json(nullptr);
      if (doc) {
        json heads = json::array();
        for (const auto& h : (*doc)->Heads())
          heads.push_back(automerge::HashToHex(h));
        out["heads"] = heads;
      }
    }
    return out;
  }
  VUDO_ASSIGN_OR_RETURN(auto id, EnsureDoc());
  int64_t now = NowMs();
  json out;
  out["doc"] = id.ToUrl();
  std::optional<app::Todo> result;
  auto edit = [&](auto&& fn) -> Status {
    VUDO_ASSIGN_OR_RETURN(auto hashes,
                          repo_->Change(id, [&](automerge::Document& d) {
                            return fn(app::TodoList(&d));
                          }));
    json changes = json::array();
    for (const auto& h : hashes) changes.push_back(automerge::HashToHex(h));
    out["changes"] = changes;
    out["saved"] = true;
    return Ok();
  };
  if (cmd == "add") {
    VUDO_ASSIGN_OR_RETURN(std::string title, str("title"));
    VUDO_TRY(edit([&](app::TodoList todos) -> Status {
      VUDO_ASSIGN_OR_RETURN(auto added, todos.Add(title, now));
      result = added.first;
      return Ok();
    }));
  } else if (cmd == "toggle" || cmd == "edit" || cmd == "rm") {
    VUDO_ASSIGN_OR_RETURN(std::string ref, str("ref"));
    std::string title;
    if (cmd == "edit") {
      VUDO_ASSIGN_OR_RETURN(title, str("title"));
    }
    VUDO_TRY(edit([&](app::TodoList todos) -> Status {
      VUDO_ASSIGN_OR_RETURN(size_t index, todos.Resolve(ref));
      if (cmd == "rm") {
        out["removed"] = TodoJson(todos.List()[index]);
        VUDO_TRY(todos.Remove(index, now));
        return Ok();
      }
      if (cmd == "toggle") {
        VUDO_TRY(todos.Toggle(index, now));
      } else {
        VUDO_TRY(todos.Edit(index, title, now));
      }
      result = todos.List()[index];
      return Ok();
    }));
  } else {
    return Err(ErrorCode::kInvalidArgument, "unknown command \"{}\"", cmd);
  }
  if (result) out["todo"] = TodoJson(*result);
  return out;
}

}  // namespace vudo::node
