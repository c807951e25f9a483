// The Bloom filter of the Automerge sync protocol.
//
// A peer summarises the changes it has added since the last sync in a Bloom
// filter so that the other side can tell which changes to send. The wire
// form (the bytes of a `have` entry's bloom field) is either empty (a filter
// with no entries) or
//
//   uleb numEntries | uleb bitsPerEntry | uleb numProbes | ceil(n*b/8) bytes
//
// Probe positions come from the first 12 bytes of the hash read as three
// little-endian u32 x, y, z (each reduced modulo the bit count m): x, then
// repeatedly x = (x + y) % m, y = (y + z) % m. Bit p lives in byte p >> 3,
// bit p & 7. Automerge writes 10 bits per entry and 7 probes (1% false
// positives); any parameters on the wire are honoured when reading.
//
// Example:
//   BloomFilter f = BloomFilter::FromHashes(hashes);
//   Bytes wire = f.Encode();
//   VUDO_ASSIGN_OR_RETURN(BloomFilter g, BloomFilter::Decode(wire));
//   bool maybe = g.Contains(hashes[0]);  // true
#pragma once

#include <cstdint>
#include <span>

#include "automerge/sync/hash.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge::sync {

class BloomFilter {
 public:
  static constexpr uint32_t kBitsPerEntry = 10;
  static constexpr uint32_t kNumProbes = 7;
  // Largest probe count we accept from the wire. Automerge always sends 7;
  // the cap keeps Contains() cheap against hostile input.
  static constexpr uint32_t kMaxProbes = 32;

  // A filter with no entries: contains nothing, encodes to zero bytes.
  BloomFilter() = default;

  // A filter holding `hashes` with Automerge's default parameters.
  static BloomFilter FromHashes(std::span<const ChangeHash> hashes);
  // An empty filter sized for `entries` hashes with the default parameters,
  // to be filled by `entries` calls of Add (FromHashes without gathering
  // the hashes into an array first).
  static BloomFilter ForEntries(uint32_t entries);
  void Add(const ChangeHash& hash);
  // Decodes the bloom field of a `have` entry. Bytes after the bit array are
  // ignored (as Automerge does). Errors: kTruncated (the bit array is
  // shorter than its parameters say), kOverflow (a count exceeds u32),
  // kInvalidArgument (overlong LEB128, more than kMaxProbes probes, or
  // entries with an empty bit array).
  static Result<BloomFilter> Decode(ByteSpan bytes);

  // Appends the wire form (nothing for an empty filter).
  void EncodeTo(Bytes& out) const;
  Bytes Encode() const;
  // Size of Encode()'s output.
  size_t EncodedSize() const;

  // True if `hash` may be in the set (false positives at the filter's
  // rate); always false for a filter with no entries.
  bool Contains(const ChangeHash& hash) const;
  // Batched use (a sync scans every change of a big document): compute a
  // hash's probe positions once with Probes() (num_probes() of them, at
  // most kMaxProbes) and set or test them a few hashes later.
  // SetProbes(Probes(h)) is Add(h); for a filter with entries,
  // TestProbes(Probes(h)) is Contains(h). Only for a filter with
  // HasBitArray() (Add and Contains handle the other cases).
  bool HasBitArray() const { return !bits_.empty() && num_probes_ != 0; }
  void Probes(const ChangeHash& hash, uint64_t* out) const;
  void SetProbes(const uint64_t* probes) {
    // Locals: a byte store may alias any member, which would be reloaded.
    uint8_t* bits = bits_.data();
    const uint32_t count = num_probes_;
    for (uint32_t p = 0; p < count; ++p) {
      bits[probes[p] >> 3] |= uint8_t(1u << (probes[p] & 7));
    }
  }
  bool TestProbes(const uint64_t* probes) const {
    for (uint32_t p = 0; p < num_probes_; ++p) {
      if ((bits_[probes[p] >> 3] & (1u << (probes[p] & 7))) == 0) return false;
    }
    return true;
  }
  // The same for kLanes hashes at a time: probes[p][j] is probe p of
  // *hashes[j]. With AVX2 the probe sequences of the eight hashes advance
  // side by side (the sequence is a chain of dependent additions, which is
  // most of the cost of a probe); the values are those of Probes().
  static constexpr size_t kLanes = 8;
  using LaneProbes = uint64_t[kMaxProbes][kLanes];
  void Probes8(const ChangeHash* const* hashes, LaneProbes& probes) const;
  void SetLane(const LaneProbes& probes, size_t lane) {
    uint8_t* bits = bits_.data();  // locals: see SetProbes
    const uint32_t count = num_probes_;
    for (uint32_t p = 0; p < count; ++p) {
      bits[probes[p][lane] >> 3] |= uint8_t(1u << (probes[p][lane] & 7));
    }
  }
  bool TestLane(const LaneProbes& probes, size_t lane) const {
    for (uint32_t p = 0; p < num_probes_; ++p) {
      if ((bits_[probes[p][lane] >> 3] & (1u << (probes[p][lane] & 7))) == 0)
        return false;
    }
    return true;
  }

  uint32_t num_entries() const { return num_entries_; }
  uint32_t bits_per_entry() const { return bits_per_entry_; }
  uint32_t num_probes() const { return num_probes_; }
  const Bytes& bits() const { return bits_; }

  friend bool operator==(const BloomFilter&, const BloomFilter&) = default;

 private:
  // Sets mod_m_ for the current bit array (see Probes).
  void SetModulus() {
    const uint64_t modulo = 8 * uint64_t{bits_.size()};
    mod_m_ = modulo == 0 || modulo > UINT32_MAX ? 0 : UINT64_MAX / modulo + 1;
  }

  uint32_t num_entries_ = 0;
  uint32_t bits_per_entry_ = kBitsPerEntry;
  uint32_t num_probes_ = kNumProbes;
  Bytes bits_;
  uint64_t mod_m_ = 0;
};

inline void BloomFilter::Probes(const ChangeHash& hash, uint64_t* out) const {
  // Positions are below 8 * bits_.size(); x, y, z as the header says.
  const uint64_t modulo = 8 * uint64_t{bits_.size()};
  uint64_t x, y, z;
  if (mod_m_ != 0) {
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
  out[0] = x;
  for (uint32_t i = 1; i < num_probes_; ++i) {
    // x, y, z < modulo, so (x + y) % modulo is one conditional subtraction.
    x += y;
    x = x >= modulo ? x - modulo : x;
    y += z;
    y = y >= modulo ? y - modulo : y;
    out[i] = x;
  }
}

}  // namespace vudo::automerge::sync
