// BLAKE3: the hash, keyed-hash, derive-key and extendable-output (XOF) modes
// of the BLAKE3 specification, in portable C++ (no SIMD).
//
// The iroh relay handshake signs
//   Blake3DeriveKey("iroh-relay handshake v1 challenge signature", challenge)
// which is why vudo carries its own implementation.
//
// Example:
//   Blake3Hasher h;
//   h.Update(AsBytes("hello "));
//   h.Update(AsBytes("world"));
//   Blake3Digest d = h.Finalize();   // == Blake3(AsBytes("hello world"))
//
// Thread safety: a Blake3Hasher is a plain value; distinct objects may be used
// from distinct threads, one object needs external synchronisation.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/bytes.h"

namespace vudo::crypto {

using Blake3Digest = std::array<uint8_t, 32>;

class Blake3Hasher {
 public:
  // Plain hash mode.
  Blake3Hasher();
  // Keyed-hash mode (a MAC / PRF keyed by 32 bytes).
  static Blake3Hasher Keyed(const std::array<uint8_t, 32>& key);
  // Key-derivation mode: the context string should be hard-coded, globally
  // unique and application-specific; the key material is fed with Update().
  static Blake3Hasher DeriveKey(std::string_view context);

  // Absorbs more input; may be called any number of times with any sizes.
  void Update(ByteSpan data);
  // The 32-byte output for everything absorbed so far. Does not change the
  // state: more Update() calls may follow.
  Blake3Digest Finalize() const;
  // Fills `out` (any length, including 0) with the extended output; its first
  // 32 bytes equal Finalize(). Does not change the state.
  void FinalizeXof(std::span<uint8_t> out) const;

 private:
  static constexpr size_t kMaxDepth = 54;  // 2^54 chunks = 2^64 bytes

  Blake3Hasher(const uint32_t key[8], uint32_t flags);
  void ResetChunk(uint64_t counter);
  void CompressBlockIntoChunk(const uint8_t* block);
  void PushChunkCv(const uint32_t cv[8], uint64_t total_chunks);

  uint32_t key_[8];
  uint32_t flags_;
  // Current chunk.
  uint32_t chunk_cv_[8];
  uint64_t chunk_counter_ = 0;
  uint8_t block_[64];
  uint8_t block_len_ = 0;
  uint8_t blocks_compressed_ = 0;
  // Chaining values of completed subtrees, one per set bit of chunk_counter_.
  uint32_t cv_stack_[kMaxDepth][8];
  uint8_t cv_stack_len_ = 0;
};

// One-shot plain hash.
Blake3Digest Blake3(ByteSpan data);
// One-shot derive_key: 32 bytes of key derived from key_material in context.
std::array<uint8_t, 32> Blake3DeriveKey(std::string_view context,
                                        ByteSpan key_material);

}  // namespace vudo::crypto
