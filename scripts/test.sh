#!/usr/bin/env bash
# Installs what is missing, builds (tests, benchmarks and the fuzz targets'
# replay programs included), and runs the whole test suite through CTest:
# unit, conformance, e2e, server, soak (short configurations) and every fuzz
# target's committed corpus replayed. Extra arguments go to ctest.
#
#   scripts/test.sh               # the test command (CI: .ci/run)
#   scripts/test.sh --with-fuzz   # also builds the libFuzzer binaries with
#                                 # clang, ASan and UBSan (build/fuzz) and
#                                 # fuzzes each target for ORCH_FUZZ_SECONDS (20)
#   scripts/test.sh -L unit       # one suite (labels: unit, conformance, e2e,
#                                 # server, soak, fuzz)
#
# The clang tree builds every layer a second time with sanitizers (the
# longest part of a cold build), so it is one flag away rather than in the
# default command; long fuzzing is scripts/fuzz.sh, long soaks tests/soak.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
setup_args=()
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --with-fuzz) setup_args+=(--with-fuzz) ;;
    *) ctest_args+=("$arg") ;;
  esac
done
start=$(date +%s)
"$root/scripts/setup.sh" "${setup_args[@]}"
built=$(date +%s)
cd "${BUILD_DIR:-$root/build}"
status=0
ctest --output-on-failure -j "${TEST_JOBS:-2}" --timeout 900 "${ctest_args[@]}" || status=$?
echo "set-up and build: $((built - start)) s, tests: $(($(date +%s) - built)) s"
exit $status
