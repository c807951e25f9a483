// Feeds arbitrary bytes to the DNS message decoder and to the mDNS engine.
// A message that decodes must re-encode to one that decodes to the same
// message (when it still fits the decoder's size limit).
#include <cstdlib>

#include "discovery/dns_message.h"
#include "discovery/mdns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vudo::ByteSpan bytes(data, size);
  auto m = vudo::dns::DecodeMessage(bytes);
  if (m) {
    auto wire = vudo::dns::EncodeMessage(*m);
    if (!wire) std::abort();
    if (wire->size() <= vudo::dns::kMaxMessageSize) {
      auto again = vudo::dns::DecodeMessage(*wire);
      if (!again || *again != *m) std::abort();
    }
  }
  static vudo::MdnsEngine* engine = [] {
    vudo::MdnsOptions options;
    options.rng_seed = 1;
    auto* e = new vudo::MdnsEngine(vudo::NodeId(), options);
    e->Start(0);
    return e;
  }();
  static uint64_t now = 0;
  now += 1'000'000;
  (void)engine->OnPacket(bytes, vudo::UdpEndpoint(), now);
  engine->OnTimer(now);
  while (engine->PollTransmit()) {
  }
  while (engine->PollEvent()) {
  }
  return 0;
}
