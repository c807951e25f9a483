// Hash lists as the sync protocol uses them.
//
// A change hash (automerge::ChangeHash, see automerge/types.h) is the
// SHA-256 of a change chunk. Hashes compare and sort bytewise, which is the
// order automerge uses for heads on the wire.
#pragma once

#include <algorithm>
#include <vector>

#include "automerge/types.h"

namespace vudo::automerge::sync {

using HashList = std::vector<ChangeHash>;

// A set of change hashes stored as one vector, sorted lazily: bulk inserts
// and clear() cost next to nothing, which matters when a sync sends a whole
// document (hundreds of thousands of hashes) that the peer acknowledges in
// the next message. Lookups sort once after a run of inserts.
class ChangeHashSet {
 public:
  bool empty() const { return hashes_.empty(); }
  size_t size() const {
    Normalize();
    return hashes_.size();
  }
  void reserve(size_t n) { hashes_.reserve(n); }
  void insert(const ChangeHash& hash) {
    if (sorted_ && !hashes_.empty() && !(hashes_.back() < hash)) {
      sorted_ = false;
    }
    hashes_.push_back(hash);
  }
  bool contains(const ChangeHash& hash) const {
    Normalize();
    return std::binary_search(hashes_.begin(), hashes_.end(), hash);
  }
  // Removes every hash for which pred(hash) is true.
  template <typename Pred>
  void erase_if(Pred&& pred) {
    std::erase_if(hashes_, pred);
  }
  void clear() {
    hashes_.clear();
    sorted_ = true;
  }
  // The hashes, sorted and unique.
  const std::vector<ChangeHash>& sorted() const {
    Normalize();
    return hashes_;
  }

  friend bool operator==(const ChangeHashSet& a, const ChangeHashSet& b) {
    return a.sorted() == b.sorted();
  }

 private:
  void Normalize() const {
    if (sorted_) return;
    std::sort(hashes_.begin(), hashes_.end());
    hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
    sorted_ = true;
  }

  mutable std::vector<ChangeHash> hashes_;
  mutable bool sorted_ = true;
};

}  // namespace vudo::automerge::sync
