// Loads a document / change run, then exercises reads and save + reload,
// and applies edits made on one loaded copy to another freshly loaded copy
// (remote ops that find the loaded elements by id).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "automerge/document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vudo::automerge::Document;
  auto doc = Document::Load({data, size}, vudo::Bytes(16, 7));
  if (!doc) return 0;
  (void)doc->ToJson().dump();
  auto heads = doc->Heads();
  if (!doc->EnsureHistory()) {
    // Inconsistent history: Save must hand the chunk back unchanged.
    auto saved = doc->Save();
    if (!Document::Load(saved, vudo::Bytes(16, 8))) std::abort();
    return 0;
  }
  auto saved = doc->Save();
  auto again = Document::Load(saved, vudo::Bytes(16, 8));
  if (!again || again->Heads() != heads) std::abort();
  // Save() of an unchanged document returns the loaded chunk; re-encode too.
  auto encoded = doc->SaveNoCompress();
  auto reloaded = Document::Load(encoded, vudo::Bytes(16, 8));
  if (!reloaded || reloaded->Heads() != heads || !reloaded->EnsureHistory())
    std::abort();
  (void)doc->GetChangesSince({});
  // Edit the lists and texts under the root of one loaded copy, apply the
  // changes to another.
  auto editor = Document::Load(saved, vudo::Bytes(16, 9));
  if (!editor) std::abort();
  using namespace vudo::automerge;
  size_t edited = 0;
  for (const std::string& key : editor->Keys(kRoot)) {
    auto v = editor->Get(kRoot, key);
    if (!v || !v->is_object ||
        (v->obj_type != ObjType::kList && v->obj_type != ObjType::kText))
      continue;
    const size_t n = editor->Length(v->obj);
    if (n == 0 || ++edited > 4) continue;
    (void)editor->Insert(v->obj, n / 2, ScalarValue::Str("z"));
    (void)editor->Delete(v->obj, n / 3);
    (void)editor->Insert(v->obj, n, ScalarValue::Int(1));
  }
  editor->Commit({1, ""});
  auto changes = editor->GetChangesSince(heads);
  (void)again->ApplyChanges(changes);
  (void)again->ToJson().dump();
  return 0;
}
