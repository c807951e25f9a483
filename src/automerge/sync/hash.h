// Hash lists as the sync protocol uses them.
//
// A change hash (automerge::ChangeHash, see automerge/types.h) is the
// SHA-256 of a change chunk. Hashes compare and sort bytewise, which is the
// order automerge uses for heads on the wire.
#pragma once

#include <vector>

#include "automerge/types.h"

namespace vudo::automerge::sync {

using HashList = std::vector<ChangeHash>;

}  // namespace vudo::automerge::sync
