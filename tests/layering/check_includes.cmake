# Include rules the compiler cannot see (run by ctest as `layering: include
# rules`). The layers themselves are enforced by the build: a header is
# reachable only through the include directory of the library that owns it
# (see the root CMakeLists.txt). What is left to check here:
#  - no relative includes ("../x.hpp" would reach around a layer's include
#    directory);
#  - caf/all.hpp and nlohmann/json.hpp in no header outside the precompiled
#    headers, the SurrealDB backend's internal headers and the supervisor's
#    template (included by the two files that instantiate it): heavy includes
#    belong in .cpp files;
#  - every project include names a folder (no bare "x.hpp");
#  - every project file a comment names exists: a path from the root
#    ("runtime/core/records.hpp") as written, a bare name ("records.hpp")
#    somewhere in the project, so comments do not point at files gone.
file(GLOB_RECURSE files RELATIVE ${ROOT}
     ${ROOT}/runtime/*.hpp ${ROOT}/runtime/*.cpp ${ROOT}/backends/*.hpp ${ROOT}/backends/*.cpp
     ${ROOT}/actors/*.hpp ${ROOT}/actors/*.cpp)
file(GLOB_RECURSE project_files RELATIVE ${ROOT}
     ${ROOT}/runtime/* ${ROOT}/backends/* ${ROOT}/actors/* ${ROOT}/tests/* ${ROOT}/scripts/*
     ${ROOT}/config/*)
list(FILTER project_files EXCLUDE REGEX "node_modules|/corpus/")
set(basenames "")
foreach(p ${project_files} README.md ARCHITECTURE.md CMakeLists.txt)
  get_filename_component(b ${p} NAME)
  list(APPEND basenames ${b})
endforeach()
set(problems "")
foreach(f ${files})
  file(STRINGS ${ROOT}/${f} comments REGEX "//")
  foreach(line ${comments})
    string(REGEX REPLACE "^.*//" "" text "${line}")
    string(REGEX MATCHALL "[A-Za-z0-9_./-]+\\.(hpp|cpp|md|sh|nu|mjs|cmake)" named "${text}")
    foreach(n ${named})
      if(n MATCHES "^(runtime|backends|actors|tests|scripts|config)/")
        if(NOT EXISTS ${ROOT}/${n})
          list(APPEND problems "${f}: a comment names ${n}, which does not exist")
        endif()
      elseif(NOT n MATCHES "/")
        list(FIND basenames ${n} at)
        if(at EQUAL -1)
          list(APPEND problems "${f}: a comment names ${n}, which is no file of the project")
        endif()
      endif()
    endforeach()
  endforeach()
  file(STRINGS ${ROOT}/${f} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line ${lines})
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]*)\"")
      set(inc ${CMAKE_MATCH_1})
      if(inc MATCHES "\\.\\.")
        list(APPEND problems "${f}: relative include \"${inc}\"")
      elseif(NOT inc MATCHES "/" AND NOT f MATCHES "^runtime/pch/")
        list(APPEND problems "${f}: include \"${inc}\" without its folder")
      endif()
    endif()
    if(f MATCHES "\\.hpp$" AND NOT f MATCHES "^runtime/pch/" AND NOT f MATCHES "^backends/surrealdb/"
       AND NOT f STREQUAL "actors/supervisor_front.hpp"
       AND line MATCHES "caf/all\\.hpp|nlohmann/json\\.hpp")
      list(APPEND problems "${f}: heavy include in a header: ${line}")
    endif()
  endforeach()
endforeach()
if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "include rules broken:\n  ${text}")
endif()
list(LENGTH files n)
message(STATUS "include rules hold in ${n} files")
