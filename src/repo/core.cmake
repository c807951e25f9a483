# The repo core (the lead's part of src/repo): durable store, repo with sync
# sessions per (peer, document), share policy. Needs the Automerge engine.
target_sources(vudo_repo PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/store.cc
                                 ${CMAKE_CURRENT_SOURCE_DIR}/repo.cc
                                 ${CMAKE_CURRENT_SOURCE_DIR}/session.cc)
target_link_libraries(vudo_repo PUBLIC vudo_automerge SQLite::SQLite3
                                       PkgConfig::SODIUM)
vudo_test(repo_core_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/store_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/repo_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/session_test.cc
  DEPS vudo_repo)
