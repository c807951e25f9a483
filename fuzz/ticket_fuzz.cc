// Feeds arbitrary text to the ticket decoder and arbitrary bytes to the
// postcard layer under it; a ticket that decodes must re-encode to a ticket
// that decodes to the same NodeAddr.
#include <cstdlib>

#include "discovery/ticket.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vudo::ByteSpan bytes(data, size);
  auto from_text = vudo::DecodeTicket(vudo::AsString(bytes));
  auto from_bytes = vudo::DecodeTicketBytes(bytes);
  for (auto* r : {&from_text, &from_bytes}) {
    if (!*r) continue;
    auto again = vudo::DecodeTicket(vudo::EncodeTicket(**r));
    if (!again || *again != **r) std::abort();
  }
  return 0;
}
