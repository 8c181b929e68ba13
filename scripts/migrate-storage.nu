#!/usr/bin/env nu
# migrate-storage.nu: the Nushell front end of `orchestrator migrate`.
#
#   ./scripts/migrate-storage.nu --interactive
#   ./scripts/migrate-storage.nu --from filesystem --to surrealdb-embedded --source-dir ./data --target-dir ./surrealdb-data
#   ./scripts/migrate-storage.nu validate --from filesystem --to surrealdb-embedded
#
# Every option maps 1:1 onto `orchestrator migrate` (or `orchestrator migrate
# validate`); the orchestrator's output is streamed straight through and its exit
# status becomes this script's. Passwords travel in the environment, not on the
# orchestrator's command line. Errors of this script itself (unknown option,
# missing --from/--to, unknown backend, no orchestrator binary) exit with 2;
# declining the interactive confirmation exits with 1. Run with --help for more.

const SCRIPT_DIR = path self .

const BACKENDS = [filesystem surrealdb-embedded surrealdb-server]

# Endpoint options, shared by `migrate` and `migrate validate`.
const ENDPOINT_OPTS = [
  from to source-dir target-dir
  surrealdb-url username password namespace database ca-file
  source-surrealdb-url source-username source-password source-namespace source-database source-ca-file
  target-surrealdb-url target-username target-password target-namespace target-database target-ca-file
  journal
]
# Value options only `migrate` itself takes.
const MIGRATE_ONLY_OPTS = [batch-size status since until kinds progress rollback-timeout-s]
# Flags (no value).
const COMMON_FLAGS = [verbose merge]
const MIGRATE_ONLY_FLAGS = [verify dry-run resume rollback]
const SCRIPT_FLAGS = [interactive help]
const PASSWORD_OPTS = [password source-password target-password]

const USAGE = "migrate-storage.nu: copy the orchestrator's records from one storage backend to another
(the Nushell front end of `orchestrator migrate`).

