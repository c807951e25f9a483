// Bulk read access to a document's change graph for the sync protocol.
//
// A sync step of a big document walks every change several times (Bloom
// filter of what we have, lookups in the peer's filter, ancestor marks).
// Going through Document's accessors costs a history check and a call per
// change; this view checks once and then reads the engine's arrays
// directly. It is valid until the document is next modified.
//
//   ChangeGraph graph(doc);
//   for (uint32_t i = 0; i < graph.size(); ++i) use(graph.hash(i));
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "automerge/doc_impl.h"
#include "automerge/document.h"

namespace vudo::automerge::sync {

class ChangeGraph {
 public:
  // The graph of `doc`, whose pending transaction the caller has committed
  // (Heads() does). A lazily loaded history is rebuilt on the first call of
  // size(), Find() or Has() (a sync step that needs no change keeps the
  // document lazy); the other accessors need one of those first. A history
  // that fails to rebuild (corrupt chunk) reads as what the engine holds.
  explicit ChangeGraph(Document& doc) : doc_(&doc) {}

  uint32_t size() const {
    Load();
    return static_cast<uint32_t>(records_->size());
  }
  std::optional<uint32_t> Find(const ChangeHash& hash) const {
    Load();
    return impl_->hash_index.Find(hash, *records_);
  }
  bool Has(const ChangeHash& hash) const { return Find(hash).has_value(); }

  // Index < size().
  const ChangeHash& hash(uint32_t index) const {
    return (*records_)[index].hash;
  }
  std::span<const uint32_t> deps(uint32_t index) const {
    const ChangeRecord& r = (*records_)[index];
    return {deps_->data() + r.deps_off, r.deps_count};
  }
  ByteSpan bytes(uint32_t index) const { return (*records_)[index].chunk(); }
  // Hints the CPU to load the record of `index` (bulk scans prefetch a few
  // records ahead; the records are 80 bytes each): the part hash() reads,
  // or the part deps() reads. Any index < size().
  void Prefetch(uint32_t index) const {
    __builtin_prefetch(&(*records_)[index]);
  }
  void PrefetchDeps(uint32_t index) const {
    __builtin_prefetch(&(*records_)[index].deps_off);
  }

 private:
  void Load() const {
    if (records_) return;
    (void)doc_->EnsureHistory();
    impl_ = &doc_->internal();
    records_ = &impl_->records;
    deps_ = &impl_->dep_indexes;
  }

  Document* doc_;
  mutable const Document::Impl* impl_ = nullptr;
  mutable const std::vector<ChangeRecord>* records_ = nullptr;
  mutable const std::vector<uint32_t>* deps_ = nullptr;
};

}  // namespace vudo::automerge::sync
