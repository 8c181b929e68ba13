#!/usr/bin/env bash
# Fuzzes the decoders that read outside input (tests/fuzz/README.md) with
# clang's libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   scripts/fuzz.sh                      # build, then every target for 60 s
#   scripts/fuzz.sh submission 600       # one target, ten minutes
#   scripts/fuzz.sh all 3600             # every target, an hour each
#   scripts/fuzz.sh --build-only         # just build the fuzz tree
#   scripts/fuzz.sh --no-build TARGET S  # run what is built (the test command)
#
# The fuzz tree is build/fuzz (FUZZ_BUILD_DIR), configured with clang++-14
# and ORCH_FUZZ=ON. Each target starts from its committed seeds
# (tests/fuzz/corpus/<target>/) and what earlier runs found
# (build/fuzz/corpus/<target>/); a crash, a leak, a hang or a broken
# invariant stops the run, saves the input under build/fuzz/artifacts/<target>/
# and fails the script. Extra libFuzzer flags: FUZZ_FLAGS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
all_targets=(http_gateway http_gateway_auth submission batch_submission query_string record_file segment_file commit_log journal config surreal_rpc bearer_token cron)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

build_tree() {
  if ! command -v clang++-14 >/dev/null; then
    echo "error: clang++-14 is not installed; run scripts/setup.sh --with-fuzz (or apt-get install clang-14 libclang-rt-14-dev llvm-14)" >&2
    exit 2
  fi
  say "building the fuzz targets in $build"
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    CXX=clang++-14 cmake -S "$root" -B "$build" -DORCH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only" >/dev/null
  fi
  cmake --build "$build" -j "${JOBS:-$(nproc)}"
}

# Longest input per target: requests and records are small; a segment or a
# journal holds several lines.
max_len() {
  case "$1" in
    segment_file|commit_log|journal) echo 8192 ;;
    batch_submission) echo 32768 ;;  # room for a batch past the 1,000-task limit
    *) echo 4096 ;;
  esac
}

run_target() {
  local target="$1" seconds="$2"
  local exe="$build/tests/fuzz/fuzz_$target"
  if [[ ! -x "$exe" ]]; then
    echo "error: $exe is not built (scripts/fuzz.sh --build-only)" >&2
    return 2
  fi
  local work="$build/corpus/$target" artifacts="$build/artifacts/$target" log="$build/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  local status=0
  # Leaks are checked at exit; a symbolizer makes the reports readable.
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}" \
    "$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 -max_len="$(max_len "$target")" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} \
    "$work" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  local runs rate cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if ((status == 0)); then
    printf '%-14s %12s executions in %ss (%s/s), coverage %s edges, no crash, no leak\n' \
      "$target" "${runs:-?}" "$seconds" "${rate:-?}" "${cov:-?}"
  else
    printf '%-14s FAILED (exit %d) after %s executions; log: %s\n' "$target" "$status" "${runs:-?}" "$log"
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -8 || true
    echo "  minimise:  $exe -minimize_crash=1 -runs=100000 <the saved input>"
    echo "  then keep: copy the minimised input to tests/fuzz/corpus/$target/regression-<what>"
  fi
  return $status
}

do_build=1
if [[ "${1:-}" == "--no-build" ]]; then do_build=0; shift; fi
if [[ "${1:-}" == "--build-only" ]]; then build_tree; exit 0; fi
target="${1:-all}"
seconds="${2:-60}"
if [[ "$target" == "all" ]]; then
  targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  echo "error: unknown fuzz target '$target' (one of: ${all_targets[*]}, all)" >&2
  exit 2
fi
((do_build)) && build_tree
failed=0
for t in "${targets[@]}"; do
  run_target "$t" "$seconds" || failed=1
done
exit $failed
