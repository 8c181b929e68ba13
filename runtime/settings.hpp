// Everything the command line and the config file can set, as plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace orch {

/// Where records live: one backend and how to reach it.
struct storage_settings {
  std::string type = "filesystem";           // filesystem | surrealdb-embedded | surrealdb-server
  std::string data_dir = "./data";
  std::string surrealdb_url;                 // ws://host:port or wss://host:port
  std::string surrealdb_namespace = "orchestrator";
  std::string surrealdb_database = "main";
  std::string surrealdb_username = "root";
  std::string surrealdb_password;            // or SURREALDB_PASSWORD
  std::string surrealdb_ca_file;             // private CA for wss://
  /// Open without changing anything (a migration's source, a dry run's
  /// target): writes are refused, nothing is created on disk or defined on
  /// the server (SurrealDB's `use` still creates an empty namespace/database).
  bool read_only = false;
};

struct server_settings {
  storage_settings storage;
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  uint32_t max_concurrent_tasks = 0;         // 0: twice the number of CPUs
  uint32_t lease_s = 30;
  uint32_t retry_backoff_ms = 1000;
  uint32_t retry_backoff_max_ms = 300000;
  uint32_t shutdown_grace_s = 10;
  uint64_t max_body_bytes = 1 << 20;
  uint64_t max_output_bytes = 1 << 20;
  uint32_t http_threads = 2;
  uint32_t metrics_interval_s = 60;
  std::string nu_path;
  std::string log_level = "info";
  bool dry_run = false;
};

/// `orchestrator backup`: a consistent copy of a backend into a new directory.
struct backup_settings {
  storage_settings storage;
  std::string to;                            // new directory
  std::string url;                           // a running orchestrator to ask (optional)
};

/// `orchestrator restore`: put a backup in place as a backend's data.
struct restore_settings {
  storage_settings storage;                  // where to restore to
  std::string from;                          // a directory made by `backup`
  bool force = false;                        // replace existing data (kept aside)
};

/// `orchestrator migrate`: copy every record from one backend to another.
struct migrate_settings {
  storage_settings source;
  storage_settings target;
  uint32_t batch_size = 500;
  bool verify = false;                       // compare source and target afterwards
  bool dry_run = false;                      // read and check everything, write nothing
  bool validate_only = false;                // `migrate validate`: check both ends only
  bool verbose = false;
  bool merge = false;                        // the target may hold records already
  bool resume = false;                       // continue an interrupted run
  bool rollback = false;                     // undo an interrupted run
  std::vector<std::string> statuses;         // tasks with these statuses only
  std::string since;                         // tasks created at or after (RFC 3339)
  std::string until;                         // tasks created before (RFC 3339)
  std::string kinds;                         // comma-separated record kinds; empty: all
  std::string journal;                       // progress journal; default beside the target
  std::string progress = "auto";             // auto, bar, lines, none
  uint32_t rollback_timeout_s = 120;         // how long to retry an unreachable target
};

/// Canonical backend name for a --storage-type value (accepting the aliases
/// rocksdb/embedded and server), or "" if unknown.
std::string canonical_storage_type(const std::string& value);

} // namespace orch
