# orchestrator.nu: drive an orchestrator from Nushell, with structured values.
#
#   use scripts/orchestrator.nu *
#   orch login admin                         # asks for the password, keeps the token
#   let t = (orch submit sh -c 'echo hello' --name greet --label {team: infra})
#   orch wait $t.id | get output             # blocks on the event stream, not by polling
#   orch tasks -q 'label:team=infra status:failed' | select id name status
#   orch events --kind [failed] | each {|e| $"($e.task_id) failed" }
#
# Every command speaks the REST API of the orchestrator at $env.ORCHESTRATOR_URL
# (default http://127.0.0.1:8080) with $env.ORCHESTRATOR_TOKEN, or else the url
# and token `orch login` saved in the client file ($env.ORCHESTRATOR_CONFIG, by
# default ~/.config/orchestrator/client.nuon). Commands return what the API
# returns under `data`: a task is a record, a list of tasks a table. A refusal
# is an error whose message is the orchestrator's own (what is wrong, what to
# do), prefixed with the request.

const TERMINAL = [Completed Failed Cancelled]
# The event kinds after which a task is terminal.
const TERMINAL_KINDS = [completed failed cancelled]
# An event id before every other: a stream from it replays everything stored.
const FIRST_EVENT = "00000000-0000-7000-8000-000000000000"

# Where `orch login` keeps the url and token.
def client-file [] {
  $env.ORCHESTRATOR_CONFIG? | default ($nu.home-dir | path join .config orchestrator client.nuon)
}

def saved [] {
  let file = (client-file)
  if ($file | path exists) { open $file } else { {} }
}

# The orchestrator to talk to and the token to show it.
def connection [] {
  let file = (saved)
  let url = ($env.ORCHESTRATOR_URL? | default ($file.url? | default "http://127.0.0.1:8080"))
  {
    url: ($url | str trim --right --char '/')
    token: ($env.ORCHESTRATOR_TOKEN? | default ($file.token? | default ""))
  }
}

def auth-headers [c: record] {
  if ($c.token | is-empty) { {} } else { {Authorization: $"Bearer ($c.token)"} }
}

# Only the characters a query value may hold unescaped.
def encode [value: any] {
  $value | into string | url encode --all
  | str replace --all "%2D" "-" | str replace --all "%2E" "." | str replace --all "%5F" "_"
}

# `?a=1&b=x`, from a record of the parameters that are set.
def query-string [params: record] {
  let set = ($params | transpose key value | where {|p| $p.value != null and $p.value != "" and $p.value != [] })
  if ($set | is-empty) { return "" }
  let pairs = ($set | each {|p|
    let v = if ($p.value | describe | str starts-with "list") { $p.value | str join "," } else { $p.value }
    $"($p.key)=(encode $v)"
  })
  "?" + ($pairs | str join "&")
}

# One request; its `data` (--text: the body as text), or an error that says what
# the orchestrator said.
def call [method: string, path: string, body?: any, --text] {
  let c = (connection)
  let url = $"($c.url)($path)"
  let headers = (auth-headers $c)
  let response = try {
    match $method {
      "GET" => (http get --full --allow-errors --headers $headers $url)
      "POST" => (http post --full --allow-errors --headers $headers --content-type application/json $url ($body | default {} | to json))
      "PATCH" => (http patch --full --allow-errors --headers $headers --content-type application/json $url ($body | default {} | to json))
      "DELETE" => (http delete --full --allow-errors --headers $headers $url)
    }
  } catch {|e|
    error make {msg: $"cannot reach the orchestrator at ($c.url) \(($e.msg)\): start it, or set ORCHESTRATOR_URL"}
  }
  let body = $response.body
  let parsed = if ($body | describe | str starts-with "record") { $body } else {
    try { $body | from json } catch { {error: ($body | into string)} }
  }
  if $response.status >= 400 {
    let why = ($parsed.error? | default $"HTTP ($response.status)")
    let hint = if $response.status == 401 { " (sign in with `orch login`, or set ORCHESTRATOR_TOKEN)" } else { "" }
    error make {msg: $"($method) ($path): ($response.status) ($why)($hint)"}
  }
  if $text { $body | into string } else { $parsed.data? }
}

