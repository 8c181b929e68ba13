#include "runtime/app/cli.hpp"

#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "runtime/auth/roles.hpp"
#include "runtime/core/log.hpp"
#include "runtime/app/cli_options.hpp"
#include "runtime/app/version.hpp"
#include "runtime/app/worker_command.hpp"

namespace orch {

namespace {

constexpr const char* storage_help =
  "Storage backend: filesystem (default: JSON files under --data-dir), surrealdb-embedded "
  "(RocksDB under --data-dir; aliases rocksdb, embedded), surrealdb-server (a remote "
  "SurrealDB at --surrealdb-url)";

/// `--NAME FILE`: the secret is the file's first line, so it need not
/// appear in the process list or the environment.
void add_secret_file(CLI::App& app, const std::string& name, std::string& secret,
                     const std::string& help) {
  app.add_option_function<std::string>(
    name,
    [&secret, name](const std::string& path) {
      std::ifstream in{path};
      std::string line;
      if (!in || !std::getline(in, line))
        throw CLI::ValidationError(name, "cannot read a first line from " + path);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      secret = line;
    },
    help);
}

void add_storage_options(CLI::App& app, storage_settings& s) {
  // The type name lists the choices, so `--help | grep storage-type` shows them.
  app.add_option("--storage-type", s.type, storage_help)
    ->type_name("filesystem|surrealdb-embedded|surrealdb-server")
    ->check([](const std::string& v) -> std::string {
      if (canonical_storage_type(v).empty())
        return "unknown storage type '" + v
               + "' (expected filesystem, surrealdb-embedded or surrealdb-server)";
      return {};
    })
    ->capture_default_str();
  app.add_option("--data-dir", s.data_dir,
                 "Data directory of the filesystem and surrealdb-embedded backends")
    ->capture_default_str();
  app.add_option("--surrealdb-url", s.surrealdb_url,
                 "SurrealDB server URL, ws://host:port or wss://host:port");
  app.add_option("--surrealdb-namespace", s.surrealdb_namespace,
                 "SurrealDB namespace (surrealdb-embedded and surrealdb-server)")
    ->capture_default_str();
  app.add_option("--surrealdb-database", s.surrealdb_database,
                 "SurrealDB database (surrealdb-embedded and surrealdb-server)")
    ->capture_default_str();
  app.add_option("--surrealdb-username", s.surrealdb_username, "SurrealDB user")
    ->capture_default_str();
  app.add_option("--surrealdb-password", s.surrealdb_password,
                 "SurrealDB password (or the SURREALDB_PASSWORD environment variable, or "
                 "--surrealdb-password-file)")
    ->envname("SURREALDB_PASSWORD");
  add_secret_file(app, "--surrealdb-password-file", s.surrealdb_password,
                  "File whose first line is the SurrealDB password");
  app.add_option("--surrealdb-ca-file", s.surrealdb_ca_file,
                 "PEM file of a private CA to trust for wss:// connections");
}

/// The endpoint options of `migrate` as given: shared ones (for whichever end
/// needs them) and --source-/--target- ones that win over them.
struct endpoint_options {
  std::string from, to;
  std::string source_dir = "./data", target_dir = "./data";
  std::string url, username, password, ns, db, ca_file;
  std::string source_url, source_username, source_password, source_ns, source_db, source_ca_file;
  std::string target_url, target_username, target_password, target_ns, target_db, target_ca_file;
};

CLI::App* add_migrate_options(CLI::App& cmd, migrate_settings& m, endpoint_options& e) {
  auto backend_check = [](const std::string& v) -> std::string {
    if (canonical_storage_type(v).empty())
      return "unknown backend '" + v
             + "' (expected filesystem, surrealdb-embedded or surrealdb-server)";
    return {};
  };
  auto add_common = [&](CLI::App& c) {
    c.add_option("--from", e.from, "Source backend")
      ->type_name("filesystem|surrealdb-embedded|surrealdb-server")
      ->check(backend_check)
      ->required();
    c.add_option("--to", e.to, "Target backend")
      ->type_name("filesystem|surrealdb-embedded|surrealdb-server")
      ->check(backend_check)
      ->required();
    c.add_option("--source-dir", e.source_dir, "Data directory of a filesystem/embedded source")
      ->capture_default_str();
    c.add_option("--target-dir", e.target_dir, "Data directory of a filesystem/embedded target")
      ->capture_default_str();
    c.add_option("--surrealdb-url", e.url, "SurrealDB URL of a server end (ws:// or wss://)");
    c.add_option("--username", e.username, "SurrealDB user of a server end (default root)");
    c.add_option("--password", e.password,
                 "SurrealDB password of a server end (or SURREALDB_PASSWORD)")
      ->envname("SURREALDB_PASSWORD");
    add_secret_file(c, "--password-file", e.password,
                    "File whose first line is the password of a server end");
    c.add_option("--namespace", e.ns,
                 "Namespace of the server end(s); with no server end, of the embedded end(s) "
                 "(default orchestrator)");
    c.add_option("--database", e.db,
                 "Database of the server end(s); with no server end, of the embedded end(s) "
                 "(default main)");
    c.add_option("--ca-file", e.ca_file, "Private CA for wss:// ends");
    for (auto side : {"source", "target"}) {
      bool src = std::string{side} == "source";
      auto pre = std::string{"--"} + side + "-";
      auto what = std::string{" of the "} + side + " (wins over the shared option)";
      c.add_option(pre + "surrealdb-url", src ? e.source_url : e.target_url, "SurrealDB URL" + what);
      c.add_option(pre + "username", src ? e.source_username : e.target_username, "User" + what);
      // Passwords may come from the environment, so they stay off process listings.
      c.add_option(pre + "password", src ? e.source_password : e.target_password,
                   "Password" + what + " (or SURREALDB_" + (src ? "SOURCE" : "TARGET")
                     + "_PASSWORD)")
        ->envname(src ? "SURREALDB_SOURCE_PASSWORD" : "SURREALDB_TARGET_PASSWORD");
      add_secret_file(c, pre + "password-file", src ? e.source_password : e.target_password,
                      "File whose first line is the password" + what);
      c.add_option(pre + "namespace", src ? e.source_ns : e.target_ns, "Namespace" + what);
      c.add_option(pre + "database", src ? e.source_db : e.target_db, "Database" + what);
      c.add_option(pre + "ca-file", src ? e.source_ca_file : e.target_ca_file, "CA file" + what);
    }
    c.add_option("--journal", m.journal,
                 "Progress journal (default: migration-journal.jsonl beside the target: in "
                 "--target-dir, or in the current directory for a server target)");
    c.add_flag("--verbose", m.verbose, "Report every batch");
  };
  add_common(cmd);
  cmd.add_option("--batch-size", m.batch_size, "Records per batch (one transaction each)")
    ->check(CLI::Range(1u, 100000u))
    ->capture_default_str();
  cmd.add_flag("--verify", m.verify,
               "After the copy, compare counts and per-record digests of source and target");
  cmd.add_flag("--dry-run", m.dry_run, "Read and check everything, write nothing");
  cmd.add_flag("--merge", m.merge, "Allow a target that already holds records");
  cmd.add_flag("--resume", m.resume, "Continue an interrupted migration from its journal");
  cmd.add_flag("--rollback", m.rollback,
               "Undo an interrupted migration: the target returns to its state before it");
  cmd.add_option("--status", m.filter.statuses,
                 "Only tasks with this status (repeatable); their queue entries and events "
                 "follow them");
  cmd.add_option("--since", m.filter.since, "Only tasks created at or after this RFC 3339 time");
  cmd.add_option("--until", m.filter.until, "Only tasks created before this RFC 3339 time");
  cmd.add_option("--kinds", m.filter.kinds,
                 "Only these record kinds, comma-separated: tasks, task_queue, users, "
                 "audit_log, metrics, task_events, schedules, workflows");
  cmd.add_option("--progress", m.progress, "auto (a bar on a terminal), bar, lines or none")
    ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
    ->capture_default_str();
  cmd.add_option("--rollback-timeout-s", m.rollback_timeout_s,
                 "How long to keep retrying a rollback while the target is unreachable")
    ->capture_default_str();
  // `migrate validate --from A --to B ...`: the options after `validate` are
  // migrate's own (fall through), so both spell the ends the same way.
  auto* validate = cmd.add_subcommand(
    "validate", "Check both ends: reachable, credentials valid, target writable and empty "
                "(unless --merge), enough disk; write nothing. Takes migrate's options");
  validate->fallthrough();
  return validate;
}

/// Builds both endpoints from the options; "" or what is wrong.
std::string finish_migrate_settings(migrate_settings& m, const endpoint_options& e) {
  auto pick = [](const std::string& specific, const std::string& shared, const std::string& dflt) {
    return !specific.empty() ? specific : !shared.empty() ? shared : dflt;
  };
  // The shared SurrealDB options describe the server: with a server end they
  // are its options (an embedded end keeps its own defaults, as in the seed's
  // "embedded to server with --namespace production"); with no server end,
  // --namespace/--database select the embedded ends' namespace/database.
  bool any_server = canonical_storage_type(e.from) == "surrealdb-server"
                    || canonical_storage_type(e.to) == "surrealdb-server";
  auto build = [&](bool src) {
    storage_settings s;
    s.type = canonical_storage_type(src ? e.from : e.to);
    bool shared_apply = s.type == "surrealdb-server" || !any_server;
    auto shared = [&](const std::string& v) { return shared_apply ? v : std::string{}; };
    s.data_dir = src ? e.source_dir : e.target_dir;
    s.surrealdb_url = pick(src ? e.source_url : e.target_url, shared(e.url), "");
    s.surrealdb_username =
      pick(src ? e.source_username : e.target_username, shared(e.username), "root");
    s.surrealdb_password =
      pick(src ? e.source_password : e.target_password, shared(e.password), "");
    s.surrealdb_namespace = pick(src ? e.source_ns : e.target_ns, shared(e.ns), "orchestrator");
    s.surrealdb_database = pick(src ? e.source_db : e.target_db, shared(e.db), "main");
    s.surrealdb_ca_file = pick(src ? e.source_ca_file : e.target_ca_file, shared(e.ca_file), "");
    return s;
  };
  m.source = build(true);
  m.target = build(false);
  for (auto* s : {&m.source, &m.target})
    if (s->type == "surrealdb-server" && s->surrealdb_url.empty())
      return std::string{"the "} + (s == &m.source ? "source" : "target")
             + " is a SurrealDB server: give --surrealdb-url (or --"
             + (s == &m.source ? "source" : "target") + "-surrealdb-url)";
  return {};
}

/// "90", "90s", "15m", "12h", "7d" as seconds; "" or what is wrong.
std::string parse_duration(const std::string& text, uint32_t& seconds) {
  if (text.empty())
    return "give a duration such as 3600, 90s, 15m, 12h or 7d";
  uint64_t unit = 1;
  auto digits = text;
  switch (text.back()) {
    case 's': unit = 1; digits.pop_back(); break;
    case 'm': unit = 60; digits.pop_back(); break;
    case 'h': unit = 3600; digits.pop_back(); break;
    case 'd': unit = 86400; digits.pop_back(); break;
    default: break;
  }
  if (digits.empty() || digits.size() > 9
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return "'" + text + "' is not a duration (such as 3600, 90s, 15m, 12h or 7d)";
  auto value = std::stoull(digits) * unit;
  if (value < 1 || value > 366ull * 86400)
    return "'" + text + "' is out of range (1 s to 366 d)";
  seconds = static_cast<uint32_t>(value);
  return {};
}

/// Options of a command that may have to ask a running orchestrator.
void add_remote_options(CLI::App& cmd, std::string& url, std::string& token) {
  cmd.add_option("--url", url,
                 "REST API of the orchestrator running on this data (default: the address "
                 "it wrote to <data-dir>/orchestrator.url)");
  cmd.add_option("--token", token,
                 "Bearer token for that orchestrator when it requires one (or "
                 "ORCHESTRATOR_TOKEN; see also --token-file)")
    ->envname("ORCHESTRATOR_TOKEN");
  add_secret_file(cmd, "--token-file", token,
                  "File whose first line is the bearer token (kept out of the process list)");
}

void add_user_command(CLI::App& app, user_settings& u) {
  auto* cmd = app.add_subcommand(
    "user", "Manage the REST API's users: add, list, disable, enable, passwd, roles, remove. "
            "Works on the storage directly, or through the running orchestrator's API when it "
            "holds the data");
  cmd->require_subcommand(1);
  add_storage_options(*cmd, u.storage);
  add_remote_options(*cmd, u.url, u.token);
  auto verb = [&](const char* name, const char* help, bool needs_name) {
    auto* c = cmd->add_subcommand(name, help);
    c->callback([&u, name] { u.action = name; });
    c->fallthrough();  // the storage and remote options may come after the verb
    if (needs_name)
      c->add_option("name", u.name, "Username")->required();
    return c;
  };
  auto role_check = [](const std::string& v) -> std::string {
    return auth::check_role_names({v});
  };
  auto* add = verb("add", "Create a user (the password is read from stdin)", true);
  add->add_option("--role", u.roles, "admin, operator, viewer or worker (repeatable)")
    ->required()
    ->check(role_check);
  add->add_flag("--password-stdin", u.password_stdin,
                "Read the password from the first line of stdin (required: passwords never go "
                "on the command line)")
    ->required();
  verb("list", "List users, their roles and state", false);
  verb("disable", "Disable a user: every sign-in ends, no token of it is accepted", true);
  verb("enable", "Enable a disabled user", true);
  auto* passwd = verb("passwd", "Set a new password (read from stdin); ends the user's sign-ins", true);
  passwd->add_flag("--password-stdin", u.password_stdin, "Read the password from stdin")
    ->required();
  auto* roles = verb("roles", "Replace a user's roles; ends the user's sign-ins", true);
  roles->add_option("--role", u.roles, "admin, operator, viewer or worker (repeatable)")
    ->required()
    ->check(role_check);
  verb("remove", "Delete a user", true);
}

} // namespace

/// The server's options (the command without a subcommand): an option table.
void add_server_options(CLI::App& app, server_settings& s) {
  add_storage_options(app, s.storage);
  app.add_option_function<uint64_t>(
       "--min-free-space-mb",
       [&s](uint64_t mb) { s.storage.min_free_bytes = mb << 20; },
       "Refuse writes (507) while less than this is free where --data-dir is (filesystem and "
       "surrealdb-embedded; 0: never), so the database never meets a full disk mid-write")
    ->default_str("32")
    ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
  app.add_option("--bind", s.bind, "Address the REST API listens on")->capture_default_str();
  app.add_option("--port", s.port, "Port the REST API listens on (0: any free port)")
    ->capture_default_str();
  app.add_option("--max-concurrent-tasks", s.max_concurrent_tasks,
                 "Tasks run at the same time (default: twice the number of CPUs; 0: none "
                 "here, the instance only stores and serves while others run the tasks)")
    ->check(CLI::Range(0u, 100000u));
  app.add_option("--lease-s", s.lease_s,
                 "Seconds a claim on a running task lasts without renewal")
    ->check(CLI::Range(3u, 86400u))
    ->capture_default_str();
  app.add_option("--retry-backoff-ms", s.retry_backoff_ms,
                 "Delay before the first retry; doubles with every retry")
    ->check(CLI::Range(0u, 86400000u))
    ->capture_default_str();
  app.add_option("--retry-backoff-max-ms", s.retry_backoff_max_ms, "Longest delay between retries")
    ->check(CLI::Range(0u, 86400000u))
    ->capture_default_str();
  app.add_option("--shutdown-grace-s", s.shutdown_grace_s,
                 "On SIGINT/SIGTERM, seconds running tasks get to finish before they are "
                 "stopped and queued again")
    ->capture_default_str();
  app.add_option("--max-body-bytes", s.max_body_bytes, "Largest request body accepted (413 above)")
    ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 30))
    ->capture_default_str();
  app.add_option("--max-output-bytes", s.max_output_bytes,
                 "Captured stdout and stderr per attempt and stream; the rest is discarded "
                 "with a marker")
    ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30))
    ->capture_default_str();
  app.add_option("--http-threads", s.http_threads, "Threads serving HTTP")
    ->check(CLI::Range(1u, 64u))
    ->capture_default_str();
  app.add_option("--max-connections", s.max_connections,
                 "Open HTTP connections at most; one more is answered 503 and closed (also "
                 "bounded by the process's open-file limit)")
    ->check(CLI::Range(1u, 1000000u))
    ->capture_default_str();
  app.add_option("--stream-buffer-bytes", s.stream_buffer_bytes,
                 "Bytes an event stream (GET /events) may hold for a client that reads slower "
                 "than events come; beyond it the client is cut off (it resumes with "
                 "Last-Event-ID), so it never slows the others")
    ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 30))
    ->capture_default_str();
  app.add_option("--request-timeout-s", s.request_timeout_s,
                 "Seconds from a request's first byte to its last (slower clients get 408), and "
                 "for a client to take its answer")
    ->check(CLI::Range(1u, 3600u))
    ->capture_default_str();
  app.add_option("--idle-timeout-s", s.idle_timeout_s,
                 "Seconds a keep-alive connection may wait for its next request")
    ->check(CLI::Range(1u, 86400u))
    ->capture_default_str();
  app.add_option("--metrics-interval-s", s.metrics_interval_s,
                 "Seconds between persisted metric snapshots (0: never)")
    ->capture_default_str();
  app.add_option("--schedule-misfire-grace-s", s.schedule_misfire_grace_s,
                 "Seconds after which a schedule's firing that was not made (no orchestrator "
                 "ran) counts as missed: schedules with catch_up=skip pass it over")
    ->check(CLI::Range(1u, 86400u))
    ->capture_default_str();
  app.add_option("--nu-path", s.nu_path,
                 "Nushell binary for script tasks (default: `nu` on PATH)");
  app.add_option("--log-level", s.log_level, "debug, info, warn, error or off")
    ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error", "off"}))
    ->capture_default_str();
  app.add_flag("--dry-run", s.dry_run,
               "Check the configuration and the storage, print what would be used, and exit "
               "without serving");
  app.add_option("--storage-timeout-s", s.storage_timeout_s,
                 "Seconds one request to storage may take before it fails (503)")
    ->check(CLI::Range(1u, 3600u))
    ->capture_default_str();
  app.add_option("--auth", s.auth,
                 "required: a bearer token on every route but /health and /auth/login; "
                 "disabled: none (only with a loopback --bind); auto: required unless --bind is "
                 "a loopback address")
    ->check(CLI::IsMember({"required", "disabled", "auto"}))
    ->capture_default_str();
  app.add_option_function<std::string>(
       "--token-ttl",
       [&s](const std::string& v) {
         if (auto err = parse_duration(v, s.token_ttl_s); !err.empty())
           throw CLI::ValidationError("--token-ttl", err);
       },
       "How long a sign-in (POST /auth/login) lasts: seconds, or 90s, 15m, 12h, 7d")
    ->default_str("12h");
  app.add_option("--tls-cert", s.tls_cert,
                 "Serve HTTPS (TLS 1.2+) with this PEM certificate chain; with --tls-key; both "
                 "are read again on SIGHUP")
    ->check(CLI::ExistingFile);
  app.add_option("--tls-key", s.tls_key, "The PEM private key of --tls-cert")
    ->check(CLI::ExistingFile);
  app.add_flag("--insecure-http", s.insecure_http,
               "Serve plain HTTP on a non-loopback --bind (only behind a proxy that terminates "
               "TLS): passwords and tokens would otherwise cross the network in clear");
  app.add_option("--backup-dir", s.backup_dir,
                 "Where POST /admin/backup writes its copies (default: <data-dir>/backups)");
  app.add_option("--public-url", s.public_url,
                 "How tasks reach this orchestrator's API: ORCHESTRATOR_URL in each task's "
                 "environment, also on worker nodes (default: http(s)://<--bind>:<--port>, a "
                 "wildcard --bind as loopback)")
    ->check([](const std::string& v) {
      return v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0
               ? std::string{}
               : std::string{"--public-url must start with http:// or https://"};
    });
  app.add_option("--task-token-key-file", s.task_token_key_file,
                 "The key that signs each running task's ORCHESTRATOR_TOKEN (good only for its "
                 "own child tasks, while it runs); made here if absent. Instances behind one "
                 "--public-url share it (default: a random key per process)");
  app.add_option("--workflow-templates", s.workflow_templates,
                 "Directory of workflow templates (NAME.json: a parameterised graph or Nushell "
                 "script) that POST /workflows/templates/{name}/run starts, e.g. "
                 "config/workflows; each is checked at start-up");
  app.add_option("--node-port", s.node_port,
                 "Port worker nodes (`orchestrator worker --connect`) register on (0: any free "
                 "port; default: no worker nodes)")
    ->check(CLI::Range(0, 65535));
  app.add_option("--node-bind", s.node_bind, "Address --node-port listens on")
    ->capture_default_str();
  app.add_option("--node-timeout", s.node_timeout_s,
                 "Seconds a worker node may go unheard of (dead, cut off, frozen) before the "
                 "attempts it runs are taken back and run again elsewhere")
    ->check(CLI::Range(2u, 3600u))
    ->capture_default_str();
  add_node_tls_options(app, s.node_tls, "every worker's");
  add_labels_option(app, s.labels,
                    "Labels of this instance's own task slots, k=v,k2=v2: tasks with "
                    "\"node_labels\" run only on nodes (this one or workers) that have them all");
  app.add_flag("--insecure-nodes", s.insecure_nodes,
               "Accept worker nodes on a non-loopback --node-bind without TLS: tasks, their "
               "output and environment would cross the network in clear");
  // For tests: POST /debug/fail/{component} makes a component fail as in a
  // crash. Not in --help: nobody should run a server with it.
  app.add_flag("--fault-injection", s.fault_injection)->group("");
  // Hidden, for bench_api's slots shape: the orchestration of an attempt
  // (claim, start, outcome) measured without the cost of a process.
  app.add_flag("--bench-noop-attempts", s.bench_noop_attempts)->group("");
}

