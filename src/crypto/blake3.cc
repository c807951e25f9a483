// BLAKE3, written from the specification (BLAKE3-team/BLAKE3, blake3.pdf):
// a 7-round ChaCha-like compression function over 64-byte blocks, 1024-byte
// chunks, and a binary Merkle tree whose left subtrees are complete.
#include "crypto/blake3.h"

#include <algorithm>
#include <cstring>

namespace vudo::crypto {
namespace {

constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                             0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

constexpr size_t kBlockLen = 64;
constexpr size_t kChunkLen = 1024;
constexpr size_t kBlocksPerChunk = kChunkLen / kBlockLen;

// Domain-separation flags (the last word of the compression input).
constexpr uint32_t kChunkStart = 1 << 0;
constexpr uint32_t kChunkEnd = 1 << 1;
constexpr uint32_t kParent = 1 << 2;
constexpr uint32_t kRoot = 1 << 3;
constexpr uint32_t kKeyedHash = 1 << 4;
constexpr uint32_t kDeriveKeyContext = 1 << 5;
constexpr uint32_t kDeriveKeyMaterial = 1 << 6;

// Message word order of each round: round 0 uses the identity, each next
// round applies the fixed permutation to the previous one.
struct Schedule {
  uint8_t idx[7][16];
};
constexpr Schedule MakeSchedule() {
  constexpr uint8_t kPermutation[16] = {2, 6,  3,  10, 7, 0,  4,  13,
                                        1, 11, 12, 5,  9, 14, 15, 8};
  Schedule s{};
  for (int i = 0; i < 16; ++i) s.idx[0][i] = uint8_t(i);
  for (int r = 1; r < 7; ++r)
    for (int i = 0; i < 16; ++i) s.idx[r][i] = s.idx[r - 1][kPermutation[i]];
  return s;
}
constexpr Schedule kSchedule = MakeSchedule();

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline void G(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, uint32_t x,
              uint32_t y) {
  a = a + b + x;
  d = Rotr(d ^ a, 16);
  c = c + d;
  b = Rotr(b ^ c, 12);
  a = a + b + y;
  d = Rotr(d ^ a, 8);
  c = c + d;
  b = Rotr(b ^ c, 7);
}

template <int kRound>
inline void Round(uint32_t v[16], const uint32_t m[16]) {
  constexpr const uint8_t* s = kSchedule.idx[kRound];
  G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
  G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
  G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
  G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
  G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
  G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
  G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
  G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
}

// Runs the 7 rounds; v must be initialised with cv, IV, counter, len, flags.
inline void Permute(uint32_t v[16], const uint32_t m[16]) {
  Round<0>(v, m);
  Round<1>(v, m);
  Round<2>(v, m);
  Round<3>(v, m);
  Round<4>(v, m);
  Round<5>(v, m);
  Round<6>(v, m);
}

inline void InitState(uint32_t v[16], const uint32_t cv[8], uint64_t counter,
                      uint32_t block_len, uint32_t flags) {
  for (int i = 0; i < 8; ++i) v[i] = cv[i];
  v[8] = kIv[0];
  v[9] = kIv[1];
  v[10] = kIv[2];
  v[11] = kIv[3];
  v[12] = uint32_t(counter);
  v[13] = uint32_t(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
}

inline void LoadWords(const uint8_t* p, uint32_t* w, size_t n) {
  for (size_t i = 0; i < n; ++i) w[i] = LoadU32LE(p + 4 * i);
}

inline void StoreU32LE(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

// Compression that keeps only the new 8-word chaining value (in place).
inline void CompressCv(uint32_t cv[8], const uint8_t block[kBlockLen],
                       uint64_t counter, uint32_t block_len, uint32_t flags) {
  uint32_t m[16];
  LoadWords(block, m, 16);
  uint32_t v[16];
  InitState(v, cv, counter, block_len, flags);
  Permute(v, m);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

// Full 16-word compression output (used for root / XOF blocks).
inline void CompressXof(const uint32_t cv[8], const uint32_t m[16],
                        uint64_t counter, uint32_t block_len, uint32_t flags,
                        uint8_t out[64]) {
  uint32_t v[16];
  InitState(v, cv, counter, block_len, flags);
  Permute(v, m);
  for (int i = 0; i < 8; ++i) {
    StoreU32LE(out + 4 * i, v[i] ^ v[i + 8]);
    StoreU32LE(out + 4 * (i + 8), v[i + 8] ^ cv[i]);
  }
}

// The inputs of a not-yet-performed compression: either a chunk's last block
// or a parent node. It yields a chaining value, or root output bytes.
struct Output {
  uint32_t input_cv[8];
  uint32_t block[16];
  uint64_t counter;
  uint32_t block_len;
  uint32_t flags;

  void ChainingValue(uint32_t cv[8]) const {
    uint32_t v[16];
    InitState(v, input_cv, counter, block_len, flags);
    Permute(v, block);
    for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
  }

  void RootBytes(std::span<uint8_t> out) const {
    uint64_t block_counter = 0;
    uint8_t buf[64];
    while (!out.empty()) {
      size_t n = std::min<size_t>(out.size(), 64);
      if (n == 64) {
        CompressXof(input_cv, block, block_counter, block_len, flags | kRoot,
                    out.data());
      } else {
        CompressXof(input_cv, block, block_counter, block_len, flags | kRoot,
                    buf);
        std::memcpy(out.data(), buf, n);
      }
      out = out.subspan(n);
      ++block_counter;
    }
  }
};

Output ParentOutput(const uint32_t left[8], const uint32_t right[8],
                    const uint32_t key[8], uint32_t flags) {
  Output o;
  std::memcpy(o.input_cv, key, 32);
  std::memcpy(o.block, left, 32);
  std::memcpy(o.block + 8, right, 32);
  o.counter = 0;
  o.block_len = kBlockLen;
  o.flags = flags | kParent;
  return o;
}

void KeyWords(const uint8_t key[32], uint32_t words[8]) {
  LoadWords(key, words, 8);
}

}  // namespace

Blake3Hasher::Blake3Hasher() : Blake3Hasher(kIv, 0) {}

Blake3Hasher::Blake3Hasher(const uint32_t key[8], uint32_t flags)
    : flags_(flags) {
  std::memcpy(key_, key, sizeof(key_));
  ResetChunk(0);
}

Blake3Hasher Blake3Hasher::Keyed(const std::array<uint8_t, 32>& key) {
  uint32_t words[8];
  KeyWords(key.data(), words);
  return Blake3Hasher(words, kKeyedHash);
}

Blake3Hasher Blake3Hasher::DeriveKey(std::string_view context) {
  Blake3Hasher context_hasher(kIv, kDeriveKeyContext);
  context_hasher.Update(AsBytes(context));
  Blake3Digest context_key = context_hasher.Finalize();
  uint32_t words[8];
  KeyWords(context_key.data(), words);
  return Blake3Hasher(words, kDeriveKeyMaterial);
}

void Blake3Hasher::ResetChunk(uint64_t counter) {
  std::memcpy(chunk_cv_, key_, sizeof(chunk_cv_));
  chunk_counter_ = counter;
  block_len_ = 0;
  blocks_compressed_ = 0;
}

void Blake3Hasher::CompressBlockIntoChunk(const uint8_t* block) {
  uint32_t start = blocks_compressed_ == 0 ? kChunkStart : 0;
  CompressCv(chunk_cv_, block, chunk_counter_, kBlockLen, flags_ | start);
  ++blocks_compressed_;
}

void Blake3Hasher::PushChunkCv(const uint32_t chunk_cv[8],
                               uint64_t total_chunks) {
  // Each trailing zero bit of the chunk count completes one subtree: merge
  // it with the stack top. The stack never holds the root.
  uint32_t cv[8];
  std::memcpy(cv, chunk_cv, sizeof(cv));
  while ((total_chunks & 1) == 0 && cv_stack_len_ > 0) {
    --cv_stack_len_;
    ParentOutput(cv_stack_[cv_stack_len_], cv, key_, flags_).ChainingValue(cv);
    total_chunks >>= 1;
  }
  std::memcpy(cv_stack_[cv_stack_len_], cv, sizeof(cv));
  ++cv_stack_len_;
}

void Blake3Hasher::Update(ByteSpan data) {
  while (!data.empty()) {
    // A full chunk with more input to come is not the root: finish it.
    if (blocks_compressed_ == kBlocksPerChunk - 1 && block_len_ == kBlockLen) {
      // A full chunk has 16 blocks, so its last one carries no CHUNK_START.
      CompressCv(chunk_cv_, block_, chunk_counter_, kBlockLen,
                 flags_ | kChunkEnd);
      uint64_t total_chunks = chunk_counter_ + 1;
      PushChunkCv(chunk_cv_, total_chunks);
      ResetChunk(total_chunks);
    }
    // A buffered full block followed by more input is not the chunk's last.
    if (block_len_ == kBlockLen) {
      CompressBlockIntoChunk(block_);
      block_len_ = 0;
    }
    // Fast path: whole blocks straight from the input, keeping at least one
    // byte back and never the chunk's final block.
    while (block_len_ == 0 && data.size() > kBlockLen &&
           blocks_compressed_ < kBlocksPerChunk - 1) {
      CompressBlockIntoChunk(data.data());
      data = data.subspan(kBlockLen);
    }
    size_t take = std::min<size_t>(kBlockLen - block_len_, data.size());
    std::memcpy(block_ + block_len_, data.data(), take);
    block_len_ = uint8_t(block_len_ + take);
    data = data.subspan(take);
  }
}

void Blake3Hasher::FinalizeXof(std::span<uint8_t> out) const {
  Output o;
  std::memcpy(o.input_cv, chunk_cv_, sizeof(o.input_cv));
  uint8_t padded[kBlockLen] = {};
  std::memcpy(padded, block_, block_len_);
  LoadWords(padded, o.block, 16);
  o.counter = chunk_counter_;
  o.block_len = block_len_;
  o.flags = flags_ | (blocks_compressed_ == 0 ? kChunkStart : 0) | kChunkEnd;
  for (size_t i = cv_stack_len_; i > 0; --i) {
    uint32_t child[8];
    o.ChainingValue(child);
    o = ParentOutput(cv_stack_[i - 1], child, key_, flags_);
  }
  o.RootBytes(out);
}

Blake3Digest Blake3Hasher::Finalize() const {
  Blake3Digest d;
  FinalizeXof(d);
  return d;
}

Blake3Digest Blake3(ByteSpan data) {
  Blake3Hasher h;
  h.Update(data);
  return h.Finalize();
}

std::array<uint8_t, 32> Blake3DeriveKey(std::string_view context,
                                        ByteSpan key_material) {
  Blake3Hasher h = Blake3Hasher::DeriveKey(context);
  h.Update(key_material);
  return h.Finalize();
}

}  // namespace vudo::crypto
