#include "discovery/ticket.h"

#include <gtest/gtest.h>

#include <random>

#include "base/encoding.h"
#include "base/leb128.h"

namespace vudo {
namespace {

NodeId Id(std::string_view hex) { return NodeId::FromHex(hex).value(); }

// The test vector of n0-computer/iroh-tickets (src/endpoint.rs,
// test_ticket_base32): a relay URL and 127.0.0.1:1024.
TEST(TicketTest, MatchesIrohTicketsVector) {
  NodeAddr addr;
  addr.id =
      Id("ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6");
  addr.direct_addresses.push_back(ParseSocketAddr("127.0.0.1:1024").value());
  addr.relay_urls.push_back("http://derp.me./");
  EXPECT_EQ(HexEncode(EncodeTicketBytes(addr)),
            "00"
            "ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6"
            "02"
            "00"
            "10"
            "687474703a2f2f646572702e6d652e2f"
            "01"
            "00"
            "7f0000018008");
  auto ticket = EncodeTicket(addr);
  EXPECT_EQ(ticket.substr(0, 8), "endpoint");
  EXPECT_EQ(DecodeTicket(ticket).value(), addr);
  // Upper case base32 is accepted too.
  std::string upper = "endpoint";
  for (char c : ticket.substr(8)) upper.push_back(char(std::toupper(c)));
  EXPECT_EQ(DecodeTicket(upper).value(), addr);
}

TEST(TicketTest, RoundTripsEveryAddressKindInCanonicalOrder) {
  NodeAddr addr;
  addr.id = crypto::SecretKey::Generate().public_key();
  addr.direct_addresses = {ParseSocketAddr("[2001:db8::1]:443").value(),
                           ParseSocketAddr("192.0.2.7:9").value(),
                           ParseSocketAddr("192.0.2.7:9").value(),
                           ParseSocketAddr("192.0.2.1:65535").value()};
  addr.relay_urls = {"https://relay.example/", "http://a.example/"};
  addr.custom_addresses = {CustomAddr{7, Bytes(40, 0xab)},
                           CustomAddr{7, Bytes{1, 2, 3}},
                           CustomAddr{2, Bytes{}}};
  auto back = DecodeTicket(EncodeTicket(addr)).value();
  NodeAddr expected = addr;
  CanonicalizeNodeAddr(expected);
  EXPECT_EQ(back, expected);
  ASSERT_EQ(back.direct_addresses.size(), 3u);
  EXPECT_EQ(FormatSocketAddr(back.direct_addresses[0]), "192.0.2.1:65535");
  EXPECT_EQ(FormatSocketAddr(back.direct_addresses[2]), "[2001:db8::1]:443");
  EXPECT_EQ(back.relay_urls[0], "http://a.example/");
  EXPECT_EQ(back.custom_addresses[0].id, 2u);
  EXPECT_EQ(back.custom_addresses[1].data, (Bytes{1, 2, 3}));
  // Encoding is independent of input order.
  NodeAddr shuffled = addr;
  std::reverse(shuffled.direct_addresses.begin(),
               shuffled.direct_addresses.end());
  std::reverse(shuffled.relay_urls.begin(), shuffled.relay_urls.end());
  EXPECT_EQ(EncodeTicket(shuffled), EncodeTicket(addr));
}

TEST(TicketTest, CustomAddressForms) {
  NodeAddr addr;
  addr.id = crypto::SecretKey::Generate().public_key();
  addr.custom_addresses = {CustomAddr{5, Bytes{9, 8}}};
  Bytes b = EncodeTicketBytes(addr);
  // variant, id, count 1, kind 2, id 5, inline 0, len 2, 30 padded bytes.
  ASSERT_EQ(b.size(), 1 + 32 + 1 + 1 + 1 + 1 + 1 + 30u);
  EXPECT_EQ(b[33], 1);
  EXPECT_EQ(b[34], 2);
  EXPECT_EQ(b[36], 0);
  EXPECT_EQ(b[37], 2);
  addr.custom_addresses = {CustomAddr{5, Bytes(31, 1)}};
  b = EncodeTicketBytes(addr);
  EXPECT_EQ(b[36], 1);
  EXPECT_EQ(b[37], 31);
  EXPECT_EQ(DecodeTicketBytes(b).value(), addr);
}

TEST(TicketTest, NormalizesRelayUrls) {
  EXPECT_EQ(NormalizeRelayUrl("http://Relay.Example").value(),
            "http://relay.example/");
  EXPECT_EQ(NormalizeRelayUrl("https://r.example:8443/relay").value(),
            "https://r.example:8443/relay");
  EXPECT_FALSE(NormalizeRelayUrl("ftp://r.example/"));
  EXPECT_FALSE(NormalizeRelayUrl("http:///path"));
  EXPECT_FALSE(NormalizeRelayUrl("relay.example"));
}

TEST(TicketTest, RejectsBadInput) {
  NodeAddr addr;
  addr.id = crypto::SecretKey::Generate().public_key();
  addr.direct_addresses.push_back(ParseSocketAddr("127.0.0.1:1024").value());
  addr.relay_urls.push_back("http://derp.me./");
  Bytes good = EncodeTicketBytes(addr);

  EXPECT_EQ(DecodeTicket("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeTicket("nodeabc").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeTicket("endpoint!!!!").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeTicket(std::string(kMaxTicketLength + 1, 'a')).error().code,
            ErrorCode::kOverflow);
  // Every truncation fails cleanly.
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = DecodeTicketBytes(ByteSpan(good.data(), n));
    EXPECT_FALSE(r) << "prefix of " << n << " bytes decoded";
  }
  // Trailing garbage.
  Bytes extra = good;
  extra.push_back(0);
  EXPECT_FALSE(DecodeTicketBytes(extra));
  // Unknown variant, address kind, IP family.
  Bytes b = good;
  b[0] = 1;
  EXPECT_EQ(DecodeTicketBytes(b).error().code, ErrorCode::kUnsupported);
  b = good;
  b[34] = 9;  // first address kind
  EXPECT_EQ(DecodeTicketBytes(b).error().code, ErrorCode::kUnsupported);
  // A huge address count is refused before any allocation.
  b = Bytes(good.begin(), good.begin() + 33);
  AppendUleb(b, uint64_t(1) << 40);
  EXPECT_FALSE(DecodeTicketBytes(b));
  // Invalid relay URL bytes.
  NodeAddr bad = addr;
  bad.relay_urls = {"not a url"};
  EXPECT_FALSE(DecodeTicketBytes(EncodeTicketBytes(bad)));
  // Port out of range.
  b = Bytes(good.begin(), good.begin() + 33);
  b.insert(b.end(), {1, 1, 0, 127, 0, 0, 1, 0x80, 0x80, 0x04});
  EXPECT_EQ(DecodeTicketBytes(b).error().code, ErrorCode::kOverflow);
}

TEST(TicketTest, RandomBytesNeverCrash) {
  std::mt19937 rng(1);
  NodeAddr addr;
  addr.id = crypto::SecretKey::Generate().public_key();
  addr.direct_addresses.push_back(ParseSocketAddr("192.0.2.1:1").value());
  Bytes good = EncodeTicketBytes(addr);
  for (int i = 0; i < 5000; ++i) {
    Bytes b = good;
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = uint8_t(rng());
    (void)DecodeTicketBytes(b);
  }
}

}  // namespace
}  // namespace vudo
