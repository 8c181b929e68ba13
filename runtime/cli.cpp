#include "runtime/cli.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "runtime/log.hpp"
#include "runtime/version.hpp"

namespace orch {

namespace {

constexpr const char* storage_help =
  "Storage backend: filesystem (default: JSON files under --data-dir), surrealdb-embedded "
  "(RocksDB under --data-dir; aliases rocksdb, embedded), surrealdb-server (a remote "
  "SurrealDB at --surrealdb-url)";

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
                 "SurrealDB password (or the SURREALDB_PASSWORD environment variable)")
    ->envname("SURREALDB_PASSWORD");
  app.add_option("--surrealdb-ca-file", s.surrealdb_ca_file,
                 "PEM file of a private CA to trust for wss:// connections");
}

} // namespace

command_line parse_command_line(int argc, char** argv) {
  command_line out;
  auto& s = out.server;
  CLI::App app{"orchestrator: a durable task orchestrator (REST API on --bind:--port).\n"
               "Without a subcommand it serves; subcommands: backup, restore.",
               "orchestrator"};
  app.set_version_flag("--version", std::string{orchestrator_version});
  app.set_config("--config", "",
                 "Read options from a TOML file (keys are the long option names, e.g. "
                 "storage-type = \"filesystem\"); command-line options override it");
  // A misspelt key in the config file is an error, not silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  add_storage_options(app, s.storage);
  app.add_option("--bind", s.bind, "Address the REST API listens on")->capture_default_str();
  app.add_option("--port", s.port, "Port the REST API listens on (0: any free port)")
    ->capture_default_str();
  app.add_option("--max-concurrent-tasks", s.max_concurrent_tasks,
                 "Tasks run at the same time (default: twice the number of CPUs)")
    ->check(CLI::Range(1u, 100000u));
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
  app.add_option("--metrics-interval-s", s.metrics_interval_s,
                 "Seconds between persisted metric snapshots (0: never)")
    ->capture_default_str();
  app.add_option("--nu-path", s.nu_path,
                 "Nushell binary for script tasks (default: `nu` on PATH)");
  app.add_option("--log-level", s.log_level, "debug, info, warn, error or off")
    ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error", "off"}))
    ->capture_default_str();
  app.add_flag("--dry-run", s.dry_run,
               "Check the configuration and the storage, print what would be used, and exit "
               "without serving");

  auto* backup = app.add_subcommand(
    "backup", "Copy a backend's data, consistently, into a new directory; works while an "
              "orchestrator runs on it (it is asked through its REST API)");
  add_storage_options(*backup, out.backup.storage);
  backup->add_option("--to", out.backup.to, "New directory for the copy")->required();
  backup->add_option("--url", out.backup.url,
                     "REST API of the orchestrator running on this data (default: the address "
                     "it wrote to <data-dir>/orchestrator.url)");

  auto* restore = app.add_subcommand(
    "restore", "Put a backup made by `orchestrator backup` in place as --data-dir (the "
               "orchestrator must not be running on it)");
  add_storage_options(*restore, out.restore.storage);
  restore->add_option("--from", out.restore.from, "Directory written by `orchestrator backup`")
    ->required();
  restore->add_flag("--force", out.restore.force,
                    "Replace existing data in --data-dir (it is moved aside, not deleted)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    out.kind = command_kind::exit;
    out.exit_code = app.exit(e);
    return out;
  }
  s.storage.type = canonical_storage_type(s.storage.type);
  out.backup.storage.type = canonical_storage_type(out.backup.storage.type);
  out.restore.storage.type = canonical_storage_type(out.restore.storage.type);
  if (backup->parsed())
    out.kind = command_kind::backup;
  else if (restore->parsed())
    out.kind = command_kind::restore;
  return out;
}

} // namespace orch
