vudo_fuzz(fuzz_ticket SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ticket_fuzz.cc DEPS vudo_discovery)
