#!/usr/bin/env nu
# A nightly job with scripts/orchestrator.nu: a schedule that runs a Nushell
# script every night at 02:00 in your time zone - a report of the largest
# files of a directory, as JSON - created once and updated when run again
# (the same name: no second schedule). The orchestrator makes each firing
# once, even with several orchestrators on one SurrealDB server, and says
# when it will fire next.
#
#   ORCHESTRATOR_URL=http://127.0.0.1:8080 scripts/examples/nightly-report.nu --timezone Europe/Berlin
#   scripts/examples/nightly-report.nu --cron '*/10 * * * * *' --watch   # every 10 s; show the first
#   orch schedule tasks nightly-disk-report                             # what it has run
#
# --watch waits for the next firing's task and prints its report; --json
# prints one JSON object (the schedule, and with --watch the report).

const MODULE = path self ../orchestrator.nu
use $MODULE *

def main [
  --name: string = "nightly-disk-report"
  --cron: string = "0 2 * * *"
  --timezone (-z): string = "UTC"
  --dir: path = "/var/log"       # the directory the report looks at
  --top: int = 5                 # how many of its largest files
  --watch                        # wait for the next firing and print its report
  --json                         # one JSON object instead of text
] {
  # The task's script runs in a fresh `nu` on whichever slot takes it.
  let script = $"ls --all ($dir | to nuon) | where type == file | sort-by size --reverse | first ($top) | select name size | update size { into int } | to json --raw"
  let task = {script: $script, labels: {kind: report}, timeout_s: 300, max_retries: 1}
  let since = (date now)
  let existing = (try { orch schedule show $name } catch { null })
  let schedule = if $existing == null {
    orch schedule create $name $cron --task $task --timezone $timezone --overlap skip
  } else {
    orch schedule update $name {cron: $cron, timezone: $timezone, task: $task, paused: false}
  }
  let report = if $watch {
    # From the stored events since before the schedule was written: the
    # firing cannot slip between creating it and listening.
    let ended = (orch events --label {schedule: $name} --kind [completed failed] --since $since | first)
    let run = (orch task $ended.task_id)
    if $run.status != Completed {
      error make {msg: $"the report task ($run.id) ended ($run.status): ($run.error) ($run.stderr)"}
    }
    {task: $run.id, files: ($run.output | from json)}
  } else { null }
  if $json {
    {schedule: ($schedule | select name cron timezone next_firings), report: $report} | to json -r
  } else {
    let next = ($schedule.next_firings | first 3 | each { format date "%F %T %Z" } | str join ", ")
    print $"($schedule.name) \(($schedule.cron) in ($schedule.timezone)\) fires next at ($next)"
    if $report != null {
      print $"report of task ($report.task):"
      $report.files
    }
  }
}