# An event id before every event committed at or after `t`: event ids are
# UUIDv7, whose first 48 bits are the commit's milliseconds.
def event-id-at [t: datetime] {
  let ms = ($t | into int) // 1_000_000
  let hex = ($ms | format number | get lowerhex | str substring 2.. | fill --alignment right --character '0' --width 12)
  $"($hex | str substring 0..7)-($hex | str substring 8..11)-7000-8000-000000000000"
}

# The Server-Sent Events of `path`, each message's data as a record, as they
# come. Not inside `try`, which would wait for the stream's end: a refusal is
# Nushell's HTTP error, which carries the orchestrator's message.
def stream [path: string, --max-time: duration] {
  let c = (connection)
  let url = $"($c.url)($path)"
  # Piped on, never bound by `let`, which would read it to its end.
  let limit = ($max_time | default 3650day)
  http get --raw --max-time $limit --headers (auth-headers $c) $url
  | lines | where {|l| $l | str starts-with "data:" } | each {|l| $l | str substring 5.. | str trim | from json }
}

# Signs in: keeps the session's token in this shell ($env.ORCHESTRATOR_TOKEN) and,
# unless --no-save, in the client file (readable by you only) with the url.
export def --env "orch login" [
  username: string
  --password (-p): string   # asked for (not echoed) when not given
  --url (-u): string        # the orchestrator (else ORCHESTRATOR_URL, the client file, or http://127.0.0.1:8080)
  --no-save                 # keep the token in this shell only
] {
  if $url != null { $env.ORCHESTRATOR_URL = $url }
  let secret = if $password != null { $password } else { input --suppress-output "Password: " }
  hide-env -i ORCHESTRATOR_TOKEN
  let session = (call POST /auth/login {username: $username, password: $secret})
  $env.ORCHESTRATOR_TOKEN = $session.token
  if not $no_save {
    let file = (client-file)
    mkdir ($file | path dirname)
    {url: (connection).url, token: $session.token} | to nuon | save --force $file
    chmod 600 $file
  }
  {user: $username, roles: ($session.roles? | default []), expires_at: ($session.expires_at? | default null)}
}

# Who the token is.
export def "orch whoami" [] {
  call GET /auth/me
}

# The orchestrator's health: version, instance, storage, running tasks and slots.
export def "orch health" [] {
  call GET /health
}

# Submits a task; returns it as stored (a record). With --wait, returns it once terminal.
export def --wrapped "orch submit" [
  command?: any                  # the program (omit with --script); `true` is the program, not a boolean
  ...args: string                # its arguments
  --name (-n): string
  --priority (-p): int
  --max-retries (-r): int
  --timeout (-t): duration       # how long an attempt may run
  --label (-l): record           # e.g. {team: infra}
  --environment (-e): record     # extra environment variables of the process
  --after (-a): list<string>     # ids of the tasks it waits for
  --run-after-failure            # run once they ended, even if one failed (else it fails with it)
  --node-label: record           # runs only on a worker node with all of these
  --workdir (-w): string
  --script (-s): string          # a Nushell script to run instead of a command
  --run-at: any                  # no start before then: a datetime, or RFC 3339 text
  --id: string                   # your own id (a UUID): submitting it again is refused, not doubled
  --parent: string               # the task it is a child of (default: the task this runs in, if any)
  --detached                     # no parent, even inside a task
  --wait                         # return the task once it has ended
] {
  if $command == null and $script == null {
    error make {msg: "orch submit: give a COMMAND (and its arguments) or --script"}
  }
  let fields = {
    id: $id
    name: $name
    command: (if $command == null { null } else { $command | into string })
    args: (if ($args | is-empty) { null } else { $args | each { into string } })
    script: $script
    priority: $priority
    max_retries: $max_retries
    timeout_s: (if $timeout == null { null } else { ($timeout / 1sec) | math ceil })
    labels: $label
    env: $environment
    dependencies: $after
    on_dependency_failure: (if $run_after_failure { "run" } else { null })
    node_labels: $node_label
    workdir: $workdir
    run_at: (if $run_at == null { null } else if ($run_at | describe) == "datetime" {
      $run_at | format date "%+"
    } else { $run_at | into string })
    # Inside a task, what it submits is its child: listed under it, and
    # cancelled with it.
    parent: (if $detached { null } else if $parent != null { $parent } else {
      $env.ORCHESTRATOR_TASK_ID? })
  }
  let body = ($fields | transpose key value | where value != null | transpose -r -d)
  let task = (call POST /tasks $body)
  if $wait { orch wait $task.id } else { $task }
}

