// Sync message decoding: any bytes give a Message or an Error; a decoded
// message re-encodes to something that decodes to the same message.
#include <cstdlib>

#include "automerge/sync/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vudo::automerge::sync;
  auto message = DecodeMessage(vudo::ByteSpan(data, size));
  if (!message) return 0;
  vudo::Bytes encoded = EncodeMessage(*message);
  if (encoded.size() != EncodedMessageSize(*message)) std::abort();
  auto again = DecodeMessage(encoded);
  if (!again || !(*again == *message)) std::abort();
  for (const auto& have : message->have) {
    for (const auto& hash : message->heads) (void)have.bloom.Contains(hash);
  }
  return 0;
}
