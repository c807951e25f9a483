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
  // Adds hash_at(0) .. hash_at(n - 1): the same bits as n calls of Add, for
  // big batches (a sync of a whole document adds every change). Each hash's
  // probes are computed once and the filter bytes they touch are loaded a
  // few hashes ahead; prefetch(i) is called well before hash_at(i) so that
  // the caller can load where the hash lives (it may ignore i >= n).
  template <typename HashAt, typename PrefetchFn>
  void AddEach(size_t n, HashAt&& hash_at, PrefetchFn&& prefetch);

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
  // Calls out(i, Contains(hash_at(i))) for i = 0 .. n - 1 in order, loading
  // ahead as AddEach does.
  template <typename HashAt, typename PrefetchFn, typename Out>
  void ContainsEach(size_t n, HashAt&& hash_at, PrefetchFn&& prefetch,
                    Out&& out) const;

  uint32_t num_entries() const { return num_entries_; }
  uint32_t bits_per_entry() const { return bits_per_entry_; }
  uint32_t num_probes() const { return num_probes_; }
  const Bytes& bits() const { return bits_; }

  friend bool operator==(const BloomFilter&, const BloomFilter&) = default;

 private:
  // Writes the num_probes_ probe positions of `hash` to out (the filter has
  // bits and at least one probe).
  void Probes(const ChangeHash& hash, uint64_t* out) const;
  // Hashes whose probes are computed ahead of use in AddEach/ContainsEach,
  // and how far ahead of that prefetch() is called.
  static constexpr size_t kProbeAhead = 8;
  static constexpr size_t kLoadAhead = 16;

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

template <typename HashAt, typename PrefetchFn>
void BloomFilter::AddEach(size_t n, HashAt&& hash_at, PrefetchFn&& prefetch) {
  if (bits_.empty() || num_probes_ == 0) return;
  const uint32_t probes = num_probes_;
  uint64_t ring[kProbeAhead][kMaxProbes];
  uint8_t* bits = bits_.data();
  for (size_t i = 0; i < kLoadAhead && i < n; ++i) prefetch(i);
  for (size_t i = 0; i < n + kProbeAhead; ++i) {
    uint64_t* slot = ring[i % kProbeAhead];
    if (i >= kProbeAhead) {
      for (uint32_t p = 0; p < probes; ++p) {
        bits[slot[p] >> 3] |= uint8_t(1u << (slot[p] & 7));
      }
    }
    if (i < n) {
      prefetch(i + kLoadAhead);
      Probes(hash_at(i), slot);
      for (uint32_t p = 0; p < probes; ++p) {
        __builtin_prefetch(bits + (slot[p] >> 3), 1);
      }
    }
  }
}

template <typename HashAt, typename PrefetchFn, typename Out>
void BloomFilter::ContainsEach(size_t n, HashAt&& hash_at,
                               PrefetchFn&& prefetch, Out&& out) const {
  if (num_entries_ == 0 || bits_.empty() || num_probes_ == 0) {
    for (size_t i = 0; i < n; ++i) out(i, num_entries_ != 0);
    return;
  }
  const uint32_t probes = num_probes_;
  uint64_t ring[kProbeAhead][kMaxProbes];
  const uint8_t* bits = bits_.data();
  for (size_t i = 0; i < kLoadAhead && i < n; ++i) prefetch(i);
  for (size_t i = 0; i < n + kProbeAhead; ++i) {
    uint64_t* slot = ring[i % kProbeAhead];
    if (i >= kProbeAhead) {
      bool all_set = true;
      for (uint32_t p = 0; p < probes; ++p) {
        if ((bits[slot[p] >> 3] & (1u << (slot[p] & 7))) == 0) {
          all_set = false;
          break;
        }
      }
      out(i - kProbeAhead, all_set);
    }
    if (i < n) {
      prefetch(i + kLoadAhead);
      Probes(hash_at(i), slot);
      for (uint32_t p = 0; p < probes; ++p) {
        __builtin_prefetch(bits + (slot[p] >> 3));
      }
    }
  }
}

}  // namespace vudo::automerge::sync
