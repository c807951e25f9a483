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

template <typename Fn>
void BloomFilter::ForEachProbe(const ChangeHash& hash, Fn&& fn) const {
  const uint64_t modulo = 8 * uint64_t{bits_.size()};
  if (modulo == 0 || num_probes_ == 0) return;
  uint64_t x, y, z;
  if (modulo <= UINT32_MAX) {
    // a % d for 32-bit a and d without a division (Lemire, Kaser and Kurz,
    // "Faster remainder by direct computation", 2019; m = 2^64 / d rounded
    // up, set with the bits); exact for all such a and d. Three divisions
    // per hash were most of the cost of a probe.
    const uint64_t m = mod_m_;
    auto mod = [&](uint32_t a) {
      return static_cast<uint64_t>(
          (static_cast<unsigned __int128>(m * a) * modulo) >> 64);
    };
    x = mod(LoadU32LE(&hash[0]));
    y = mod(LoadU32LE(&hash[4]));
    z = mod(LoadU32LE(&hash[8]));
  } else {
    x = LoadU32LE(&hash[0]) % modulo;
    y = LoadU32LE(&hash[4]) % modulo;
    z = LoadU32LE(&hash[8]) % modulo;
  }
  if (!fn(x)) return;
  for (uint32_t i = 1; i < num_probes_; ++i) {
    // x, y, z < modulo, so (x + y) % modulo is one conditional subtraction.
    x += y;
    if (x >= modulo) x -= modulo;
    y += z;
    if (y >= modulo) y -= modulo;
    if (!fn(x)) return;
  }
}

void BloomFilter::Add(const ChangeHash& hash) {
  ForEachProbe(hash, [this](uint64_t probe) {
    bits_[probe >> 3] |= uint8_t(1u << (probe & 7));
    return true;
  });
}

bool BloomFilter::Contains(const ChangeHash& hash) const {
  if (num_entries_ == 0) return false;
  bool all_set = true;
  ForEachProbe(hash, [&](uint64_t probe) {
    if ((bits_[probe >> 3] & (1u << (probe & 7))) == 0) all_set = false;
    return all_set;
  });
  return all_set;
}

}  // namespace vudo::automerge::sync
