# The Automerge sync protocol (issue 4). Included by src/automerge/CMakeLists.txt
# right after vudo_automerge is defined.
set(VUDO_SYNC_DIR ${CMAKE_CURRENT_SOURCE_DIR}/sync)
set(VUDO_SYNC_SOURCES ${VUDO_SYNC_DIR}/bloom.cc ${VUDO_SYNC_DIR}/message.cc
                      ${VUDO_SYNC_DIR}/state.cc)
set(VUDO_SYNC_TESTS ${VUDO_SYNC_DIR}/bloom_test.cc ${VUDO_SYNC_DIR}/message_test.cc
                    ${VUDO_SYNC_DIR}/state_test.cc)
# The state machine needs the engine's Document implementation.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/document.cc)
  list(APPEND VUDO_SYNC_SOURCES ${VUDO_SYNC_DIR}/sync.cc)
  if(EXISTS ${VUDO_SYNC_DIR}/sync_test.cc)
    list(APPEND VUDO_SYNC_TESTS ${VUDO_SYNC_DIR}/sync_test.cc)
  endif()
endif()
target_sources(vudo_automerge PRIVATE ${VUDO_SYNC_SOURCES})
vudo_test(automerge_sync_test SOURCES ${VUDO_SYNC_TESTS}
  DEPS vudo_automerge vudo_crypto nlohmann_json::nlohmann_json)
