// Differential: the fast history rebuild (history.cc) and the generic one
// (LoadDocumentChunk + EncodeChange) must agree on every document chunk:
// both reject it, or both accept it with the same change chunks. The input
// is a document chunk's body (no chunk header, so no checksum stands in the
// way of mutations); the seeds in fuzz/corpus/fuzz_automerge_history are
// bodies of small documents.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "automerge/change.h"
#include "automerge/doc_impl.h"
#include "automerge/history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vudo::automerge;
  vudo::ByteSpan body(data, size);
  Document::Impl generic(vudo::Bytes(16, 1));
  auto g =
      generic.LoadDocumentChunk(body, Document::Impl::LoadMode::kHistoryOnly);
  auto fast = RebuildChangeChunks(body);
  if (g.has_value() != fast.has_value()) std::abort();
  // The rebuild into a document (chunks in its arena, records, hash index)
  // agrees too.
  Document::Impl doc(vudo::Bytes(16, 1));
  auto h = RebuildHistory(doc, body);
  if (h.has_value() != fast.has_value()) std::abort();
  if (!fast) return 0;
  if (fast->size() != generic.records.size() ||
      fast->size() != doc.records.size())
    std::abort();
  for (size_t i = 0; i < fast->size(); ++i) {
    const vudo::Bytes& b = (*fast)[i];
    for (const ChangeRecord* r : {&generic.records[i], &doc.records[i]}) {
      vudo::ByteSpan c = r->chunk();
      if (!std::equal(b.begin(), b.end(), c.begin(), c.end())) std::abort();
    }
    auto found = doc.hash_index.Find(doc.records[i].hash, doc.records);
    if (!found || *found != i) std::abort();
  }
  return 0;
}
