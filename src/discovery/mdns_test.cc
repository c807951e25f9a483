#include "discovery/mdns.h"

#include <gtest/gtest.h>

#include <memory>

#include "base/clock.h"
#include "base/encoding.h"
#include "crypto/ed25519.h"

namespace vudo {
namespace {

namespace ip = boost::asio::ip;

NodeId KeyFromSeed(uint8_t n) {
  Bytes seed(32, n);
  return crypto::SecretKey::FromSeed(seed)->public_key();
}

UdpEndpoint Ep(const char* text) { return *ParseSocketAddr(text); }

// Labels and names as written on the wire, built by hand (not by the codec).
void Label(Bytes& out, std::string_view s) {
  out.push_back(uint8_t(s.size()));
  Append(out, AsBytes(s));
}

TEST(MdnsWire, IdLabelIsLowercaseBase32) {
  // An id as printed in iroh-mdns-address-lookup's docs.
  const std::string label =
      "7rutqynuzu65fcdgoerbt4uoh3p62wuto2mp56x3uvhitqzssxga";
  auto id = ParseMdnsIdLabel(label);
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  EXPECT_EQ(MdnsIdLabel(*id), label);
  std::string upper = label;
  for (char& c : upper) c = char(std::toupper(c));
  auto id2 = ParseMdnsIdLabel(upper);
  ASSERT_TRUE(id2.has_value());
  EXPECT_EQ(*id2, *id);
  auto from_hex = ParseMdnsIdLabel(id->ToHex());
  ASSERT_TRUE(from_hex.has_value());
  EXPECT_EQ(*from_hex, *id);
  EXPECT_FALSE(ParseMdnsIdLabel("abc").has_value());
  EXPECT_FALSE(ParseMdnsIdLabel(std::string(52, '1')).has_value());
}

TEST(MdnsWire, QueryKnownBytes) {
  Bytes expected = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  Label(expected, "_irohv1");
  Label(expected, "_udp");
  Label(expected, "local");
  expected.push_back(0);
  AppendU16BE(expected, 12);  // PTR
  AppendU16BE(expected, 1);   // IN, no QU bit
  EXPECT_EQ(HexEncode(BuildMdnsQuery("irohv1")), HexEncode(expected));
}

TEST(MdnsWire, ResponseKnownBytes) {
  NodeId id = KeyFromSeed(7);
  std::string idl = MdnsIdLabel(id);
  ASSERT_EQ(idl.size(), 52u);
  MdnsAnnouncement ann;
  ann.addrs = {Ep("192.0.2.7:4433")};
  ann.user_data = "doc";
  auto wire = BuildMdnsResponse("irohv1", id, ann);
  ASSERT_TRUE(wire.has_value());

  Bytes e = {0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 1};  // QR|AA, 2 an, 1 ar
  // answer 1: SRV <id>._irohv1._udp.local. -> <id>-4433.local.
  size_t instance_at = e.size();
  Label(e, idl);
  Label(e, "_irohv1");
  Label(e, "_udp");
  size_t local_at = e.size();
  Label(e, "local");
  e.push_back(0);
  AppendU16BE(e, 33);
  AppendU16BE(e, 1);
  AppendU32BE(e, 0);
  std::string host = idl + "-4433";
  AppendU16BE(e, uint16_t(6 + 1 + host.size() + 2));  // uses ptr to local.
  AppendU16BE(e, 0);
  AppendU16BE(e, 0);
  AppendU16BE(e, 4433);
  size_t host_at = e.size();
  Label(e, host);
  // The SRV target is not compressed: "local" is written out again.
  Label(e, "local");
  e.push_back(0);
  // Fix the rdlength: target written in full.
  size_t rdlen = 6 + 1 + host.size() + 7;
  e[host_at - 8] = uint8_t(rdlen >> 8);
  e[host_at - 7] = uint8_t(rdlen);
  // answer 2: TXT, owner name compressed to the instance name.
  AppendU16BE(e, uint16_t(0xC000 | instance_at));
  AppendU16BE(e, 16);
  AppendU16BE(e, 1);
  AppendU32BE(e, 0);
  AppendU16BE(e, 1 + 13);
  Label(e, "user-data=doc");
  // additional: A <id>-4433.local. (pointer into the SRV rdata)
  AppendU16BE(e, uint16_t(0xC000 | host_at));
  AppendU16BE(e, 1);
  AppendU16BE(e, 1);
  AppendU32BE(e, 0);
  AppendU16BE(e, 4);
  Append(e, Bytes{192, 0, 2, 7});
  (void)local_at;
  EXPECT_EQ(HexEncode(*wire), HexEncode(e));
}

TEST(MdnsWire, ResponseParsesBack) {
  NodeId id = KeyFromSeed(1);
  MdnsAnnouncement ann;
  ann.addrs = {Ep("[2001:db8::5]:1000"), Ep("192.0.2.5:1000"),
               Ep("198.51.100.5:2000")};
  ann.relay_url = "http://relay.test:3340/";
  ann.user_data = "hello";
  auto wire = BuildMdnsResponse("irohv1", id, ann);
  ASSERT_TRUE(wire.has_value());
  auto info = ParseMdnsPacket(*wire, MdnsServiceName("irohv1"));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_FALSE(info->is_query);
  ASSERT_EQ(info->peers.size(), 1u);
  const MdnsPeer& p = info->peers[0];
  EXPECT_EQ(p.id, id);
  EXPECT_EQ(p.addrs, (std::vector<UdpEndpoint>{Ep("192.0.2.5:1000"),
                                               Ep("198.51.100.5:2000"),
                                               Ep("[2001:db8::5]:1000")}));
  EXPECT_EQ(p.relay_url, ann.relay_url);
  EXPECT_EQ(p.user_data, ann.user_data);
  NodeAddr na = p.ToNodeAddr();
  EXPECT_EQ(na.relay_urls, std::vector<std::string>{*ann.relay_url});
  // Another service's browser does not see it.
  auto other = ParseMdnsPacket(*wire, MdnsServiceName("other"));
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->peers.empty());
  // The query is recognised as a query.
  auto q = ParseMdnsPacket(BuildMdnsQuery("irohv1"), MdnsServiceName("irohv1"));
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->is_query);
}

