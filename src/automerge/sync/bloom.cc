#include "automerge/sync/bloom.h"

#include <cstring>

#include "base/leb128.h"

namespace vudo::automerge::sync {
namespace {

// ceil(entries * bits_per_entry / 8); the product of two u32 fits in u64.
uint64_t BitsCapacity(uint32_t entries, uint32_t bits_per_entry) {
  uint64_t total_bits = uint64_t{entries} * bits_per_entry;
  return total_bits / 8 + (total_bits % 8 != 0 ? 1 : 0);
}

// Advances eight probe sequences side by side (AVX2): x, y, z are the
// start values (below m < 2^30, so that the sums fit in a signed lane).
__attribute__((target("avx2"))) void Chains8(const uint32_t* x0,
                                             const uint32_t* y0,
                                             const uint32_t* z0, uint32_t m,
                                             uint32_t probes,
                                             BloomFilter::LaneProbes& out) {
  typedef int32_t V8 __attribute__((vector_size(32)));
  typedef int32_t V4 __attribute__((vector_size(16)));
  typedef int64_t W4 __attribute__((vector_size(32)));
  V8 x, y, z, mm;
  std::memcpy(&x, x0, sizeof x);
  std::memcpy(&y, y0, sizeof y);
  std::memcpy(&z, z0, sizeof z);
  for (int j = 0; j < 8; ++j) mm[j] = static_cast<int32_t>(m);
  for (uint32_t p = 0; p < probes; ++p) {
    V4 lo, hi;
    std::memcpy(&lo, &x, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&x) + sizeof lo, sizeof hi);
    const W4 wide_lo = __builtin_convertvector(lo, W4);
    const W4 wide_hi = __builtin_convertvector(hi, W4);
    std::memcpy(&out[p][0], &wide_lo, sizeof wide_lo);
    std::memcpy(&out[p][4], &wide_hi, sizeof wide_hi);
    // (x + y) % m as one conditional subtraction, as in Probes().
    x += y;
    x -= (x >= mm) & mm;
    y += z;
    y -= (y >= mm) & mm;
  }
}

bool HaveAvx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

}  // namespace

void BloomFilter::Probes8(const ChangeHash* const* hashes,
                          LaneProbes& probes) const {
  const uint64_t modulo = 8 * uint64_t{bits_.size()};
  if (modulo < (uint64_t{1} << 30) && HaveAvx2()) {
    const uint64_t m = mod_m_;
    auto mod = [&](uint32_t a) {
      return static_cast<uint32_t>(
          (static_cast<unsigned __int128>(m * a) * modulo) >> 64);
    };
    alignas(32) uint32_t x[kLanes], y[kLanes], z[kLanes];
    for (size_t j = 0; j < kLanes; ++j) {
      x[j] = mod(LoadU32LE(&(*hashes[j])[0]));
      y[j] = mod(LoadU32LE(&(*hashes[j])[4]));
      z[j] = mod(LoadU32LE(&(*hashes[j])[8]));
    }
    Chains8(x, y, z, static_cast<uint32_t>(modulo), num_probes_, probes);
    return;
  }
  uint64_t one[kMaxProbes];
  for (size_t j = 0; j < kLanes; ++j) {
    Probes(*hashes[j], one);
    for (uint32_t p = 0; p < num_probes_; ++p) probes[p][j] = one[p];
  }
}

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
