#include "automerge/sync/bloom.h"

#include "base/leb128.h"

namespace vudo::automerge::sync {
namespace {

// ceil(entries * bits_per_entry / 8); the product of two u32 fits in u64.
uint64_t BitsCapacity(uint32_t entries, uint32_t bits_per_entry) {
  uint64_t total_bits = uint64_t{entries} * bits_per_entry;
  return total_bits / 8 + (total_bits % 8 != 0 ? 1 : 0);
}

}  // namespace

BloomFilter BloomFilter::ForEntries(uint32_t entries) {
  BloomFilter filter;
  filter.num_entries_ = entries;
  filter.bits_.assign(BitsCapacity(filter.num_entries_, kBitsPerEntry), 0);
  filter.SetModulus();
  return filter;
}

BloomFilter BloomFilter::FromHashes(std::span<const ChangeHash> hashes) {
  BloomFilter filter = ForEntries(static_cast<uint32_t>(hashes.size()));
  for (const auto& hash : hashes) filter.Add(hash);
  return filter;
}

Result<BloomFilter> BloomFilter::Decode(ByteSpan bytes) {
  BloomFilter filter;
  if (bytes.empty()) return filter;
  ByteReader reader(bytes);
  auto context = [](const Error& e) { return e.WithContext("bloom filter"); };
  auto entries = ReadUleb32(reader);
  if (!entries) return tl::unexpected(context(entries.error()));
  auto bits_per_entry = ReadUleb32(reader);
  if (!bits_per_entry) return tl::unexpected(context(bits_per_entry.error()));
  auto probes = ReadUleb32(reader);
  if (!probes) return tl::unexpected(context(probes.error()));
  if (*probes > kMaxProbes) {
    return Err(ErrorCode::kInvalidArgument,
               "bloom filter: {} probes (at most {} accepted)", *probes,
               kMaxProbes);
  }
  uint64_t capacity = BitsCapacity(*entries, *bits_per_entry);
  if (capacity > reader.remaining()) {
    return Err(ErrorCode::kTruncated,
               "bloom filter: {} entries x {} bits need {} bytes, {} present",
               *entries, *bits_per_entry, capacity, reader.remaining());
  }
  if (*entries != 0 && capacity == 0) {
    return Err(ErrorCode::kInvalidArgument,
               "bloom filter: {} entries with an empty bit array", *entries);
  }
  filter.num_entries_ = *entries;
  filter.bits_per_entry_ = *bits_per_entry;
  filter.num_probes_ = *probes;
  auto span = reader.ReadSpan(capacity);
  filter.bits_.assign(span->begin(), span->end());
  filter.SetModulus();
  if (filter.num_entries_ == 0) {
    // Automerge encodes a zero-entry filter as nothing at all, whatever the
    // parameters that came in; normalise so that Encode() agrees.
    filter = BloomFilter();
  }
  return filter;
}

size_t BloomFilter::EncodedSize() const {
  if (num_entries_ == 0) return 0;
  return UlebSize(num_entries_) + UlebSize(bits_per_entry_) +
         UlebSize(num_probes_) + bits_.size();
}

void BloomFilter::EncodeTo(Bytes& out) const {
  if (num_entries_ == 0) return;
  AppendUleb(out, num_entries_);
  AppendUleb(out, bits_per_entry_);
  AppendUleb(out, num_probes_);
  Append(out, bits_);
}

Bytes BloomFilter::Encode() const {
  Bytes out;
  out.reserve(EncodedSize());
  EncodeTo(out);
  return out;
}

void BloomFilter::Add(const ChangeHash& hash) {
  if (bits_.empty() || num_probes_ == 0) return;
  uint64_t probes[kMaxProbes];
  Probes(hash, probes);
  SetProbes(probes);
}

bool BloomFilter::Contains(const ChangeHash& hash) const {
  if (num_entries_ == 0) return false;
  if (bits_.empty() || num_probes_ == 0) return true;
  uint64_t probes[kMaxProbes];
  Probes(hash, probes);
  return TestProbes(probes);
}

}  // namespace vudo::automerge::sync
