# bench_net_tcp: the TCP loopback baseline that bench/net.sh measures in the
# same run as vudo's QUIC bulk transfer (and iroh's own connect).
add_executable(bench_net_tcp ${CMAKE_CURRENT_SOURCE_DIR}/net_tcp_bench.cc)
target_link_libraries(bench_net_tcp PRIVATE Threads::Threads)
# bench_net_engine: the two sans-I/O engines in memory (CPU cost only).
if(TARGET vudo_net)
  add_executable(bench_net_engine ${CMAKE_CURRENT_SOURCE_DIR}/net_engine_bench.cc)
  target_link_libraries(bench_net_engine PRIVATE vudo_net)
endif()
