#include "repo/framing.h"

#include <gtest/gtest.h>

#include <random>

namespace vudo::repo {
namespace {

Bytes Body(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

TEST(FramingTest, EncodesU32BigEndianPrefix) {
  auto frame = EncodeFrame(Bytes{0xA1, 0x02}).value();
  EXPECT_EQ(frame, (Bytes{0, 0, 0, 2, 0xA1, 0x02}));
  EXPECT_EQ(EncodeFrame(Body(300, 1)).value()[2], 0x01);
  EXPECT_EQ(EncodeFrame(Body(300, 1)).value()[3], 0x2C);
  auto big = EncodeFrame(Body(11, 0), 10);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kOverflow);
}

TEST(FramingTest, AppendMessageFrameEncodesInPlace) {
  SyncMessage m{"a", "b", DocumentId(), Bytes(300, 7)};
  Bytes out = {0xEE};  // existing content is kept
  ASSERT_TRUE(AppendMessageFrame(out, m));
  Bytes expected = {0xEE};
  ASSERT_TRUE(AppendFrame(expected, m.Encode()));
  EXPECT_EQ(out, expected);
  // Too large for the cap: refused, buffer unchanged.
  auto st = AppendMessageFrame(out, m, 100);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kOverflow);
  EXPECT_EQ(out, expected);
}

TEST(FramingTest, DecodesFramesSplitAnywhere) {
  std::vector<Bytes> bodies = {Body(1, 1), Body(0, 0), Body(5000, 3),
                               Body(70000, 9), Body(3, 4)};
  Bytes stream;
  for (const auto& b : bodies) ASSERT_TRUE(AppendFrame(stream, b));

  std::mt19937 rng(42);
  for (int trial = 0; trial < 50; ++trial) {
    FrameDecoder decoder;
    std::vector<Bytes> got;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = trial == 0 ? 1 : rng() % 9000 + 1;  // trial 0: byte by byte
      n = std::min(n, stream.size() - pos);
      ASSERT_TRUE(decoder.Append(ByteSpan(stream).subspan(pos, n)));
      pos += n;
      while (true) {
        auto next = decoder.Next();
        ASSERT_TRUE(next) << next.error().ToString();
        if (!*next) break;
        got.push_back(std::move(**next));
      }
    }
    EXPECT_EQ(got, bodies) << "trial " << trial;
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(FramingTest, MessageStreamRoundTrip) {
  // A sender framing messages into one reused buffer, a receiver taking the
  // stream in odd pieces and decoding each frame in place.
  const DocumentId doc = DocumentId::Random();
  std::vector<Message> sent = {
      JoinMessage{"a", PeerMetadata{"s", false}, std::vector<std::string>{"1"}},
      PeerMessage{"b", "a", std::nullopt, "1"},
      SyncMessage{"a", "b", doc, Body(100000, 5)},
      EphemeralMessage{"b", "a", doc, 3, "sess", Body(10, 1)},
      DocUnavailableMessage{"b", "a", doc},
  };
  Bytes stream;
  for (const Message& m : sent) ASSERT_TRUE(AppendMessageFrame(stream, m));
  FrameDecoder decoder;
  std::vector<Message> got;
  for (size_t pos = 0, n = 1; pos < stream.size(); pos += n, n = n * 3 + 1) {
    n = std::min(n, stream.size() - pos);
    ASSERT_TRUE(decoder.Append(ByteSpan(stream).subspan(pos, n)));
    while (true) {
      auto frame = decoder.Next();
      ASSERT_TRUE(frame);
      if (!*frame) break;
      auto m = DecodeMessage(std::move(**frame));
      ASSERT_TRUE(m) << m.error().ToString();
      got.push_back(std::move(*m));
    }
  }
  EXPECT_EQ(got, sent);
}

TEST(FramingTest, RefusesOversizedFrameBeforeItsBody) {
  FrameDecoder decoder(1000);
  Bytes ok_frame = EncodeFrame(Body(1000, 1), 1000).value();
  ASSERT_TRUE(decoder.Append(ok_frame));
  // Header announcing 1001 bytes: refused at once, with no body sent.
  auto st = decoder.Append(Bytes{0, 0, 0x03, 0xE9});
  // The first frame is still pending: Append only checks the front frame.
  ASSERT_TRUE(st);
  auto first = decoder.Next();
  ASSERT_TRUE(first);
  ASSERT_TRUE(*first);
  EXPECT_EQ(**first, Body(1000, 1));
  auto second = decoder.Next();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kOverflow);
  EXPECT_NE(second.error().message.find("1001"), std::string::npos);
  EXPECT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.buffered(), 0u);
  // Sticky.
  EXPECT_FALSE(decoder.Append(Bytes{1}));
  EXPECT_FALSE(decoder.Next());
}

TEST(FramingTest, HugeAnnouncedLengthDoesNotAllocate) {
  FrameDecoder decoder;  // 64 MiB cap
  auto st = decoder.Append(Bytes{0xFF, 0xFF, 0xFF, 0xFF});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kOverflow);
}

TEST(FramingTest, WaitsForIncompleteFrames) {
  FrameDecoder decoder;
  ASSERT_TRUE(decoder.Append(Bytes{0, 0, 0}));
  EXPECT_FALSE(decoder.Next().value());
  ASSERT_TRUE(decoder.Append(Bytes{3, 1, 2}));
  EXPECT_FALSE(decoder.Next().value());
  EXPECT_EQ(decoder.buffered(), 6u);
  ASSERT_TRUE(decoder.Append(Bytes{3}));
  EXPECT_EQ(decoder.Next().value().value(), (Bytes{1, 2, 3}));
  EXPECT_FALSE(decoder.Next().value());
}

}  // namespace
}  // namespace vudo::repo
