#include "app/todo.h"

#include <sodium.h>

#include "base/encoding.h"

namespace vudo::app {

using automerge::kRoot;
using automerge::ObjId;
using automerge::ObjType;
using automerge::ScalarType;
using automerge::ScalarValue;

namespace {

// Length of s in UTF-16 code units (Automerge text indexes).
size_t Utf16Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    n += len == 4 ? 2 : 1;
    i += len;
  }
  return n;
}

// Byte length of the longest common prefix of a and b that ends on a code
// point boundary in both.
size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  while (n > 0 && n < a.size() && (static_cast<unsigned char>(a[n]) >> 6) == 2)
    --n;
  return n;
}

size_t CommonSuffix(std::string_view a, std::string_view b, size_t max) {
  size_t n = 0;
  while (n < max && a[a.size() - 1 - n] == b[b.size() - 1 - n]) ++n;
  // Do not start in the middle of a code point.
  while (n > 0 && (static_cast<unsigned char>(a[a.size() - n]) >> 6) == 2) --n;
  return n;
}

std::string RandomId() {
  uint8_t b[8];
  randombytes_buf(b, sizeof b);
  return HexEncode(ByteSpan(b, sizeof b));
}

}  // namespace

automerge::ActorId TodoGenesisActor() { return automerge::ActorId(16, 0); }

Result<bool> TodoList::EnsureInitialized() {
  if (TodosList()) return false;
  automerge::ActorId own = doc_->actor();
  doc_->SetActor(TodoGenesisActor());
  auto made = doc_->PutObject(kRoot, "todos", ObjType::kList);
  if (!made) {
    doc_->Rollback();
    doc_->SetActor(own);
    return tl::unexpected(made.error());
  }
  doc_->Commit({.time = 0, .message = ""});
  doc_->SetActor(own);
  return true;
}

Result<ObjId> TodoList::TodosList() const {
  auto v = doc_->Get(kRoot, "todos");
  if (!v || !v->is_object || v->obj_type != ObjType::kList)
    return Err(ErrorCode::kNotFound, "document has no todos list");
  return v->obj;
}

Result<ObjId> TodoList::TodoAt(size_t index) const {
  VUDO_ASSIGN_OR_RETURN(ObjId list, TodosList());
  if (index >= doc_->Length(list))
    return Err(ErrorCode::kInvalidArgument, "no todo #{} (there are {})",
               index + 1, doc_->Length(list));
  auto v = doc_->Get(list, index);
  if (!v || !v->is_object || v->obj_type != ObjType::kMap)
    return Err(ErrorCode::kCorrupt, "todo #{} is not a map", index + 1);
  return v->obj;
}

std::vector<Todo> TodoList::List() const {
  std::vector<Todo> out;
  auto list = TodosList();
  if (!list) return out;
  size_t n = doc_->Length(*list);
  for (size_t i = 0; i < n; ++i) {
    auto v = doc_->Get(*list, i);
    if (!v || !v->is_object || v->obj_type != ObjType::kMap) continue;
    Todo t;
    if (auto id = doc_->Get(v->obj, "id"); id && !id->is_object)
      t.id = id->scalar.s;
    if (auto title = doc_->Get(v->obj, "title"); title) {
      if (title->is_object)
        t.title = doc_->Text(title->obj);
      else if (title->scalar.type == ScalarType::kStr)
        t.title = title->scalar.s;
    }
    if (auto done = doc_->Get(v->obj, "done"); done && !done->is_object)
      t.done = done->scalar.type == ScalarType::kBool && done->scalar.b;
    if (auto c = doc_->Get(v->obj, "created"); c && !c->is_object)
      t.created_ms = c->scalar.i;
    out.push_back(std::move(t));
  }
  return out;
}

size_t TodoList::Size() const {
  auto list = TodosList();
  return list ? doc_->Length(*list) : 0;
}

Result<size_t> TodoList::Resolve(std::string_view ref) const {
  auto todos = List();
  if (!ref.empty() && ref.size() <= 6 &&
      ref.find_first_not_of("0123456789") == std::string_view::npos) {
    size_t n = std::stoul(std::string(ref));
    if (n >= 1 && n <= todos.size()) return n - 1;
    // Not a position: it may still be the start of an id (ids are hex).
    bool prefix = false;
    for (const auto& t : todos) prefix = prefix || t.id.starts_with(ref);
    if (!prefix)
      return Err(ErrorCode::kNotFound, "no todo #{} (there are {})", n,
                 todos.size());
  }
  std::optional<size_t> found;
  for (size_t i = 0; i < todos.size(); ++i) {
    if (!ref.empty() && todos[i].id.starts_with(ref)) {
      if (found)
        return Err(ErrorCode::kInvalidArgument, "'{}' matches several todos",
                   ref);
      found = i;
    }
  }
  if (!found) return Err(ErrorCode::kNotFound, "no todo '{}'", ref);
  return *found;
}

