# bench_crypto_hash: SHA-256 throughput of vudo::crypto (nettle) against
# libsodium's, in the same run (Google Benchmark).
find_package(benchmark QUIET)
if(TARGET vudo_crypto AND benchmark_FOUND)
  add_executable(bench_crypto_hash ${CMAKE_CURRENT_SOURCE_DIR}/crypto_hash_bench.cc)
  target_link_libraries(bench_crypto_hash PRIVATE vudo_crypto PkgConfig::SODIUM benchmark::benchmark)
endif()
