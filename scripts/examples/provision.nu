#!/usr/bin/env nu
# A provisioning-style workflow from a template, with scripts/orchestrator.nu:
# the provision-host template (config/workflows/provision-host.json: check
# the name, prepare a directory, write the host's configuration from the
# checked name, verify it) run once per host, all hosts at once, each a
# workflow of its own; then each host's verified configuration, or why it
# failed. Start the orchestrator with --workflow-templates config/workflows
# (scripts/run.sh does).
#
#   scripts/examples/provision.nu web-1 web-2 --role web
#   scripts/examples/provision.nu db-1 --role db --root /srv/provision --json

const MODULE = path self ../orchestrator.nu
use $MODULE *

def main [
  ...hosts: string               # the hosts to provision
  --role: string = "web"         # web, db or cache
  --root: string = "/tmp/orchestrator-provision"   # where their directories are made
  --json                         # one JSON list instead of a table
] {
  if ($hosts | is-empty) {
    error make {msg: "give the hosts to provision, e.g. provision.nu web-1 web-2"}
  }
  let results = ($hosts | par-each {|host|
    let wf = (orch workflow run provision-host {host: $host, role: $role, root: $root} --wait)
    let verify = ($wf.tasks | where key == verify | first)
    let failed = ($wf.tasks | where status == Failed | get key)
    {
      host: $host
      workflow: $wf.id
      status: $wf.status
      config: (if $wf.status == Completed { (orch task $verify.id).output | lines } else { [] })
      failed: $failed
    }
  } | sort-by host)
  if $json { $results | to json -r } else { $results }
}
