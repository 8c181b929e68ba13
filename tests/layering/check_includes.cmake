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
#  - every project include names a folder (no bare "x.hpp").
file(GLOB_RECURSE files RELATIVE ${ROOT}
     ${ROOT}/runtime/*.hpp ${ROOT}/runtime/*.cpp ${ROOT}/backends/*.hpp ${ROOT}/backends/*.cpp
     ${ROOT}/actors/*.hpp ${ROOT}/actors/*.cpp)
set(problems "")
foreach(f ${files})
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
