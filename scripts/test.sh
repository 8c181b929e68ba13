#!/usr/bin/env bash
# Installs what is missing, builds (tests and benchmarks included), and runs
# the whole test suite through CTest. Extra arguments go to ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
"$root/scripts/setup.sh"
built=$(date +%s)
cd "${BUILD_DIR:-$root/build}"
status=0
ctest --output-on-failure -j "${TEST_JOBS:-2}" --timeout 900 "$@" || status=$?
echo "set-up and build: $((built - start)) s, tests: $(($(date +%s) - built)) s"
exit $status
