#include "automerge/sync/bloom.h"

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "base/leb128.h"
#include "crypto/hash.h"

namespace vudo::automerge::sync {
namespace {

ChangeHash HashOf(int i) {
  std::string s = "change " + std::to_string(i);
  return crypto::Sha256(AsBytes(s));
}

ChangeHash FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  ChangeHash hash{};
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

TEST(BloomFilterTest, EmptyFilterEncodesToNothingAndContainsNothing) {
  BloomFilter empty = BloomFilter::FromHashes({});
  EXPECT_TRUE(empty.Encode().empty());
  EXPECT_FALSE(empty.Contains(HashOf(1)));
  auto decoded = BloomFilter::Decode({});
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->num_entries(), 0u);
}

TEST(BloomFilterTest, ContainsEveryAddedHashAndFewOthers) {
  std::vector<ChangeHash> hashes;
  for (int i = 0; i < 1000; ++i) hashes.push_back(HashOf(i));
  BloomFilter filter = BloomFilter::FromHashes(hashes);
  EXPECT_EQ(filter.bits().size(), 1250u);
  for (const auto& h : hashes) EXPECT_TRUE(filter.Contains(h));
  int false_positives = 0;
  for (int i = 1000; i < 11000; ++i)
    false_positives += filter.Contains(HashOf(i));
  // 10 bits per entry and 7 probes give about 1%; 3% would be a broken
  // probe sequence.
  EXPECT_LT(false_positives, 300);
}

TEST(BloomFilterTest, ForEntriesPlusAddEqualsFromHashes) {
  std::vector<ChangeHash> hashes;
  for (int i = 0; i < 500; ++i) hashes.push_back(HashOf(i));
  BloomFilter built = BloomFilter::ForEntries(500);
  for (const auto& h : hashes) built.Add(h);
  BloomFilter expected = BloomFilter::FromHashes(hashes);
  EXPECT_EQ(built, expected);
  EXPECT_EQ(built.Encode(), expected.Encode());
  EXPECT_EQ(built.num_entries(), 500u);
  EXPECT_EQ(BloomFilter::ForEntries(0).Encode(), Bytes());
}

TEST(BloomFilterTest, RoundTripsThroughTheWireForm) {
  std::vector<ChangeHash> hashes{HashOf(1), HashOf(2), HashOf(3)};
  BloomFilter filter = BloomFilter::FromHashes(hashes);
  Bytes wire = filter.Encode();
  EXPECT_EQ(wire.size(), filter.EncodedSize());
  // uleb 3, uleb 10, uleb 7, ceil(30 / 8) = 4 bytes.
  ASSERT_EQ(wire.size(), 7u);
  EXPECT_EQ(wire[0], 3);
  EXPECT_EQ(wire[1], 10);
  EXPECT_EQ(wire[2], 7);
  auto decoded = BloomFilter::Decode(wire);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, filter);
}

// The filter of sync_concurrent.json's first message: automerge built it
// from the three change hashes of peer X (c1, c2, c3).
TEST(BloomFilterTest, MatchesAutomergeBits) {
  std::vector<ChangeHash> hashes{
      FromHex(
          "eb37bc800444cdcb1a8fd4b8df16e0f6884e6a2ad9e0e9c137b8b399fc7df7e7"),
      FromHex(
          "eeea377fdbc90983745f053187bd14d4a60379ad5f8c61aeae4a184f3977f39e"),
      FromHex(
          "1c8d11b7933c79e713ef58e7c9695a1612d80af56bad093f60a3671fb0505072"),
  };
  BloomFilter filter = BloomFilter::FromHashes(hashes);
  EXPECT_EQ(HexEncode(filter.Encode()), "030a0728eaa43f");
}

