// Loads a document / change run, then exercises reads and save + reload.
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
  return 0;
}
