#include "discovery/dns_message.h"

#include <gtest/gtest.h>

#include "base/encoding.h"

namespace vudo::dns {
namespace {

Bytes Hex(std::string_view s) {
  std::string clean;
  for (char c : s) {
    if (c != ' ' && c != '\n') clean.push_back(c);
  }
  auto b = HexDecode(clean);
  EXPECT_TRUE(b.has_value());
  return b ? *b : Bytes{};
}

Name N(std::string_view s) {
  auto n = Name::Parse(s);
  EXPECT_TRUE(n.has_value()) << s;
  return n ? *n : Name{};
}

TEST(DnsName, ParseAndFormat) {
  EXPECT_EQ(N("_irohv1._udp.local.").labels,
            (std::vector<std::string>{"_irohv1", "_udp", "local"}));
  EXPECT_EQ(N("a.b").ToString(), "a.b.");
  EXPECT_EQ(N(".").ToString(), ".");
  EXPECT_EQ(N("a.b").WireLength(), 5u);
  EXPECT_FALSE(Name::Parse("a..b").has_value());
  EXPECT_FALSE(Name::Parse("").has_value());
  EXPECT_FALSE(Name::Parse(std::string(64, 'x')).has_value());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'x') + ".";
  EXPECT_FALSE(Name::Parse(long_name).has_value());
  EXPECT_TRUE(N("A.Local").EqualsIgnoreCase(N("a.LOCAL.")));
  EXPECT_FALSE(N("a.local").EqualsIgnoreCase(N("b.local")));
  EXPECT_TRUE(N("x._s._udp.local").IsChildOf(N("_s._udp.local"), 1));
  EXPECT_FALSE(N("y.x._s._udp.local").IsChildOf(N("_s._udp.local"), 1));
}

TEST(DnsMessage, QueryKnownBytes) {
  Message m;
  m.questions.push_back({N("_irohv1._udp.local."), kTypePtr, kClassIn});
  auto wire = EncodeMessage(m);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(HexEncode(*wire),
            HexEncode(Hex("0000 0000 0001 0000 0000 0000"
                          "075f69726f68763104 5f756470 056c6f63616c 00"
                          "000c 0001")));
  auto back = DecodeMessage(*wire);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, m);
}

TEST(DnsMessage, CompressedRoundTrip) {
  Message m;
  m.id = 0x1234;
  m.flags = kFlagResponse | kFlagAuthoritative;
  Name inst = N("abc._irohv1._udp.local.");
  Name host = N("abc-7.local.");
  m.answers.push_back(MakePtrRecord(N("_irohv1._udp.local."), 10, inst));
  m.answers.push_back(MakeSrvRecord(inst, 0, SrvData{1, 2, 7, host}));
  m.answers.push_back(MakeTxtRecord(inst, 0, {"relay=http://x", "flag", ""}));
  m.authorities.push_back(
      Record{N("z.local"), 99, kClassIn, 5, RData(RawData{Bytes{1, 2, 3}})});
  m.additionals.push_back(MakeARecord(host, 0, {192, 0, 2, 1}));
  Ipv6Bytes v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  m.additionals.push_back(MakeAaaaRecord(host, 0, v6));
  auto wire = EncodeMessage(m);
  ASSERT_TRUE(wire.has_value()) << wire.error().ToString();
  // The instance name is written once and pointed at afterwards.
  std::string w = std::string(AsString(*wire));
  size_t first = w.find("abc");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(w.find("abc-7"), std::string::npos);
  auto back = DecodeMessage(*wire);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, m);
  // Smaller than the uncompressed form.
  size_t uncompressed = 12;
  for (const auto* s : {&m.answers, &m.authorities, &m.additionals}) {
    for (const auto& r : *s) uncompressed += r.name.WireLength() + 10 + 20;
  }
  EXPECT_LT(wire->size(), uncompressed);
}

