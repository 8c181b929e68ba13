#!/usr/bin/env nu
# Fan-out / fan-in from Nushell with scripts/orchestrator.nu: one task per
# number (its square, worked out by `sh`), all submitted at once and run in
# parallel by the orchestrator's slots and worker nodes, waited for through
# the event stream, then combined here. The tasks carry a batch label, so
# `orch tasks -q 'label:batch=...'` finds them afterwards.
#
#   ORCHESTRATOR_URL=http://127.0.0.1:8080 scripts/examples/fan-out-fan-in.nu 1 2 3 4
#   scripts/examples/fan-out-fan-in.nu --json 1 2 3     # one JSON object, for scripts
#
# Exits with an error naming the tasks that did not complete.

const MODULE = path self ../orchestrator.nu
use $MODULE *

def main [
  ...numbers: int   # what to square
  --json            # print the result as one JSON object
] {
  if ($numbers | is-empty) {
    error make {msg: "give the numbers to square, e.g. fan-out-fan-in.nu 1 2 3"}
  }
  let batch = (random uuid)
  let submitted = ($numbers | each {|n|
    orch submit sh -c $"echo $\(\( ($n) * ($n) \)\)" --name $"square-($n)" --label {example: fan-out, batch: $batch}
  })
  let ended = ($submitted | par-each {|t| orch wait $t.id } | sort-by name)
  let failed = ($ended | where status != Completed)
  if not ($failed | is-empty) {
    error make {msg: $"tasks that did not complete: ($failed | each {|t| $'($t.name) ($t.id): ($t.status) ($t.error)' } | str join '; ')"}
  }
  let squares = ($ended | each {|t| $t.output | str trim | into int })
  let result = {
    batch: $batch
    tasks: ($ended | length)
    squares: $squares
    sum: ($squares | math sum)
    nodes: ($ended | get node | uniq)
  }
  if $json { $result | to json -r } else { $result }
}
