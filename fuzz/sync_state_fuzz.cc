// Persisted sync state decoding: any bytes give a SyncState or an Error; a
// decoded state re-encodes to a prefix of the input (trailing bytes are
// ignored, as automerge does).
#include <cstdlib>
#include <cstring>

#include "automerge/sync/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vudo::automerge::sync;
  auto state = SyncState::Decode(vudo::ByteSpan(data, size));
  if (!state) return 0;
  vudo::Bytes encoded = state->Encode();
  if (encoded.size() > size ||
      std::memcmp(encoded.data(), data, encoded.size()) != 0) {
    // Only a non-canonical count (impossible: strict LEB128) could differ.
    std::abort();
  }
  return 0;
}