TEST(DnsMessage, DecodesForeignCompression) {
  // Answer name points to the question name (offset 12), as any responder
  // may write it; the SRV target points into the question too.
  Bytes wire =
      Hex("0000 8400 0001 0001 0000 0000"
          "056c6f63616c00 000c 0001"  // question "local." at 12
          "03616263 c00c"             // "abc" + ptr(12) -> abc.local.
          "0021 0001 00000000 0008"   // SRV IN ttl 0 rdlen 8
          "0000 0000 1234 c00c");     // target -> local.
  auto m = DecodeMessage(wire);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].name.ToString(), "abc.local.");
  auto* srv = std::get_if<SrvData>(&m->answers[0].data);
  ASSERT_NE(srv, nullptr);
  EXPECT_EQ(srv->port, 0x1234);
  EXPECT_EQ(srv->target.ToString(), "local.");
}

TEST(DnsMessage, RejectsPointerLoops) {
  // A name that points at itself.
  Bytes self_loop = Hex("0000 0000 0001 0000 0000 0000 c00c 000c 0001");
  auto r = DecodeMessage(self_loop);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  // Two names pointing at each other: the second points forward.
  Bytes pair =
      Hex("0000 0000 0002 0000 0000 0000"
          "01 61 c012 000c 0001"    // a + ptr(18) (forward)
          "01 62 c00c 000c 0001");  // b + ptr(12)
  r = DecodeMessage(pair);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
}

TEST(DnsMessage, RejectsLongNamesViaPointers) {
  // A chain of backward pointers, each adding a 63-byte label: the name
  // grows past 255 bytes and must be refused.
  Bytes wire = Hex("0000 0000 0005 0000 0000 0000");
  std::vector<size_t> offsets;
  for (int i = 0; i < 5; ++i) {
    offsets.push_back(wire.size());
    wire.push_back(63);
    wire.insert(wire.end(), 63, 'x');
    if (i == 0) {
      wire.push_back(0);
    } else {
      AppendU16BE(wire, uint16_t(0xC000 | offsets[i - 1]));
    }
    AppendU16BE(wire, kTypePtr);
    AppendU16BE(wire, kClassIn);
  }
  auto r = DecodeMessage(wire);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kOverflow);
}

TEST(DnsMessage, RejectsMalformed) {
  struct Case {
    const char* what;
    const char* hex;
  };
  const Case cases[] = {
      {"short header", "0000 0000 0001"},
      {"count too big", "0000 0000 ffff 0000 0000 0000 00 000c 0001"},
      {"truncated question", "0000 0000 0001 0000 0000 0000 05 6c6f"},
      {"extended label", "0000 0000 0001 0000 0000 0000 41 00 000c 0001"},
      {"A rdata of 3 bytes",
       "0000 8400 0000 0001 0000 0000 00 0001 0001 00000000 0003 010203"},
      {"AAAA rdata of 4 bytes",
       "0000 8400 0000 0001 0000 0000 00 001c 0001 00000000 0004 01020304"},
      {"rdata past the end",
       "0000 8400 0000 0001 0000 0000 00 0063 0001 00000000 0009 01"},
      {"TXT string overruns",
       "0000 8400 0000 0001 0000 0000 00 0010 0001 00000000 0002 0561"},
      {"SRV name short of rdata",
       "0000 8400 0000 0001 0000 0000 00 0021 0001 00000000 0009 "
       "000000000001 00 0000"},
      {"trailing bytes", "0000 0000 0000 0000 0000 0000 00"},
  };
  for (const auto& c : cases) {
    auto r = DecodeMessage(Hex(c.hex));
    EXPECT_FALSE(r.has_value()) << c.what;
  }
  Bytes huge(kMaxMessageSize + 1, 0);
  EXPECT_FALSE(DecodeMessage(huge).has_value());
}

TEST(DnsMessage, EncodeRejectsBadInput) {
  Message m;
  Record bad = MakeARecord(N("x.local"), 0, {1, 2, 3, 4});
  bad.type = kTypeAaaa;  // data does not match
  m.answers.push_back(bad);
  EXPECT_FALSE(EncodeMessage(m).has_value());
  Message t;
  t.answers.push_back(MakeTxtRecord(N("x.local"), 0, {std::string(256, 'a')}));
  EXPECT_FALSE(EncodeMessage(t).has_value());
  Message l;
  Name n;
  n.labels = {std::string(64, 'a')};
  l.questions.push_back({n, kTypePtr, kClassIn});
  EXPECT_FALSE(EncodeMessage(l).has_value());
}

}  // namespace
}  // namespace vudo::dns
