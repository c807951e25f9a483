# bench_repo_messages: vudo's automerge-repo message codec, driven by
# bench/repo_messages.sh (which times automerge-repo's cbor helper in the
# same run).
if(TARGET vudo_repo)
  add_executable(bench_repo_messages ${CMAKE_CURRENT_SOURCE_DIR}/repo_messages_bench.cc)
  target_link_libraries(bench_repo_messages PRIVATE vudo_repo nlohmann_json::nlohmann_json)
endif()
