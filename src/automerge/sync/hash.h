// Hash lists as the sync protocol uses them.
//
// A change hash (automerge::ChangeHash, see automerge/types.h) is the
// SHA-256 of a change chunk. Hashes compare and sort bytewise, which is the
// order automerge uses for heads on the wire.
#pragma once

#include <cstring>
#include <vector>

#include "automerge/types.h"

namespace vudo::automerge::sync {

using HashList = std::vector<ChangeHash>;

// Hash functor for unordered containers of change hashes (the bytes are
// already uniformly distributed).
struct ChangeHashHasher {
  size_t operator()(const ChangeHash& hash) const {
    size_t value;
    std::memcpy(&value, hash.data(), sizeof(value));
    return value;
  }
};

}  // namespace vudo::automerge::sync
