# libFuzzer targets for the Automerge engine's decoders.
vudo_fuzz(fuzz_automerge_change
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/automerge_change_fuzz.cc DEPS vudo_automerge)
vudo_fuzz(fuzz_automerge_load
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/automerge_load_fuzz.cc DEPS vudo_automerge)
vudo_fuzz(fuzz_automerge_apply
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/automerge_apply_fuzz.cc DEPS vudo_automerge)
vudo_fuzz(fuzz_automerge_history
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/automerge_history_fuzz.cc DEPS vudo_automerge)
