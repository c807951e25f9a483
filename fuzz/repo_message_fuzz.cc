// Arbitrary bytes into the CBOR and automerge-repo message decoders.
// - a CBOR value that decodes must re-encode to bytes that decode again to
//   the same encoding;
// - cbor::SplitMap (validate without building) accepts exactly the maps
//   that cbor::Decode accepts;
// - the message decoder's fast path (raw map entries) must agree with the
//   decode of the canonical re-encoding of the value, and with its own
//   owning-buffer variant;
// - a message must survive Encode -> Decode unchanged.
#include <cstdlib>

#include "repo/cbor.h"
#include "repo/cbor_json.h"
#include "repo/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vudo::ByteSpan bytes(data, size);
  auto value = vudo::repo::cbor::Decode(bytes);
  if (value) {
    vudo::Bytes once = vudo::repo::cbor::Encode(*value);
    auto again = vudo::repo::cbor::Decode(once);
    if (!again || vudo::repo::cbor::Encode(*again) != once) std::abort();
    (void)vudo::repo::cbor::ToJson(*value);
  }
  // SplitMap validates without building: it must accept exactly the maps
  // Decode accepts.
  auto split = vudo::repo::cbor::SplitMap(bytes);
  bool is_map = value && value->type() == vudo::repo::cbor::Value::Type::kMap;
  if (split.has_value() != is_map) std::abort();
  auto msg = vudo::repo::DecodeMessage(bytes);
  auto owned =
      vudo::repo::DecodeMessage(vudo::Bytes(bytes.begin(), bytes.end()));
  if (msg.has_value() != owned.has_value() || (msg && !(*msg == *owned))) {
    std::abort();
  }
  if (value && value->type() == vudo::repo::cbor::Value::Type::kMap) {
    auto canonical = vudo::repo::MessageFromCbor(*value);
    if (canonical.has_value() != msg.has_value()) std::abort();
    if (msg && !(*canonical == *msg)) std::abort();
  }
  if (!msg) return 0;
  auto back = vudo::repo::DecodeMessage(vudo::repo::EncodeMessage(*msg));
  if (!back || !(*back == *msg)) std::abort();
  return 0;
}
