// The pending (uncommitted) change of a document, encoded op by op as the
// edits are made: the columns of the change chunk grow as each op arrives,
// so a transaction of n ops holds a few bytes per op instead of n ChangeOps.
// Only the actor columns wait for the commit (the change's actor table is
// known only then); they are kept as runs of document actor indexes.
//
// Finish() produces exactly what EncodeChange() makes for the same ops.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "automerge/change.h"
#include "base/bytes.h"

namespace vudo::automerge {

class PendingChange {
 public:
  PendingChange();
  ~PendingChange();
  PendingChange(PendingChange&&) noexcept;
  PendingChange& operator=(PendingChange&&) noexcept;

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  // Appends an op whose actor numbers are document actor indexes.
  void Add(const ChangeOp& op);
  // Encodes the change: `ch` supplies deps, seq, start_op, time, message and
  // extra; actor = actors[author]. Fills ch.actor, ch.other_actors (the
  // actors the ops use, sorted by bytes), ch.bytes and ch.hash, and empties
  // this pending change.
  void Finish(Change& ch, const std::vector<ActorId>& actors, uint32_t author);

 private:
  // Runs of (document actor index or kNull, count).
  struct ActorRuns {
    std::vector<std::pair<uint32_t, uint32_t>> runs;
    void Append(uint32_t v) {
      if (!runs.empty() && runs.back().first == v &&
          runs.back().second < UINT32_MAX)
        ++runs.back().second;
      else
        runs.emplace_back(v, 1);
    }
  };
  struct Columns;
  static constexpr uint32_t kNull = UINT32_MAX;

  void Use(uint32_t actor);

  std::unique_ptr<Columns> cols_;
  ActorRuns obj_actor_, key_actor_, pred_actor_;
  std::vector<bool> used_;     // per document actor
  std::vector<uint32_t> map_;  // document actor -> change actor (Finish)
  size_t n_ = 0;
};

}  // namespace vudo::automerge
