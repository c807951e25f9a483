// Arbitrary bytes into the CBOR and automerge-repo message decoders. A value
// that decodes must re-encode to bytes that decode again to the same thing;
// a message must survive Encode -> Decode unchanged.
#include <cstdlib>

#include "repo/cbor.h"
#include "repo/cbor_json.h"
#include "repo/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vudo::ByteSpan bytes(data, size);
  if (auto value = vudo::repo::cbor::Decode(bytes)) {
    vudo::Bytes once = vudo::repo::cbor::Encode(*value);
    auto again = vudo::repo::cbor::Decode(once);
    if (!again || vudo::repo::cbor::Encode(*again) != once) std::abort();
    (void)vudo::repo::cbor::ToJson(*value);
  }
  auto msg = vudo::repo::DecodeMessage(bytes);
  if (!msg) return 0;
  auto back = vudo::repo::DecodeMessage(vudo::repo::EncodeMessage(*msg));
  if (!back || !(*back == *msg)) std::abort();
  return 0;
}
