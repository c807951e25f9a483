vudo_fuzz(fuzz_net_endpoint SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/net_endpoint_fuzz.cc DEPS vudo_net)