TEST(MdnsWire, ResponseStaysUnder1472Bytes) {
  MdnsAnnouncement ann;
  for (int i = 0; i < 100; ++i) {
    ann.addrs.push_back(UdpEndpoint(
        ip::make_address(fmt::format("2001:db8::{:x}", i + 1)), 4000));
  }
  auto wire = BuildMdnsResponse("irohv1", KeyFromSeed(2), ann);
  ASSERT_TRUE(wire.has_value());
  EXPECT_LE(wire->size(), kMdnsMaxSendSize);
  auto info = ParseMdnsPacket(*wire, MdnsServiceName("irohv1"), 1000);
  ASSERT_TRUE(info.has_value());
  ASSERT_EQ(info->peers.size(), 1u);
  EXPECT_GT(info->peers[0].addrs.size(), 10u);
  EXPECT_LT(info->peers[0].addrs.size(), 100u);
  MdnsAnnouncement bad;
  bad.addrs = {Ep("192.0.2.1:1")};
  bad.user_data = std::string(246, 'x');
  EXPECT_FALSE(BuildMdnsResponse("irohv1", KeyFromSeed(2), bad).has_value());
  bad.user_data = std::string(245, 'x');
  EXPECT_TRUE(BuildMdnsResponse("irohv1", KeyFromSeed(2), bad).has_value());
  bad.relay_url = "http://" + std::string(243, 'r');  // "relay=" + 250
  EXPECT_FALSE(BuildMdnsResponse("irohv1", KeyFromSeed(2), bad).has_value());
}

// A simulated LAN: every packet an engine multicasts reaches every engine
// (itself included, as with IP_MULTICAST_LOOP), in the same instant.
class SimLan {
 public:
  struct Node {
    std::unique_ptr<MdnsEngine> engine;
    UdpEndpoint v4;
    UdpEndpoint v6;
    bool up = true;
    std::vector<MdnsEvent> events;
  };

