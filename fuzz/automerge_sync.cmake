# Fuzz targets for the Automerge sync protocol decoders (untrusted bytes from
# any peer): sync messages and persisted sync states.
if(TARGET vudo_automerge)
  vudo_fuzz(fuzz_sync_message SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sync_message_fuzz.cc DEPS vudo_automerge)
  vudo_fuzz(fuzz_sync_state SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sync_state_fuzz.cc DEPS vudo_automerge)
endif()
