# automerge-repo message decoder (CBOR) and the u32 BE frame decoder.
vudo_fuzz(fuzz_repo_message SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/repo_message_fuzz.cc DEPS vudo_repo)
vudo_fuzz(fuzz_repo_frame SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/repo_frame_fuzz.cc DEPS vudo_repo)
