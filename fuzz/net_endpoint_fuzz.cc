// Feeds arbitrary datagrams to a QUIC endpoint engine (server role for new
// Initials, one client connection in progress). Input: a sequence of
// [u16 BE: 5-bit source port index | 11-bit length][datagram]; time moves
// 1 ms per datagram. Nothing may crash, hang or grow without bound.
#include "crypto/ed25519.h"
#include "net/endpoint_engine.h"

using namespace vudo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto key = crypto::SecretKey::FromSeed(Bytes(32, 7)).value();
  static auto tls = net::TlsContext::Create(key).value();
  net::EndpointEngineConfig cfg;
  cfg.tls = tls.get();
  cfg.random_reset_key = false;
  cfg.max_connections = 8;
  net::EndpointEngine eng(cfg);
  eng.SetAlpns({"fuzz/1"});
  auto ip = boost::asio::ip::make_address("127.0.0.1");
  net::UdpEndpoint local(ip, 4433);
  uint64_t now = 1'000'000'000;
  (void)eng.Connect({local, {ip, 1000}}, key.public_key(), "fuzz/1", now);
  auto sink = [](const net::NetPath&, ByteSpan, size_t) {};
  ByteReader r({data, size});
  while (!r.empty()) {
    auto hdr = r.ReadU16BE();
    if (!hdr) break;
    auto dgram = r.ReadSpan(std::min<size_t>(*hdr & 0x7ff, r.remaining()));
    net::UdpEndpoint from(ip, static_cast<uint16_t>(1000 + (*hdr >> 11)));
    eng.Receive({local, from}, *dgram, now);
    eng.Send(now, sink);
    now += 1'000'000;
    eng.HandleTimeout(now);
    eng.TakeEvents();
    eng.Reap();
  }
  return 0;
}