TEST(BloomFilterTest, RejectsMalformedInput) {
  // Bit array shorter than the parameters announce.
  Bytes truncated{0x03, 0x0a, 0x07, 0x01, 0x02};
  auto r = BloomFilter::Decode(truncated);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  // Huge counts: must fail without allocating.
  Bytes huge{0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x07};
  r = BloomFilter::Decode(huge);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  // Counts beyond u32.
  Bytes too_big{0x80, 0x80, 0x80, 0x80, 0x10, 0x0a, 0x07};
  r = BloomFilter::Decode(too_big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kOverflow);
  // Overlong LEB128.
  Bytes overlong{0x83, 0x00, 0x0a, 0x07, 0, 0, 0, 0};
  r = BloomFilter::Decode(overlong);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  // Absurd probe count (would make every lookup loop for ages).
  Bytes probes{0x01, 0x0a, 0xff, 0xff, 0x03, 0, 0};
  r = BloomFilter::Decode(probes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  // Entries but zero bits per entry: no bit array to probe.
  Bytes no_bits{0x05, 0x00, 0x07};
  r = BloomFilter::Decode(no_bits);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(BloomFilterTest, HonoursForeignParameters) {
  // A filter written with 20 bits per entry and 3 probes is read with them.
  std::vector<ChangeHash> hashes{HashOf(7)};
  BloomFilter ours = BloomFilter::FromHashes(hashes);
  Bytes wire{0x01, 0x14, 0x03, 0, 0, 0};
  // Set the three probe bits of HashOf(7) for m = 24 by hand.
  const ChangeHash& h = hashes[0];
  uint64_t m = 24;
  uint64_t x = LoadU32LE(&h[0]) % m, y = LoadU32LE(&h[4]) % m,
           z = LoadU32LE(&h[8]) % m;
  for (int i = 0; i < 3; ++i) {
    wire[3 + (x >> 3)] |= uint8_t(1u << (x & 7));
    x = (x + y) % m;
    y = (y + z) % m;
  }
  auto decoded = BloomFilter::Decode(wire);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->num_probes(), 3u);
  EXPECT_TRUE(decoded->Contains(h));
  EXPECT_EQ(decoded->Encode(), wire);
  EXPECT_NE(ours.Encode(), wire);
}

// The division-free remainder gives the bits of the plain definition
// (x = h[0..4] % m, ...) for filters of many sizes, including m = 8.
TEST(BloomFilterTest, BitsMatchThePlainDefinitionForManySizes) {
  for (int n : {1, 2, 3, 7, 10, 33, 100, 999, 4096, 12345}) {
    std::vector<ChangeHash> hashes;
    for (int i = 0; i < n; ++i) hashes.push_back(HashOf(i * 7919 + n));
    BloomFilter filter = BloomFilter::FromHashes(hashes);
    Bytes bits(filter.bits().size(), 0);
    const uint64_t m = 8 * uint64_t{bits.size()};
    for (const auto& h : hashes) {
      uint64_t x = LoadU32LE(&h[0]) % m, y = LoadU32LE(&h[4]) % m,
               z = LoadU32LE(&h[8]) % m;
      for (uint32_t p = 0; p < BloomFilter::kNumProbes; ++p) {
        bits[x >> 3] |= uint8_t(1u << (x & 7));
        x = (x + y) % m;
        y = (y + z) % m;
      }
    }
    EXPECT_EQ(filter.bits(), bits) << n << " entries";
    for (const auto& h : hashes) EXPECT_TRUE(filter.Contains(h));
  }
}

// The batched primitives the sync uses (Probes, then SetProbes/TestProbes)
// give the same bits and answers as Add and Contains, also for foreign
// parameters read from the wire.
TEST(BloomFilterTest, BatchedProbesMatchAddAndContains) {
  std::vector<ChangeHash> hashes;
  for (int i = 0; i < 3000; ++i) hashes.push_back(HashOf(i * 31 + 5));
  const std::span<const ChangeHash> first(hashes.data(), 1000);
  BloomFilter plain = BloomFilter::FromHashes(first);
  BloomFilter batched = BloomFilter::ForEntries(1000);
  ASSERT_TRUE(batched.HasBitArray());
  uint64_t probes[BloomFilter::kMaxProbes];
  for (const auto& h : first) {
    batched.Probes(h, probes);
    batched.SetProbes(probes);
  }
  EXPECT_EQ(batched, plain);
  // Foreign parameters: 3 probes, 20 bits per entry.
  Bytes wire;
  AppendUleb(wire, 1000);
  AppendUleb(wire, 20);
  AppendUleb(wire, 3);
  for (int i = 0; i < 2500; ++i) wire.push_back(uint8_t(i * 37 + (i >> 3)));
  auto foreign = BloomFilter::Decode(wire);
  ASSERT_TRUE(foreign.has_value());
  int positives = 0;
  for (const auto& h : hashes) {
    for (const BloomFilter* f : {&plain, &*foreign}) {
      f->Probes(h, probes);
      EXPECT_EQ(f->TestProbes(probes), f->Contains(h));
      positives += f->Contains(h);
    }
  }
  // Eight at a time (the AVX2 path where the CPU has it), including a
  // group whose last lanes repeat a hash (the sync pads short groups so).
  for (const BloomFilter* f : {&plain, &*foreign}) {
    for (size_t start = 0; start < hashes.size(); start += 8) {
      const ChangeHash* group[8];
      for (size_t j = 0; j < 8; ++j) {
        group[j] = &hashes[std::min(start + j, size_t{2996})];
      }
      BloomFilter::LaneProbes lanes;
      f->Probes8(group, lanes);
      for (size_t j = 0; j < 8; ++j) {
        f->Probes(*group[j], probes);
        for (uint32_t p = 0; p < f->num_probes(); ++p) {
          ASSERT_EQ(lanes[p][j], probes[p]) << start << " " << j << " " << p;
        }
        EXPECT_EQ(f->TestLane(lanes, j), f->Contains(*group[j]));
      }
    }
  }
  BloomFilter by_lanes = BloomFilter::ForEntries(1000);
  for (size_t start = 0; start < 1000; start += 8) {
    const ChangeHash* group[8];
    for (size_t j = 0; j < 8; ++j) group[j] = &hashes[start + j];
    BloomFilter::LaneProbes lanes;
    by_lanes.Probes8(group, lanes);
    for (size_t j = 0; j < 8; ++j) by_lanes.SetLane(lanes, j);
  }
  EXPECT_EQ(by_lanes, plain);
  EXPECT_GT(positives, 1000);      // every added hash, and then some
  EXPECT_LT(positives, 2 * 3000);  // not everything
}

}  // namespace
}  // namespace vudo::automerge::sync