std::optional<automerge::ChangeHash> TodoList::Commit(int64_t now_ms) {
  // The message carries the wall clock in ms, so a receiving node can
  // measure sync latency (change times have only second resolution).
  return doc_->Commit(
      {.time = now_ms / 1000, .message = "t=" + std::to_string(now_ms)});
}

Result<std::pair<Todo, automerge::ChangeHash>> TodoList::Add(
    std::string_view title, int64_t now_ms) {
  VUDO_TRY(EnsureInitialized());
  VUDO_ASSIGN_OR_RETURN(ObjId list, TodosList());
  Todo t{RandomId(), std::string(title), false, now_ms};
  auto edit = [&]() -> Status {
    VUDO_ASSIGN_OR_RETURN(
        ObjId item,
        doc_->InsertObject(list, doc_->Length(list), ObjType::kMap));
    VUDO_TRY(doc_->Put(item, "id", ScalarValue::Str(t.id)));
    VUDO_ASSIGN_OR_RETURN(ObjId text,
                          doc_->PutObject(item, "title", ObjType::kText));
    VUDO_TRY(doc_->SpliceText(text, 0, 0, title));
    VUDO_TRY(doc_->Put(item, "done", ScalarValue::Bool(false)));
    VUDO_TRY(doc_->Put(item, "created", ScalarValue::Timestamp(now_ms)));
    return Ok();
  };
  if (auto s = edit(); !s) {
    doc_->Rollback();
    return tl::unexpected(s.error());
  }
  auto hash = Commit(now_ms);
  if (!hash) return Err(ErrorCode::kInternal, "add recorded no change");
  return std::make_pair(std::move(t), *hash);
}

Result<std::optional<automerge::ChangeHash>> TodoList::SetDone(size_t index,
                                                               bool done,
                                                               int64_t now_ms) {
  VUDO_ASSIGN_OR_RETURN(ObjId item, TodoAt(index));
  auto cur = doc_->Get(item, "done");
  if (cur && !cur->is_object && cur->scalar.type == ScalarType::kBool &&
      cur->scalar.b == done && doc_->GetAll(item, "done").size() == 1)
    return std::nullopt;
  if (auto s = doc_->Put(item, "done", ScalarValue::Bool(done)); !s) {
    doc_->Rollback();
    return tl::unexpected(s.error());
  }
  return Commit(now_ms);
}

Result<std::optional<automerge::ChangeHash>> TodoList::Toggle(size_t index,
                                                              int64_t now_ms) {
  VUDO_ASSIGN_OR_RETURN(ObjId item, TodoAt(index));
  auto cur = doc_->Get(item, "done");
  bool done = cur && !cur->is_object && cur->scalar.type == ScalarType::kBool &&
              cur->scalar.b;
  return SetDone(index, !done, now_ms);
}

Result<std::optional<automerge::ChangeHash>> TodoList::Edit(
    size_t index, std::string_view title, int64_t now_ms) {
  VUDO_ASSIGN_OR_RETURN(ObjId item, TodoAt(index));
  auto cur = doc_->Get(item, "title");
  Status s;
  if (cur && cur->is_object && cur->obj_type == ObjType::kText) {
    std::string old = doc_->Text(cur->obj);
    if (old == title) return std::nullopt;
    size_t prefix = CommonPrefix(old, title);
    size_t suffix =
        CommonSuffix(old, title, std::min(old.size(), title.size()) - prefix);
    std::string_view old_mid =
        std::string_view(old).substr(prefix, old.size() - prefix - suffix);
    std::string_view new_mid =
        title.substr(prefix, title.size() - prefix - suffix);
    s = doc_->SpliceText(cur->obj,
                         Utf16Length(std::string_view(old).substr(0, prefix)),
                         Utf16Length(old_mid), new_mid);
  } else {
    auto text = doc_->PutObject(item, "title", ObjType::kText);
    s = text ? doc_->SpliceText(*text, 0, 0, title)
             : Status(tl::unexpected(text.error()));
  }
  if (!s) {
    doc_->Rollback();
    return tl::unexpected(s.error());
  }
  return Commit(now_ms);
}

Result<std::optional<automerge::ChangeHash>> TodoList::Remove(size_t index,
                                                              int64_t now_ms) {
  VUDO_TRY(TodoAt(index));
  VUDO_ASSIGN_OR_RETURN(ObjId list, TodosList());
  if (auto s = doc_->Delete(list, index); !s) {
    doc_->Rollback();
    return tl::unexpected(s.error());
  }
  return Commit(now_ms);
}

}  // namespace vudo::app
