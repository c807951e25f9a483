# Helpers shared by every layer.

# vudo_library(NAME SOURCES... DEPS ...): a layer library `vudo_NAME` with src/ on its include path.
function(vudo_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(vudo_${name} STATIC ${ARG_SOURCES})
  target_include_directories(vudo_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(vudo_${name} PUBLIC ${ARG_DEPS})
endfunction()

# vudo_test(NAME SOURCES... DEPS ...): a GoogleTest binary, discovered by ctest with label "unit".
# Tests find shared test data through the VUDO_SOURCE_DIR and VUDO_SHARED_DIR environment.
function(vudo_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    VUDO_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    VUDO_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  gtest_discover_tests(${name} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()

# vudo_fuzz(NAME SOURCES... DEPS ...): a libFuzzer target (only with VUDO_FUZZ).
function(vudo_fuzz name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()
