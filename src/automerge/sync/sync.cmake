# The Automerge sync protocol (issue 4). Included by src/automerge/CMakeLists.txt
# right after vudo_automerge is defined.
set(VUDO_SYNC_DIR ${CMAKE_CURRENT_SOURCE_DIR}/sync)
target_sources(vudo_automerge PRIVATE
  ${VUDO_SYNC_DIR}/bloom.cc
  ${VUDO_SYNC_DIR}/message.cc
  ${VUDO_SYNC_DIR}/state.cc)
vudo_test(automerge_sync_test
  SOURCES ${VUDO_SYNC_DIR}/bloom_test.cc ${VUDO_SYNC_DIR}/message_test.cc
          ${VUDO_SYNC_DIR}/state_test.cc
  DEPS vudo_automerge vudo_crypto nlohmann_json::nlohmann_json)
