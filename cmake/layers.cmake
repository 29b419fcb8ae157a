# layers.cmake: skipbench_layer(), one CMake library per architectural layer, with the layering enforced by the
# compiler. No target sees the source root. Each layer instead exposes its own headers through a folder of
# symbolic links in the build tree (build/layers/<layer>/<path as in the source tree>), published as its PUBLIC
# include directory; a layer therefore finds exactly its own headers and those of the layers it DEPENDS on (and
# theirs, transitively). An include of a header from a layer above it, or beside it, is "No such file" at build
# time. The architecture (who may include whom) is thus the DEPENDS lists, in one place: harness/CMakeLists.txt
# and its neighbours; tests/test_layering.py checks a planted upward include fails to build.
#
#   skipbench_layer(<name> SOURCES <files> HEADERS <files> [DEPENDS <layers>] [LIBS <other libraries>])
#     creates the static library skipbench_<name>; files are relative to the calling CMakeLists' folder.
set(SKIPBENCH_LAYER_ROOT "${CMAKE_BINARY_DIR}/layers")
set_property(GLOBAL PROPERTY SKIPBENCH_OWNED_HEADERS "")

function(skipbench_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;HEADERS;DEPENDS;LIBS" ${ARGN})
  set(inc "${SKIPBENCH_LAYER_ROOT}/${name}")
  file(REMOVE_RECURSE "${inc}")  # a header moved to another layer must disappear from this one
  foreach(h IN LISTS L_HEADERS)
    set(src "${CMAKE_CURRENT_SOURCE_DIR}/${h}")
    if(NOT EXISTS "${src}")
      message(FATAL_ERROR "skipbench_layer(${name}): header ${src} does not exist")
    endif()
    file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${src}")
    get_filename_component(dir "${inc}/${rel}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(CREATE_LINK "${src}" "${inc}/${rel}" SYMBOLIC)
    set_property(GLOBAL APPEND PROPERTY SKIPBENCH_OWNED_HEADERS "${rel}")
  endforeach()
  add_library(skipbench_${name} STATIC ${L_SOURCES})
  target_include_directories(skipbench_${name} PUBLIC "${inc}")
  set(deps "")
  foreach(d IN LISTS L_DEPENDS)
    list(APPEND deps skipbench_${d})
  endforeach()
  target_link_libraries(skipbench_${name} PUBLIC ${deps} ${L_LIBS})
  target_compile_options(skipbench_${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SKIPBENCH_WARNINGS}>)
  if(NOT name STREQUAL "common")
    target_precompile_headers(skipbench_${name} REUSE_FROM skipbench_common)
  endif()
  set_property(GLOBAL APPEND PROPERTY SKIPBENCH_LAYERS "${name}")
  set_property(TARGET skipbench_${name} PROPERTY SKIPBENCH_DEPENDS "${L_DEPENDS}")
endfunction()

# Every header under the layered folders belongs to exactly one layer (a new header that no layer lists would be
# invisible to every target but the tests'): checked once all layers are declared.
function(skipbench_check_header_owners)
  get_property(owned GLOBAL PROPERTY SKIPBENCH_OWNED_HEADERS)
  file(GLOB_RECURSE all RELATIVE "${PROJECT_SOURCE_DIR}"
       "${PROJECT_SOURCE_DIR}/harness/*.h" "${PROJECT_SOURCE_DIR}/profiling/*.h" "${PROJECT_SOURCE_DIR}/reports/*.h"
       "${PROJECT_SOURCE_DIR}/variants/*.h" "${PROJECT_SOURCE_DIR}/cli/*.h")
  foreach(h IN LISTS all)
    list(FIND owned "${h}" i)
    if(i EQUAL -1)
      message(FATAL_ERROR "${h}: no layer lists this header; add it to the HEADERS of its skipbench_layer()")
    endif()
  endforeach()
  set(seen "")
  foreach(h IN LISTS owned)
    list(FIND seen "${h}" i)
    if(NOT i EQUAL -1)
      message(FATAL_ERROR "${h}: listed by two layers; a header belongs to one")
    endif()
    list(APPEND seen "${h}")
  endforeach()
endfunction()
