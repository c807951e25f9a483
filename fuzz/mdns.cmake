vudo_fuzz(fuzz_dns_message SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dns_message_fuzz.cc DEPS vudo_discovery)
