# bench_automerge: the automerge-paper editing trace through the engine,
# driven by bench/automerge.sh (which runs automerge-js in the same run).
if(TARGET vudo_automerge)
  add_executable(bench_automerge ${CMAKE_CURRENT_SOURCE_DIR}/automerge_bench.cc)
  target_link_libraries(bench_automerge PRIVATE vudo_automerge ZLIB::ZLIB
                        nlohmann_json::nlohmann_json)
endif()
# bench_automerge_history: the change-graph rebuild after a lazy load.
if(TARGET vudo_automerge)
  add_executable(bench_automerge_history ${CMAKE_CURRENT_SOURCE_DIR}/automerge_history_bench.cc)
  target_link_libraries(bench_automerge_history PRIVATE vudo_automerge nlohmann_json::nlohmann_json)
endif()