  MdnsEngine& Add(uint8_t seed, MdnsOptions opt, uint16_t port) {
    opt.rng_seed = 1000 + seed;
    auto node = std::make_unique<Node>();
    node->engine = std::make_unique<MdnsEngine>(KeyFromSeed(seed), opt);
    node->v4 = Ep(fmt::format("192.0.2.{}:5353", seed).c_str());
    node->v6 = Ep(fmt::format("[2001:db8::{}]:5353", seed).c_str());
    MdnsAnnouncement ann;
    ann.addrs = {UdpEndpoint(node->v4.address(), port)};
    node->engine->SetAnnouncement(ann, clock_.MonotonicNs());
    nodes_.push_back(std::move(node));
    return *nodes_.back()->engine;
  }
  Node& node(size_t i) { return *nodes_[i]; }
  uint64_t now() const { return clock_.MonotonicNs(); }

  void StartAll() {
    for (auto& n : nodes_) n->engine->Start(now());
    Flush();
  }

  // Moves packets until quiet.
  void Flush() {
    for (int round = 0; round < 100; ++round) {
      bool any = false;
      for (auto& n : nodes_) {
        while (auto t = n->engine->PollTransmit()) {
          any = true;
          ++packets_;
          if (!n->up) continue;
          for (auto& m : nodes_) {
            if (!m->up) continue;
            auto from = t->family == MdnsFamily::kV4 ? n->v4 : n->v6;
            (void)m->engine->OnPacket(t->data, from, now());
          }
        }
      }
      for (auto& n : nodes_) {
        while (auto e = n->engine->PollEvent()) n->events.push_back(*e);
      }
      if (!any) return;
    }
    FAIL() << "packet storm";
  }

  // Advances simulated time to `until`, firing timers on the way.
  void RunUntil(uint64_t until) {
    while (true) {
      uint64_t next = until;
      for (auto& n : nodes_) {
        if (!n->up) continue;
        auto t = n->engine->NextTimeout();
        if (t && *t < next) next = *t;
      }
      if (next > now()) clock_.Advance(next - now());
      for (auto& n : nodes_) {
        if (!n->up) continue;
        auto t = n->engine->NextTimeout();
        if (t && *t <= now()) n->engine->OnTimer(now());
      }
      Flush();
      if (now() >= until) return;
    }
  }

  // First time node i had an event of `kind` about node j's key.
  std::optional<size_t> FindEvent(size_t i, MdnsEventKind kind,
                                  const NodeId& id) {
    auto& ev = nodes_[i]->events;
    for (size_t k = 0; k < ev.size(); ++k) {
      if (ev[k].kind == kind && ev[k].peer.id == id) return k;
    }
    return std::nullopt;
  }

  uint64_t packets() const { return packets_; }

 private:
  FakeClock clock_;
  std::vector<std::unique_ptr<Node>> nodes_;
  uint64_t packets_ = 0;
};

TEST(MdnsEngine, TwoEnginesDiscoverEachOtherAtOnce) {
  SimLan lan;
  lan.Add(1, {}, 1111);
  lan.Add(2, {}, 2222);
  uint64_t t0 = lan.now();
  lan.StartAll();
  lan.RunUntil(t0 + 1);
  auto& a = lan.node(0);
  auto& b = lan.node(1);
  ASSERT_EQ(a.engine->peers().size(), 1u);
  ASSERT_EQ(b.engine->peers().size(), 1u);
  EXPECT_EQ(a.engine->peers()[0].id, KeyFromSeed(2));
  EXPECT_EQ(a.engine->peers()[0].addrs,
            std::vector<UdpEndpoint>{Ep("192.0.2.2:2222")});
  EXPECT_EQ(b.engine->peers()[0].addrs,
            std::vector<UdpEndpoint>{Ep("192.0.2.1:1111")});
  ASSERT_TRUE(lan.FindEvent(0, MdnsEventKind::kDiscovered, KeyFromSeed(2)));
  // Nobody lists itself.
  EXPECT_FALSE(lan.FindEvent(0, MdnsEventKind::kDiscovered, KeyFromSeed(1)));
}