command_line parse_command_line(int argc, char** argv) {
  return parse_command_line(argc, argv, std::cout, std::cerr);
}

command_line parse_command_line(int argc, char** argv, std::ostream& text, std::ostream& errors) {
  command_line out;
  auto& s = out.server;
  CLI::App app{"orchestrator: a durable task orchestrator (REST API on --bind:--port).\n"
               "Without a subcommand it serves; subcommands: migrate, backup, restore, user, "
               "worker.",
               "orchestrator"};
  app.set_version_flag("--version", std::string{orchestrator_version});
  app.set_config("--config", "",
                 "Read options from a TOML file (keys are the long option names, e.g. "
                 "storage-type = \"filesystem\"); command-line options override it");
  // A misspelt key in the config file is an error, not silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  add_server_options(app, s);

  auto* backup = app.add_subcommand(
    "backup", "Copy a backend's data, consistently, into a new directory; works while an "
              "orchestrator runs on it (it is asked through its REST API)");
  add_storage_options(*backup, out.backup.storage);
  backup->add_option("--to", out.backup.to, "New directory for the copy")->required();
  add_remote_options(*backup, out.backup.url, out.backup.token);

  auto* restore = app.add_subcommand(
    "restore", "Put a backup made by `orchestrator backup` in place as --data-dir (the "
               "orchestrator must not be running on it)");
  add_storage_options(*restore, out.restore.storage);
  restore->add_option("--from", out.restore.from, "Directory written by `orchestrator backup`")
    ->required();
  restore->add_flag("--force", out.restore.force,
                    "Replace existing data in --data-dir (it is moved aside, not deleted)");
  add_user_command(app, out.user);
  auto* worker = add_worker_command(app, out.worker);
  auto* migrate = app.add_subcommand(
    "migrate", "Copy every record (tasks, queue entries, users, audit records, metrics, task "
               "events) from one backend to another, in batches, with progress; see also "
               "`migrate validate`");
  endpoint_options migrate_endpoints;
  auto* validate = add_migrate_options(*migrate, out.migrate, migrate_endpoints);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    out.kind = command_kind::exit;
    // --help and --version end well; every other parse error is a usage
    // error, exit status 2 like the rest of the command's "not as given".
    out.exit_code = app.exit(e, text, errors) == 0 ? 0 : 2;
    return out;
  }
  s.storage.type = canonical_storage_type(s.storage.type);
  out.backup.storage.type = canonical_storage_type(out.backup.storage.type);
  out.restore.storage.type = canonical_storage_type(out.restore.storage.type);
  if (migrate->parsed()) {
    out.kind = command_kind::migrate;
    out.migrate.validate_only = validate->parsed();
    if (auto err = finish_migrate_settings(out.migrate, migrate_endpoints); !err.empty()) {
      errors << "error: " << err << "\nRun with --help for more information.\n";
      out.kind = command_kind::exit;
      out.exit_code = 2;
    }
  } else if (backup->parsed())
    out.kind = command_kind::backup;
  else if (restore->parsed())
    out.kind = command_kind::restore;
  else if (worker->parsed()) {
    out.kind = command_kind::worker;
    if (auto err = finish_worker_settings(out.worker); !err.empty()) {
      errors << "error: " << err << "\nRun with --help for more information.\n";
      out.kind = command_kind::exit;
      out.exit_code = 2;
    }
  } else if (!out.user.action.empty()) {
    out.kind = command_kind::user;
    out.user.storage.type = canonical_storage_type(out.user.storage.type);
  }
  return out;
}

} // namespace orch
