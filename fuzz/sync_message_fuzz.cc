// Sync messages from a hostile peer: any bytes give a Message or an Error;
// a decoded message re-encodes to an equal message; receiving it into a
// small document (and answering) never crashes, whatever it claims.
#include <cstdlib>

#include "automerge/document.h"
#include "automerge/sync/sync.h"

using namespace vudo::automerge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto message = sync::DecodeMessage(vudo::ByteSpan(data, size));
  if (!message) return 0;
  vudo::Bytes encoded = sync::EncodeMessage(*message);
  if (encoded.size() != sync::EncodedMessageSize(*message)) std::abort();
  auto again = sync::DecodeMessage(encoded);
  if (!again || !(*again == *message)) std::abort();

  Document doc(ActorId(16, 0xaa));
  if (!doc.Put(kRoot, "k", ScalarValue::Int(1))) std::abort();
  doc.Commit();
  if (!doc.Put(kRoot, "k", ScalarValue::Str("v"))) std::abort();
  doc.Commit();
  sync::SyncState state;
  (void)sync::GenerateSyncMessage(doc, state);
  (void)sync::ReceiveSyncMessage(doc, state, *message);
  (void)sync::GenerateSyncMessage(doc, state);
  // The same claims with heads we know (the first change): the peer's
  // filter is then trusted for that change's ancestors, and what we sent
  // counts as acknowledged up to it.
  if (doc.NumChanges() != 0) {
    message->heads = {doc.ChangeHashAt(0)};
    (void)sync::ReceiveSyncMessage(doc, state, *message);
    (void)sync::GenerateSyncMessage(doc, state);
  }
  return 0;
}
