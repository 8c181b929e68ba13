#!/usr/bin/env bash
# Installs what is missing, builds (tests, benchmarks and the fuzz targets
# included), and runs the whole test suite through CTest: with it, every
# fuzz target's corpus replayed and each target fuzzed for 20 s
# (ORCH_FUZZ_SECONDS). Extra arguments go to ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
"$root/scripts/setup.sh" --with-fuzz
built=$(date +%s)
cd "${BUILD_DIR:-$root/build}"
status=0
ctest --output-on-failure -j "${TEST_JOBS:-2}" --timeout 900 "$@" || status=$?
echo "set-up and build: $((built - start)) s, tests: $(($(date +%s) - built)) s"
exit $status
