// Decodes a change chunk; a decoded change must re-encode canonically.
#include <cstdint>
#include <cstdlib>

#include "automerge/change.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ch = vudo::automerge::DecodeChange({data, size});
  if (!ch) return 0;
  vudo::automerge::Change copy = *ch;
  if (!vudo::automerge::EncodeChange(copy)) std::abort();
  // Re-encoding a decoded change must give a decodable change.
  if (!vudo::automerge::DecodeChange(copy.bytes)) std::abort();
  return 0;
}
