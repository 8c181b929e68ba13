#!/usr/bin/env bash
# The orchestrator beside BullMQ, in the same minutes on the same machine:
# each shape of work is measured on BullMQ + Redis (tests/bench/peer/), then
# on the orchestrator's embedded and filesystem backends, and printed as one
# Markdown table with ratios (the README's performance section is one run).
#
#   scripts/bench.sh                  # every shape, default sizes
#   scripts/bench.sh --quick          # small sizes: a smoke run in a minute
#   BACKENDS="surrealdb-embedded" scripts/bench.sh
#
# Needs the build (scripts/setup.sh), redis-server (apt-get install
# redis-server) and the peer's npm packages (installed here on first use).
# Run by hand on an idle machine, never by the test command. The raw lines
# go to build/bench/last-run.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
backends=(${BACKENDS:-surrealdb-embedded filesystem})
sizes=()
peer_sizes=()
if [[ "${1:-}" == "--quick" ]]; then
  sizes=(--tasks 2000 --batch-tasks 5000 --e2e-tasks 300 --samples 50)
  peer_sizes=(--tasks 2000 --batch-tasks 5000 --claim-tasks 2000 --e2e-tasks 300 --samples 50)
  claim_tasks=2000
else
  claim_tasks=20000
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
for exe in bench_api bench_storage; do
  [[ -x "$build/tests/$exe" ]] || { echo "error: $build/tests/$exe is not built (scripts/setup.sh)" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "error: redis-server is not installed (apt-get install redis-server)" >&2; exit 2; }
peer="$root/tests/bench/peer"
if [[ ! "$peer/node_modules/.package-lock.json" -nt "$peer/package-lock.json" ]]; then
  say "installing the peer's npm packages"
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$build/bench"
log="$build/bench/last-run.log"
: > "$log"
run() { say "$*"; "$@" 2>&1 | tee -a "$log" | grep -v '^RESULT' >&2 || true; }

for shape in submit batch claim e2e latency; do
  run node "$peer/bullmq-bench.mjs" --shapes "$shape" "${peer_sizes[@]}"
  for b in "${backends[@]}"; do
    if [[ "$shape" == claim ]]; then
      run "$build/tests/bench_storage" --backend "$b" --submitters -1 --claimers 100 \
        --claim-tasks "$claim_tasks"
      # The same backlog through the scheduler's slots: claim, start, outcome.
      run "$build/tests/bench_api" --backend "$b" --shapes slots --slot-tasks "$claim_tasks" \
        --slot-count 100
    else
      run "$build/tests/bench_api" --backend "$b" --shapes "$shape" "${sizes[@]}"
    fi
  done
done

declare -A value
while read -r _ key v; do value[$key]=$v; done < <(grep '^RESULT' "$log")
# BullMQ's worker is the peer of both claim rows: the storage path alone and
# the scheduler's slots.
value[slots.bullmq]=${value[claim_100.bullmq]:-}
value[cpu_slots.bullmq]=${value[cpu_claim_100.bullmq]:-}

ratio() {  # ours theirs [lower-is-better]
  [[ -n "${1:-}" && -n "${2:-}" ]] || { echo "—"; return; }
  if [[ "${3:-}" == lower ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf (a > 0 ? "%.2f×" : "—"), b / a }'
  else
    awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f×" : "—"), a / b }'
  fi
}
fmt() { [[ -n "${1:-}" ]] && awk -v x="$1" 'BEGIN { printf (x >= 100 ? "%.0f" : "%.2f"), x }' || echo "—"; }

header="| measure | BullMQ + Redis |"
rule="|---|---|"
for b in "${backends[@]}"; do header+=" $b | ratio |"; rule+="---|---|"; done
echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); ratio: ours against BullMQ, above 1 is better for ours."
echo
echo "$header"
echo "$rule"
row() {  # label key [lower]
  local line="| $1 | $(fmt "${value[$2.bullmq]:-}") |"
  for b in "${backends[@]}"; do
    local key="$2.$b"
    line+=" $(fmt "${value[$key]:-}") | $(ratio "${value[$key]:-}" "${value[$2.bullmq]:-}" "${3:-}") |"
  done
  echo "$line"
}
row "durable submissions/s, 64 in flight (\`queue.add\` · \`POST /tasks\`)" submit
row "bulk submissions/s, 1,000 per call, 4 in flight (\`addBulk\` · \`POST /tasks/batch\`)" batch
row "claim + complete cycles/s, 100 concurrent, backlog of no-op jobs (storage path)" claim_100
row "claim + complete cycles/s through 100 scheduler slots, attempts without a process" slots
row "end to end, tasks running \`true\`, 4 at once, tasks/s" e2e
row "submit-to-start p50, idle queue, ms (lower is better)" p50 lower
row "submit-to-start p99, idle queue, ms (lower is better)" p99 lower
row "CPU µs per durable submission: orchestrator process · redis-server (lower is better)" cpu_submit lower
row "CPU µs per task of a batch: orchestrator process · redis-server (lower is better)" cpu_batch lower
row "CPU µs per claim + complete: storage path in-process · redis-server (lower is better)" cpu_claim_100 lower
row "CPU µs per claim + complete through the slots: orchestrator process · redis-server (lower is better)" cpu_slots lower
line="| \`xargs -P4 true\` in the same run, spawns/s | |"
for b in "${backends[@]}"; do
  line+=" $(fmt "${value[xargs.$b]:-}") | end to end at $(awk -v a="${value[e2e.$b]:-0}" -v b="${value[xargs.$b]:-0}" 'BEGIN { printf (b > 0 ? "%.0f%%" : "—"), 100 * a / b }') |"
done
echo "$line"
