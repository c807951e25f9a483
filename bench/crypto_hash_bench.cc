// SHA-256 throughput: vudo::crypto (nettle; SHA-NI when the CPU has it)
// against libsodium's portable SHA-256 (what vudo used before), in the same
// run. Sizes: 100 B (a typical small change chunk), 1 KiB, 1 MiB.
//   bench_crypto_hash [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <sodium.h>

#include "crypto/hash.h"

namespace {

vudo::Bytes Input(size_t n) {
  vudo::Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 131 + 7);
  return b;
}

void BM_Sha256Vudo(benchmark::State& state) {
  vudo::Bytes in = Input(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto d = vudo::crypto::Sha256(in);
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_Sha256Sodium(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init failed");
  vudo::Bytes in = Input(static_cast<size_t>(state.range(0)));
  unsigned char d[crypto_hash_sha256_BYTES];
  for (auto _ : state) {
    crypto_hash_sha256(d, in.data(), in.size());
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

BENCHMARK(BM_Sha256Vudo)->Arg(100)->Arg(1024)->Arg(1 << 20);
BENCHMARK(BM_Sha256Sodium)->Arg(100)->Arg(1024)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