# One task, as a record.
export def "orch task" [id: string] {
  call GET $"/tasks/(encode $id)"
}

# Tasks, newest first: searched (-q, see the README's search), filtered, paged.
export def "orch tasks" [
  --query (-q): string            # e.g. 'label:team=infra status:failed backup'
  --status: list<string>          # e.g. [Failed Cancelled]
  --depends-on: string            # the tasks that wait for this one
  --parent: string                # the children of this task
  --since: string                 # created at or after (RFC 3339 or a date)
  --until: string
  --limit: int = 100
  --offset: int = 0
  --oldest-first
  --all                           # every page (of --limit each), not only the first
] {
  # Several statuses are a search term (status= takes one).
  let statuses = if ($status | is-empty) { "" } else { $"status:($status | str join ',')" }
  let params = {
    q: ([($query | default "") $statuses] | where {|t| $t != "" } | str join " ")
    depends_on: $depends_on
    parent: $parent
    since: $since
    until: $until
    order: (if $oldest_first { "asc" } else { "desc" })
  }
  if not $all {
    return (call GET $"/tasks(query-string ($params | merge {limit: $limit, offset: $offset}))").tasks
  }
  generate {|offset|
    let page = (call GET $"/tasks(query-string ($params | merge {limit: $limit, offset: $offset}))")
    let next = $offset + ($page.tasks | length)
    if ($page.tasks | is-empty) or $next >= $page.total {
      {out: $page.tasks}
    } else {
      {out: $page.tasks, next: $next}
    }
  } $offset | flatten
}

# Blocks until the task is terminal (Completed, Failed or Cancelled); returns it.
# It listens to the event stream from the task's last stored event, so an end
# that comes between the look and the listening is not missed.
export def "orch wait" [
  id: string
  --timeout (-t): duration        # give up (an error) after this long
] {
  let seen = (call GET $"/tasks/(encode $id)/events").events
  let task = (orch task $id)
  if $task.status in $TERMINAL { return $task }
  let after = ($seen | last | get id? | default $FIRST_EVENT)
  let path = $"/events(query-string {task: $id, after: $after})"
  if $timeout == null {
    stream $path | where {|e| $e.kind? in $TERMINAL_KINDS } | first | ignore
    return (orch task $id)
  }
  # A stream's error escapes `try` once it flows, and `http get --max-time`
  # bounds the whole request: a job listens, this thread waits for its word.
  let listener = (job spawn {
    try {
      stream $path | where {|e| $e.kind? in $TERMINAL_KINDS } | first | job send 0
    } catch {|e|
      {error: $e.msg} | job send 0
    }
  })
  let heard = try { job recv --timeout $timeout } catch {
    try { job kill $listener }
    error make {msg: $"orch wait: task ($id) has not ended within ($timeout) \(it is (orch task $id | get status)\)"}
  }
  if ($heard.error? != null) {
    error make {msg: $"orch wait: the event stream failed: ($heard.error)"}
  }
  orch task $id
}

# Cancels a Pending, Queued or Running task; returns it.
export def "orch cancel" [id: string] {
  call POST $"/tasks/(encode $id)/cancel"
}