TEST(MdnsEngine, DiscoveryWithoutStartupAnnouncementTakesOneCycle) {
  SimLan lan;
  MdnsOptions opt;
  opt.announce_on_start = false;
  lan.Add(1, opt, 1111);
  lan.Add(2, opt, 2222);
  uint64_t t0 = lan.now();
  lan.StartAll();
  lan.RunUntil(t0 + 600 * kMs);
  EXPECT_TRUE(lan.node(0).engine->peers().empty());  // first query at >= tau
  lan.RunUntil(t0 + 1000 * kMs);  // tau + tau/10 * size + response delay
  EXPECT_EQ(lan.node(0).engine->peers().size(), 1u);
  EXPECT_EQ(lan.node(1).engine->peers().size(), 1u);
}

TEST(MdnsEngine, KeepsPeersWhileTheyAnswerAndExpiresSilentOnes) {
  SimLan lan;
  lan.Add(1, {}, 1111);
  lan.Add(2, {}, 2222);
  uint64_t t0 = lan.now();
  lan.StartAll();
  lan.RunUntil(t0 + 20'000 * kMs);
  EXPECT_EQ(lan.node(0).engine->peers().size(), 1u);
  EXPECT_FALSE(lan.FindEvent(0, MdnsEventKind::kExpired, KeyFromSeed(2)));
  // Rate limit: about one query per cadence (0.7 s) for the whole LAN.
  uint64_t queries = lan.node(0).engine->stats().queries_sent +
                     lan.node(1).engine->stats().queries_sent;
  EXPECT_GE(queries, 15u);
  EXPECT_LE(queries, 32u);

  lan.node(1).up = false;  // B vanishes without a word
  uint64_t t_down = lan.now();
  lan.RunUntil(t_down + 1500 * kMs);
  EXPECT_EQ(lan.node(0).engine->peers().size(), 1u);
  lan.RunUntil(t_down + 4000 * kMs);  // 3 * tau = 2.1 s, checked every 0.86 s
  EXPECT_TRUE(lan.node(0).engine->peers().empty());
  EXPECT_TRUE(lan.FindEvent(0, MdnsEventKind::kExpired, KeyFromSeed(2)));

  // B comes back: discovered again.
  lan.node(1).up = true;
  size_t before = lan.node(0).events.size();
  lan.RunUntil(lan.now() + 2000 * kMs);
  EXPECT_EQ(lan.node(0).engine->peers().size(), 1u);
  bool rediscovered = false;
  for (size_t k = before; k < lan.node(0).events.size(); ++k) {
    rediscovered |= lan.node(0).events[k].kind == MdnsEventKind::kDiscovered;
  }
  EXPECT_TRUE(rediscovered);
}

TEST(MdnsEngine, FixedExpiryOption) {
  SimLan lan;
  MdnsOptions opt;
  opt.expiry_ns = 500 * kMs;
  lan.Add(1, opt, 1111);
  lan.Add(2, {}, 2222);
  lan.StartAll();
  lan.RunUntil(lan.now() + 100 * kMs);
  ASSERT_EQ(lan.node(0).engine->peers().size(), 1u);
  lan.node(1).up = false;
  lan.RunUntil(lan.now() + 1200 * kMs);
  EXPECT_TRUE(lan.node(0).engine->peers().empty());
}

TEST(MdnsEngine, AnnouncementChangeIsAnUpdate) {
  SimLan lan;
  lan.Add(1, {}, 1111);
  lan.Add(2, {}, 2222);
  lan.StartAll();
  lan.RunUntil(lan.now() + 100 * kMs);
  MdnsAnnouncement ann;
  ann.addrs = {Ep("192.0.2.2:3333"), Ep("[2001:db8::2]:3333")};
  ann.user_data = "doc=abc";
  lan.node(1).engine->SetAnnouncement(ann, lan.now());
  lan.Flush();
  auto k = lan.FindEvent(0, MdnsEventKind::kUpdated, KeyFromSeed(2));
  ASSERT_TRUE(k.has_value());
  const MdnsPeer& p = lan.node(0).events[*k].peer;
  EXPECT_EQ(p.addrs, (std::vector<UdpEndpoint>{Ep("192.0.2.2:3333"),
                                               Ep("[2001:db8::2]:3333")}));
  EXPECT_EQ(p.user_data, std::optional<std::string>("doc=abc"));
}

TEST(MdnsEngine, ManyPeersAreRateLimited) {
  SimLan lan;
  for (uint8_t i = 1; i <= 8; ++i) lan.Add(i, {}, uint16_t(1000 + i));
  lan.StartAll();
  lan.RunUntil(lan.now() + 30'000 * kMs);
  uint64_t queries = 0, responses = 0, suppressed = 0;
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(lan.node(i).engine->peers().size(), 7u) << i;
    queries += lan.node(i).engine->stats().queries_sent;
    responses += lan.node(i).engine->stats().responses_sent;
    suppressed += lan.node(i).engine->stats().responses_suppressed;
    EXPECT_FALSE(lan.FindEvent(i, MdnsEventKind::kExpired, KeyFromSeed(1)));
  }
  // The whole LAN sends far fewer packets than 8 nodes each querying and
  // answering every cycle would (30 s / 0.7 s * 8 * (1 + 8) ~ 3000).
  std::printf(
      "[ measure  ] 8 engines, 30 s simulated: %llu queries, %llu responses "
      "sent, %llu suppressed\n",
      (unsigned long long)queries, (unsigned long long)responses,
      (unsigned long long)suppressed);
  EXPECT_LT(queries, 60u);
  EXPECT_LT(responses, 400u);
  EXPECT_GT(suppressed, 0u);
}

TEST(MdnsEngine, MalformedPacketsAreDroppedAndTheEngineGoesOn) {
  SimLan lan;
  lan.Add(1, {}, 1111);
  lan.Add(2, {}, 2222);
  auto& a = *lan.node(0).engine;
  a.Start(lan.now());
  const Bytes garbage[] = {
      {},
      {1, 2, 3},
      Bytes(12, 0xff),
      {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 12, 0, 1},
  };
  for (const auto& g : garbage) {
    EXPECT_FALSE(a.OnPacket(g, Ep("192.0.2.66:5353"), lan.now()).has_value());
  }
  EXPECT_EQ(a.stats().malformed, 4u);
  // A well-formed response with a bad id and one for another service: no
  // peer, no error.
  MdnsAnnouncement ann;
  ann.addrs = {Ep("192.0.2.9:9")};
  auto other = BuildMdnsResponse("other", KeyFromSeed(9), ann);
  EXPECT_TRUE(a.OnPacket(*other, Ep("192.0.2.9:5353"), lan.now()).has_value());
  EXPECT_TRUE(a.peers().empty());
  lan.node(1).engine->Start(lan.now());
  lan.Flush();
  lan.RunUntil(lan.now() + 100 * kMs);
  EXPECT_EQ(a.peers().size(), 1u);
}

TEST(MdnsEngine, PeerTableIsBounded) {
  MdnsOptions opt;
  opt.max_peers = 3;
  opt.rng_seed = 5;
  MdnsEngine e(KeyFromSeed(100), opt);
  e.Start(1);
  for (uint8_t i = 1; i <= 10; ++i) {
    MdnsAnnouncement ann;
    ann.addrs = {Ep("192.0.2.1:1")};
    auto r = BuildMdnsResponse("irohv1", KeyFromSeed(i), ann);
    ASSERT_TRUE(e.OnPacket(*r, Ep("192.0.2.1:5353"), 2).has_value());
  }
  EXPECT_EQ(e.peers().size(), 3u);
  EXPECT_EQ(e.stats().peers_dropped, 7u);
}

TEST(MdnsEngine, Ipv6OnlyUsesTheV6Group) {
  MdnsOptions opt;
  opt.ipv4 = false;
  opt.rng_seed = 3;
  MdnsEngine e(KeyFromSeed(1), opt);
  MdnsAnnouncement ann;
  ann.addrs = {Ep("[2001:db8::1]:7")};
  e.SetAnnouncement(ann, 0);
  e.Start(0);
  int n = 0;
  while (auto t = e.PollTransmit()) {
    EXPECT_EQ(t->family, MdnsFamily::kV6);
    ++n;
  }
  EXPECT_EQ(n, 2);  // query + announcement
}

}  // namespace
}  // namespace vudo