Usage:
  ./scripts/migrate-storage.nu --from BACKEND --to BACKEND [options]
  ./scripts/migrate-storage.nu validate --from BACKEND --to BACKEND [endpoint options] [--merge] [--verbose]
  ./scripts/migrate-storage.nu --interactive [options used as the wizard's defaults]
  ./scripts/migrate-storage.nu --help

Backends: filesystem (alias fs), surrealdb-embedded (aliases rocksdb, embedded),
          surrealdb-server (alias server)

Endpoints:
  --from BACKEND                 Source backend (required)
  --to BACKEND                   Target backend (required)
  --source-dir DIR               Data directory of a filesystem/embedded source (default ./data)
  --target-dir DIR               Data directory of a filesystem/embedded target (default ./data)
  --surrealdb-url URL            SurrealDB URL of a server end (ws:// or wss://)
  --username NAME                SurrealDB user of a server end (default root)
  --password PASSWORD            SurrealDB password of a server end (default: $SURREALDB_PASSWORD);
                                 handed to the orchestrator in SURREALDB_PASSWORD (an end's own
                                 password in SURREALDB_SOURCE/TARGET_PASSWORD), not on its command line
  --namespace NS                 Namespace of a SurrealDB end, server or embedded (default orchestrator)
  --database DB                  Database of a SurrealDB end, server or embedded (default main)
  --ca-file FILE                 Private CA for wss:// ends
  --source-surrealdb-url URL, --source-username NAME, --source-password PASSWORD,
  --source-namespace NS, --source-database DB, --source-ca-file FILE
                                 The same for the source only (wins over the shared option)
  --target-surrealdb-url URL, --target-username NAME, --target-password PASSWORD,
  --target-namespace NS, --target-database DB, --target-ca-file FILE
                                 The same for the target only (wins over the shared option)
  --journal FILE                 Progress journal (default: migration-journal.jsonl beside the target)

Migration (not with validate):
  --batch-size N                 Records per batch, 1-100000 (default 500)
  --verify                       After the copy, compare counts and per-record digests
  --dry-run                      Read and check everything, write nothing
  --resume                       Continue an interrupted migration from its journal
  --rollback                     Undo an interrupted migration
  --rollback-timeout-s N         How long to keep retrying a rollback (default 120)
  --status STATUS                Only tasks with this status; repeatable, or a comma list (a,b)
  --since TIME                   Only tasks created at or after this RFC 3339 time
  --until TIME                   Only tasks created before this RFC 3339 time
  --kinds a,b                    Only these record kinds: tasks, task_queue, users, audit_log,
                                 metrics, task_events, schedules, workflows
  --progress MODE                auto (a bar on a terminal), bar, lines or none (default auto)

Both:
  --merge                        Allow a target that already holds records
  --verbose                      Report every batch; also prints the command run (password masked)

This script:
  --interactive                  Ask for everything (defaults in brackets; an empty answer takes
                                 the default), show a summary, confirm, then run. Answers may
                                 also come line by line on standard input (a pipe or a file), in
                                 this order: source backend, target backend, source location,
                                 target location (a data directory; or URL, user, password,
                                 namespace, database for a server), batch size, verify (Y/n),
                                 confirm (y/N). Backends may be answered 1, 2 or 3.
  -h, --help                     This help

Options also take the form --option=value. The orchestrator is $ORCHESTRATOR_BIN, else
`orchestrator` on PATH, else $BUILD_DIR/orchestrator, else build/orchestrator (or the
./orchestrator link) of this project.
Exit status: the orchestrator's; 2 for a usage error, a missing orchestrator binary or
wizard input that ends early; 1 when the wizard's confirmation is declined (or Ctrl-C).

Examples:
  ./scripts/migrate-storage.nu --from filesystem --to surrealdb-embedded --dry-run
  ./scripts/migrate-storage.nu --from filesystem --to surrealdb-embedded --source-dir ./dev-data --target-dir ./prod-data --batch-size 100 --verify
  ./scripts/migrate-storage.nu --from surrealdb-embedded --to surrealdb-server --source-dir ./data --surrealdb-url ws://localhost:8000 --username admin --password secret
  ./scripts/migrate-storage.nu --from surrealdb-server --to filesystem --surrealdb-url ws://failing-server:8000 --username admin --password \"$PASSWORD\" --target-dir ./emergency-backup"

# -- small helpers --------------------------------------------------------------

def fail [msg: string] {
  print -e $"migrate-storage: error: ($msg)"
  print -e "Run ./scripts/migrate-storage.nu --help for the options."
  exit 2
}

# The canonical backend name, or null for an unknown one.
def canonical-backend [value: string] {
  match ($value | str trim | str lowercase) {
    "filesystem" | "fs" => "filesystem"
    "surrealdb-embedded" | "embedded" | "rocksdb" => "surrealdb-embedded"
    "surrealdb-server" | "server" => "surrealdb-server"
    _ => null
  }
}

def is-dir-backend [backend: string] { $backend != "surrealdb-server" }

# A word as a POSIX shell would need it quoted, for showing commands.
def shell-quote [word: string] {
  if ($word =~ '^[A-Za-z0-9_./:=@,+%-]+$') { $word } else {
    "'" + ($word | str replace --all "'" "'\\''") + "'"
  }
}

def valid-uint [value: string, lo: int, hi: int] {
  if not ($value =~ '^[0-9]+$') { return false }
  if ($value | str length) > 9 { return false }
  let n = ($value | into int)
  $n >= $lo and $n <= $hi
}

# -- command line ---------------------------------------------------------------

# Parses the raw arguments into {validate, values, statuses, flags}.
def parse-args [args: list<string>, validate: bool] {
  let value_opts = ($ENDPOINT_OPTS ++ $MIGRATE_ONLY_OPTS)
  let flag_opts = ($COMMON_FLAGS ++ $MIGRATE_ONLY_FLAGS ++ $SCRIPT_FLAGS)
  mut validate = $validate
  mut values = {}
  mut statuses = []
  mut flags = []
  mut i = 0
  let n = ($args | length)
  while $i < $n {
    let arg = ($args | get $i)
    $i = $i + 1
    if $arg == "-h" or $arg == "--help" {
      $flags = ($flags | append help)
      continue
    }
    if ($arg | str starts-with "--") and ($arg | str length) > 2 {
      let parts = ($arg | str substring 2.. | split row -n 2 "=")
      let name = ($parts | first)
      let inline = ($parts | get -o 1)
      if $name in $value_opts {
        let value = if $inline != null { $inline } else {
          if $i >= $n { fail $"--($name) needs a value" }
          let v = ($args | get $i)
          $i = $i + 1
          $v
        }
        if $name == "status" {
          let parts = ($value | split row "," | each {|s| $s | str trim } | where {|s| $s != "" })
          if ($parts | is-empty) { fail "--status needs a task status" }
          $statuses = ($statuses ++ $parts)
        } else {
          if $name in $values { fail $"--($name) is given more than once" }
          $values = ($values | insert $name $value)
        }
      } else if $name in $flag_opts {
        if $inline != null { fail $"--($name) takes no value" }
        if not ($name in $flags) { $flags = ($flags | append $name) }
      } else {
        fail $"unknown option --($name)"
      }
    } else if ($arg | str starts-with "-") and $arg != "-" {
      fail $"unknown option ($arg)"
    } else if $arg == "validate" and not $validate {
      $validate = true
    } else {
      fail $"unexpected argument '($arg)'"
    }
  }
  {validate: $validate, values: $values, statuses: $statuses, flags: $flags}
}

# Checks the parsed options and canonicalises the backends; fails with exit 2.
def check-options [opts: record] {
  mut values = $opts.values
  if $opts.validate {
    let bad = ($values | columns | where {|c| $c in $MIGRATE_ONLY_OPTS })
    let bad = ($bad ++ ($opts.flags | where {|f| $f in $MIGRATE_ONLY_FLAGS }))
    let bad = if ($opts.statuses | is-empty) { $bad } else { $bad | append status | uniq }
    if not ($bad | is-empty) {
      fail $"validate does not take ($bad | each {|b| '--' + $b } | str join ', ') \(only the endpoint options, --journal, --merge and --verbose)"
    }
  }
  for side in [from to] {
    let v = ($values | get -o $side)
    if $v == null {
      fail $"--($side) is missing: give --from and --to \(each one of ($BACKENDS | str join ', '))"
    }
    let c = (canonical-backend $v)
    if $c == null {
      fail $"unknown backend '($v)' for --($side) \(expected ($BACKENDS | str join ', '); aliases fs, rocksdb, embedded, server)"
    }
    $values = ($values | upsert $side $c)
  }
  let bs = ($values | get -o batch-size)
  if $bs != null and not (valid-uint $bs 1 100000) {
    fail $"--batch-size must be a whole number from 1 to 100000, not '($bs)'"
  }
  let rt = ($values | get -o rollback-timeout-s)
  if $rt != null and not (valid-uint $rt 0 999999999) {
    fail $"--rollback-timeout-s must be a whole number of seconds, not '($rt)'"
  }
  let pg = ($values | get -o progress)
  if $pg != null and not ($pg in [auto bar lines none]) {
    fail $"--progress must be auto, bar, lines or none, not '($pg)'"
  }
  for side in [source target] {
    let backend = ($values | get (if $side == "source" { "from" } else { "to" }))
    if $backend == "surrealdb-server" {
      let url = ($values | get -o $"($side)-surrealdb-url" | default ($values | get -o surrealdb-url))
      if $url == null or $url == "" {
        fail $"the ($side) is a SurrealDB server: give --surrealdb-url \(or --($side)-surrealdb-url)"
      }
    }
  }
  $opts | upsert values $values
}

# -- the orchestrator -------------------------------------------------------------

def executable [p: string] {
  ($p | path exists) and (($p | path type) == "file") and ((^test -x $p | complete).exit_code == 0)
}

def find-orchestrator [] {
  let how = "Build it with ./scripts/setup.sh (or cmake -S . -B build && cmake --build build), or set ORCHESTRATOR_BIN to the orchestrator binary."
  let from_env = ($env.ORCHESTRATOR_BIN? | default "")
  if $from_env != "" {
    if ($from_env | str contains "/") {
      if (executable $from_env) { return ($from_env | path expand) }
    } else {
      let found = (which $from_env | where type == external | get -o path.0)
      if $found != null { return $found }
    }
    let what = if ($from_env | path exists) { "which is not an executable file" } else { "which does not exist" }
    print -e $"migrate-storage: error: ORCHESTRATOR_BIN is ($from_env), ($what)."
    print -e $how
    exit 2
  }
  let on_path = (which orchestrator | where type == external | get -o path.0)
  if $on_path != null { return $on_path }
  # BUILD_DIR: the build directory scripts/setup.sh and scripts/run.sh use.
  let build_dir = ($env.BUILD_DIR? | default "")
  let candidates = (
    (if $build_dir != "" { [($build_dir | path join orchestrator | path expand)] } else { [] })
    ++ [
      ($SCRIPT_DIR | path join .. build orchestrator | path expand)
      ($SCRIPT_DIR | path join .. orchestrator | path expand)
    ]
  )
  for c in $candidates {
    if (executable $c) { return $c }
  }
  print -e "migrate-storage: error: the orchestrator binary was not found (looked at $ORCHESTRATOR_BIN, `orchestrator` on PATH,"
  print -e $"  ($candidates | str join ', '))."
  print -e $how
  exit 2
}

# The orchestrator's arguments, the masked copy to show, and its environment.
def build-command [opts: record] {
  let v = $opts.values
  mut args = (if $opts.validate { [migrate validate] } else { [migrate] })
  for name in $ENDPOINT_OPTS {
    if ($name in $PASSWORD_OPTS) { continue }
    let val = ($v | get -o $name)
    if $val != null { $args = ($args ++ [$"--($name)" $val]) }
  }
  if not $opts.validate {
    for name in $MIGRATE_ONLY_OPTS {
      if $name == "status" { continue }
      let val = ($v | get -o $name)
      if $val != null { $args = ($args ++ [$"--($name)" $val]) }
    }
    for s in $opts.statuses { $args = ($args ++ [--status $s]) }
  }
  for f in ($COMMON_FLAGS ++ $MIGRATE_ONLY_FLAGS) {
    if $f in $opts.flags { $args = ($args | append $"--($f)") }
  }
  let shown = $args
  # Passwords reach the orchestrator through its environment, never its command
  # line: the shared one in SURREALDB_PASSWORD, an end's own in
  # SURREALDB_SOURCE_PASSWORD / SURREALDB_TARGET_PASSWORD.
  mut env_add = {}
  for p in [[option variable]; [password SURREALDB_PASSWORD]
            [source-password SURREALDB_SOURCE_PASSWORD] [target-password SURREALDB_TARGET_PASSWORD]] {
    let value = ($v | get -o $p.option)
    if $value != null { $env_add = ($env_add | insert $p.variable $value) }
  }
  {args: $args, shown: $shown, env: $env_add}
}

def show-command [bin: string, cmd: record] {
  let prefix = ($cmd.env | columns | each {|name| $"($name)=**** " } | str join "")
  $prefix + ([$bin] ++ $cmd.shown | each {|w| shell-quote $w } | str join " ")
}

# Runs the orchestrator in place of this script (exec: its output goes straight to
# our stdout/stderr, signals such as Ctrl-C or SIGTERM reach it directly, and its
# exit status is the script's).
def run-orchestrator [bin: string, cmd: record] {
  load-env $cmd.env
  exec $bin ...$cmd.args
}

# -- interactive wizard ------------------------------------------------------------
#
# The questions go to stderr (stdout stays the orchestrator's), in this order:
# source backend, target backend, the source's location, the target's location
# (a data directory; or URL, user, password, namespace, database for a server),
# batch size, verify, then the summary and the confirmation.

# One line of an answer. On a terminal: nu's `input` (hidden for a secret). From
# a pipe or a file: one line read by sh's `read`, which consumes only that line;
# nu's `input` cannot be used there, it reads /dev/tty, never a piped stdin.
# The end of the input before the wizard is done exits with 2.
def read-answer [prompt: string, secret: bool] {
  if (is-terminal --stdin) {
    let answer = try {
      if $secret { input --suppress-output $prompt } else { input $prompt }
    } catch {
      print -e ""
      print -e "migrate-storage: cancelled; nothing was migrated."
      exit 1
    }
    if $secret { print "" }
    $answer
  } else {
    print -e -n $prompt
    let r = (^sh -c 'IFS= read -r line; s=$?; printf "%s" "$line"; [ "$s" -eq 0 ] || [ -n "$line" ]' | complete)
    if $r.exit_code != 0 {
      print -e ""
      print -e "migrate-storage: error: the input ended before the wizard finished; nothing was migrated."
      exit 2
    }
    let line = ($r.stdout | str trim --right --char "\r")
    # Echo the answer so a piped session reads like a transcript.
    print -e (if $secret { if $line == "" { "" } else { "****" } } else { $line })
    $line
  }
}

# Asks until the answer passes `check` (a closure: answer -> null | what is wrong).
def ask [prompt: string, default: any, check: closure, --secret, --default-label: string] {
  let label = if $default_label != null { $default_label } else if $default == null or $default == "" { "" } else { $default }
  let full = if $label == "" { $"($prompt): " } else { $"($prompt) [($label)]: " }
  loop {
    let raw = (read-answer $full $secret)
    let answer = if $secret { $raw } else { $raw | str trim }
    let answer = if $answer == "" and $default != null { $default } else { $answer }
    let problem = (do $check $answer)
    if $problem == null { return $answer }
    print -e $"  ($problem)"
  }
}

# A wizard answer for a backend: its number in the list, a name or an alias.
def answer-backend [answer: string] {
  let a = ($answer | str trim)
  if $a in ["1" "2" "3"] { $BACKENDS | get (($a | into int) - 1) } else { canonical-backend $a }
}

def ask-backend [prompt: string, default: string] {
  let b = (ask $prompt $default {|a|
    if (answer-backend $a) == null {
      $"unknown backend '($a)': please answer with a number from 1 to 3 or a backend name"
    } else { null }
  })
  answer-backend $b
}

def ask-yes-no [prompt: string, default: bool] {
  let label = if $default { "Y/n" } else { "y/N" }
  let a = (ask $prompt (if $default { "y" } else { "n" }) {|a|
    if ($a | str lowercase) in [y yes n no] { null } else { "please answer y or n" }
  } --default-label $label)
  ($a | str lowercase) in [y yes]
}

def non-empty [what: string] {
  {|a| if $a == "" { $"($what) cannot be empty" } else { null } }
}

# Asks for one end's location; returns the option values for it.
def ask-end [side: string, backend: string, v: record, other: record] {
  let Side = ($side | str capitalize)
  if (is-dir-backend $backend) {
    let dir_default = if $side == "source" {
      $v | get -o source-dir | default "./data"
    } else {
      let given = ($v | get -o target-dir)
      if $given != null { $given } else {
        let d = if $backend == "surrealdb-embedded" { "./surrealdb-data" } else { "./data" }
        if ($other.dir? == $d) { $"($d)-migrated" } else { $d }
      }
    }
    let dir = (ask $"($Side) data directory" $dir_default (non-empty "the data directory"))
    {$"($side)-dir": $dir}
  } else {
    let pick = {|name, dflt| $v | get -o $"($side)-($name)" | default ($v | get -o $name) | default ($other | get -o $name) | default $dflt }
    let url = (ask $"($Side) SurrealDB URL \(ws:// or wss://)" (do $pick surrealdb-url "ws://localhost:8000") {|a|
      if ($a =~ '^wss?://.+') { null } else { "the URL must start with ws:// or wss://" }
    })
    let user = (ask $"($Side) SurrealDB user" (do $pick username "root") (non-empty "the user"))
    # An empty answer keeps a password already known: given with --password,
    # the source's (for a second server), or $SURREALDB_PASSWORD.
    let given = ($v | get -o $"($side)-password" | default ($v | get -o password))
    let env_pw = ($env.SURREALDB_PASSWORD? | default "")
    let known = if $given != null { {value: $given, label: "as given"} } else if ($other | get -o password) != null {
      {value: $other.password, label: "same as source"}
    } else if $env_pw != "" { {value: $env_pw, label: "from SURREALDB_PASSWORD"} } else { null }
    let password = if $known == null {
      ask $"($Side) SurrealDB password" null (non-empty "the password") --secret
    } else {
      ask $"($Side) SurrealDB password" $known.value {|a| null } --secret --default-label $known.label
    }
    let ns = (ask $"($Side) SurrealDB namespace" (do $pick namespace "orchestrator") (non-empty "the namespace"))
    let db = (ask $"($Side) SurrealDB database" (do $pick database "main") (non-empty "the database"))
    {
      $"($side)-surrealdb-url": $url
      $"($side)-username": $user
      $"($side)-password": $password
      $"($side)-namespace": $ns
      $"($side)-database": $db
    }
  }
}

def describe-end [backend: string, side: string, v: record] {
  if (is-dir-backend $backend) {
    $"($backend) at ($v | get $'($side)-dir')"
  } else {
    let pw = if ($v | get -o $'($side)-password' | default "") == "" { "no password" } else { "password ****" }
    $"($backend) at ($v | get $'($side)-surrealdb-url') as ($v | get $'($side)-username'), namespace ($v | get $'($side)-namespace'), database ($v | get $'($side)-database') \(($pw))"
  }
}

def wizard [opts: record, bin: string] {
  let v = $opts.values
  print -e "Storage migration wizard: an empty answer takes the default in [brackets]."
  print -e $"Backends: 1 = filesystem, 2 = surrealdb-embedded, 3 = surrealdb-server."
  let from_default = ($v | get -o from | default "filesystem" | canonical-backend $in | default "filesystem")
  let from = (ask-backend "Source backend" $from_default)
  let to_default = match $from {
    "filesystem" => "surrealdb-embedded"
    "surrealdb-embedded" => "surrealdb-server"
    _ => "filesystem"
  }
  let to_default = ($v | get -o to | default $to_default | canonical-backend $in | default $to_default)
  let to = (ask-backend "Target backend" $to_default)
  let src = (ask-end source $from $v {})
  let other = if (is-dir-backend $from) { {dir: $src.source-dir} } else {
    {surrealdb-url: $src.source-surrealdb-url, username: $src.source-username, password: $src.source-password, namespace: $src.source-namespace, database: $src.source-database}
  }
  let tgt = (ask-end target $to $v $other)
  mut values = ($v | merge $src | merge $tgt | upsert from $from | upsert to $to)
  mut flags = $opts.flags
  if not $opts.validate {
    let bs = (ask "Batch size (records per transaction)" ($v | get -o batch-size | default "500") {|a|
      if (valid-uint $a 1 100000) { null } else { $"'($a)' is not a whole number from 1 to 100000" }
    })
    $values = ($values | upsert batch-size $bs)
    let verify = (ask-yes-no "Verify every record after the copy?" true)
    $flags = if $verify { $flags | append verify | uniq } else { $flags | where {|f| $f != "verify" } }
  }
  let opts = ($opts | upsert values $values | upsert flags $flags)
  let cmd = (build-command $opts)
  print -e ""
  print -e "Summary:"
  print -e $"  from:       (describe-end $from source $values)"
  print -e $"  to:         (describe-end $to target $values)"
  if not $opts.validate {
    print -e $"  batch size: ($values.batch-size)"
    print -e $"  verify:     (if ('verify' in $flags) { 'yes' } else { 'no' })"
    if ('dry-run' in $flags) { print -e "  dry run:    yes (nothing is written)" }
  }
  print -e $"  command:    (show-command $bin $cmd)"
  let go = (ask-yes-no (if $opts.validate { "Run this validation?" } else { "Run this migration?" }) false)
  if not $go {
    print -e "Nothing was migrated."
    exit 1
  }
  $opts
}

# -- entry points --------------------------------------------------------------------

def migrate-main [raw: list<string>, validate: bool] {
  let opts = (parse-args $raw $validate)
  if "help" in $opts.flags {
    print $USAGE
    exit 0
  }
  let interactive = ("interactive" in $opts.flags)
  if $interactive {
    # Options given with --interactive are only defaults: check what is there.
    for side in [from to] {
      let val = ($opts.values | get -o $side)
      if $val != null and (canonical-backend $val) == null {
        fail $"unknown backend '($val)' for --($side) \(expected ($BACKENDS | str join ', '))"
      }
    }
  } else {
    check-options $opts | ignore
  }
  let bin = (find-orchestrator)
  let opts = if $interactive { check-options (wizard $opts $bin) } else { check-options $opts }
  let cmd = (build-command $opts)
  if "verbose" in $opts.flags {
    print -e $"+ (show-command $bin $cmd)"
  }
  run-orchestrator $bin $cmd
}

# Copy the orchestrator's records between storage backends (see --help).
def --wrapped main [...args: string] {
  migrate-main $args false
}

# Check both ends without writing anything (see --help).
def --wrapped "main validate" [...args: string] {
  migrate-main $args true
}