# Queues a Failed or Cancelled task again with a fresh retry budget; returns it.
export def "orch retry" [id: string] {
  call POST $"/tasks/(encode $id)/retry"
}

# A task's stored output (stdout, or stderr with --stderr), as text.
export def "orch output" [id: string, --stderr] {
  let stream_name = if $stderr { "stderr" } else { "stdout" }
  call GET $"/tasks/(encode $id)/output?stream=($stream_name)" --text
}

# The stored state changes of one task, oldest first.
export def "orch history" [id: string] {
  (call GET $"/tasks/(encode $id)/events").events
}

# The live event stream as records, for a pipeline: every task state change and
# node event as it commits. --after ID first replays the stored events after
# that one (--replay: all of them). Ends when the pipeline stops reading.
export def "orch events" [
  --task: list<string>
  --status: list<string>
  --kind: list<string>            # created queued started completed failed retry_scheduled requeued cancelled retried node_joined node_disconnected node_lost node_left
  --node: list<string>
  --label: record                 # tasks with all of these labels
  --after: string
  --since: datetime               # the stored events from then on, then live ones
  --replay                        # from the first stored event
] {
  let labels = if $label == null { null } else {
    $label | transpose k v | each {|p| $"($p.k)=($p.v)" }
  }
  let from = if $replay { $FIRST_EVENT } else if $since != null { event-id-at $since } else { $after }
  stream $"/events(query-string {task: $task, status: $status, kind: $kind, node: $node, label: $labels, after: $from})"
}

# Where tasks run: this orchestrator's slots and each worker node, as a table.
export def "orch nodes" [] {
  (call GET /nodes).nodes
}

# -- schedules ----------------------------------------------------------------

# The task of a schedule from a command line or a script, with the task flags.
def schedule-task [command: any, args: list<string>, script: any, task: any, fields: record] {
  if $task != null { return $task }
  if $command == null and $script == null {
    error make {msg: "orch schedule create: give a COMMAND (and its arguments), --script or --task"}
  }
  {
    command: (if $command == null { null } else { $command | into string })
    args: (if ($args | is-empty) { null } else { $args })
    script: $script
  } | merge $fields | transpose key value | where value != null | transpose -r -d
}

# A schedule as Nushell values: its firing times as datetimes.
def schedule-value [s: record] {
  let when = {|t| if $t == null { null } else { $t | into datetime } }
  $s
  | update next_firings { each { into datetime } }
  | update created_at { into datetime }
  | update updated_at { into datetime }
  | update next_firing { do $when $in }
  | update last_firing { do $when $in }
}

# Creates a recurring schedule: at each firing of CRON (five fields, or six
# with seconds first; @daily, @hourly, ...) in --timezone it creates one task
# from COMMAND ARGS (or --script, or a whole --task record). Returns it with
# its next firings.
#   orch schedule create nightly '0 2 * * *' backup.sh --full --timezone Europe/Berlin
export def --wrapped "orch schedule create" [
  name: string
  cron: string
  command?: any                  # the program each firing runs
  ...args: string                # its arguments
  --script (-s): string          # a Nushell script to run instead
  --task: record                 # the whole task, as POST /tasks takes it
  --workflow: record             # a workflow instead, as POST /workflows takes it ({tasks: [...]})
  --timezone (-z): string        # an IANA name (default UTC)
  --overlap: string              # while the last firing's task runs: skip (default), queue or allow
  --catch-up: string             # firings missed while no orchestrator ran: once (default) or skip
  --paused                       # made paused: no firing until `orch schedule resume`
  --task-name (-n): string
  --label (-l): record
  --max-retries (-r): int
  --timeout (-t): duration
  --priority (-p): int
] {
  let task = if $workflow != null { null } else {
    schedule-task $command $args $script $task {
      name: $task_name
      labels: $label
      max_retries: $max_retries
      timeout_s: (if $timeout == null { null } else { ($timeout / 1sec) | math ceil })
      priority: $priority
    }
  }
  let body = ({name: $name, cron: $cron, task: $task, workflow: $workflow, timezone: $timezone,
               overlap: $overlap,
               catch_up: $catch_up, paused: (if $paused { true } else { null })}
              | transpose key value | where value != null | transpose -r -d)
  schedule-value (call POST /schedules $body)
}

