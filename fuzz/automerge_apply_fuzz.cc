// Applies fuzzed change chunks (split on a 0xff 0x00 marker) to a document
// with maps, lists and text, then edits it locally and saves it.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "automerge/document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vudo::automerge;
  Document doc(vudo::Bytes(16, 1));
  auto list = doc.PutObject(kRoot, "l", ObjType::kList);
  auto text = doc.PutObject(kRoot, "t", ObjType::kText);
  if (!list || !text) std::abort();
  (void)doc.Insert(*list, 0, ScalarValue::Counter(1));
  (void)doc.SpliceText(*text, 0, 0, "hello");
  doc.Commit({1, "base"});
  std::vector<vudo::ByteSpan> chunks;
  size_t start = 0;
  for (size_t i = 0; i + 1 < size; ++i) {
    if (data[i] == 0xff && data[i + 1] == 0x00) {
      chunks.emplace_back(data + start, i - start);
      start = i + 2;
    }
  }
  chunks.emplace_back(data + start, size - start);
  (void)doc.ApplyChanges(chunks);
  (void)doc.GetMissingDeps({});
  (void)doc.ToJson().dump();
  (void)doc.SpliceText(*text, 1, 1, "x");
  (void)doc.Increment(*list, 0, 2);
  doc.Commit({2, ""});
  auto saved = doc.Save();
  auto again = Document::Load(saved, vudo::Bytes(16, 2));
  if (!again) std::abort();
  return 0;
}
