# bench_automerge_sync: vudo<->vudo sync in memory, driven by
# bench/automerge_sync.sh (which also runs automerge-js in the same run).
if(TARGET vudo_automerge AND EXISTS ${PROJECT_SOURCE_DIR}/src/automerge/document.cc)
  add_executable(bench_automerge_sync ${CMAKE_CURRENT_SOURCE_DIR}/automerge_sync_bench.cc)
  target_link_libraries(bench_automerge_sync PRIVATE vudo_automerge nlohmann_json::nlohmann_json)
endif()
