// A test that cannot run on this machine says so instead of passing: the
// mark below in its output makes CTest count it as skipped (the tests'
// SKIP_REGULAR_EXPRESSION, tests/CMakeLists.txt), with the reason beside it.
#pragma once

#include <catch2/catch.hpp>

/// Reports the test as skipped with `why`; the caller returns after it.
#define ORCH_SKIP(why) WARN("ORCH_TEST_SKIPPED: " << why)