# The schedules, as a table with their next firings.
export def "orch schedule list" [] {
  (call GET "/schedules?limit=1000").schedules | each {|s| schedule-value $s }
}

# One schedule.
export def "orch schedule show" [name: string] {
  schedule-value (call GET $"/schedules/(encode $name)")
}

# Changes a schedule: any of cron, timezone, task, overlap, catch_up, paused.
#   orch schedule update nightly {cron: '30 2 * * *'}
export def "orch schedule update" [name: string, changes: record] {
  schedule-value (call PATCH $"/schedules/(encode $name)" $changes)
}

# No firings until resumed.
export def "orch schedule pause" [name: string] {
  orch schedule update $name {paused: true}
}

# Fires again, from the next firing after now (what was missed while paused is not made).
export def "orch schedule resume" [name: string] {
  orch schedule update $name {paused: false}
}

# Deletes a schedule; the tasks it created stay.
export def "orch schedule delete" [name: string] {
  schedule-value (call DELETE $"/schedules/(encode $name)")
}

# The tasks a schedule created, newest first.
export def "orch schedule tasks" [name: string, --limit: int = 100] {
  orch tasks --query $"label:schedule=($name)" --limit $limit
}

# -- workflows ----------------------------------------------------------------

# Submits a workflow: tasks with their keys and the keys each comes after,
# checked as a whole (a cycle is refused, naming it) and stored as one.
#   orch workflow submit [{key: fetch, command: git, args: [pull]}
#                         {key: build, after: [fetch], command: make}] --name release --wait
export def "orch workflow submit" [
  tasks: list<record>            # each a task as `orch submit` makes it, with `key` and `after`
  --name (-n): string
  --keep-going                   # a node runs after a failed dependency too (on_failure: continue)
  --wait                         # return it once every task has ended
] {
  let body = {tasks: $tasks}
    | if $name == null { $in } else { $in | insert name $name }
    | if $keep_going { $in | insert on_failure continue } else { $in }
  let wf = (call POST /workflows $body)
  if $wait { orch workflow wait $wf.id } else { $wf }
}

# A workflow: its status rolled up from its tasks', and each node's key, task id, status, after.
export def "orch workflow show" [id: string] {
  call GET $"/workflows/(encode $id)"
}

# The workflows, as a table.
export def "orch workflow list" [] {
  (call GET "/workflows?limit=1000").workflows
}

# Cancels every task of the workflow that has not ended.
export def "orch workflow cancel" [id: string] {
  call POST $"/workflows/(encode $id)/cancel"
}

# Runs the Failed and Cancelled tasks again; the Completed ones stay.
export def "orch workflow retry" [id: string] {
  call POST $"/workflows/(encode $id)/retry"
}

# The orchestrator's workflow templates (--workflow-templates): name,
# description, kind (workflow or script) and params.
export def "orch workflow templates" [] {
  (call GET /workflows/templates).templates
}

# Starts a workflow from a template with these parameter values; returns it
# (with --wait, once every task has ended).
#   orch workflow run provision-host {host: web-7, role: db} --wait
export def "orch workflow run" [
  template: string               # its name (orch workflow templates)
  params: record = {}            # the parameters' values
  --wait                         # return it once every task has ended
] {
  let wf = (call POST $"/workflows/templates/(encode $template)/run" {params: $params})
  if $wait { orch workflow wait $wf.id } else { $wf }
}

# Blocks until every task of the workflow has ended (on the event stream, as
# `orch wait`); returns the workflow.
export def "orch workflow wait" [id: string, --timeout: duration] {
  (orch workflow show $id).tasks | par-each {|t|
    if $timeout == null { orch wait $t.id } else { orch wait $t.id --timeout $timeout }
  } | ignore
  orch workflow show $id
}
