// Which backend holds the records and how to reach it, as plain data: what
// the command line and the config file say, and what open_storage() opens.
#pragma once

#include <cstdint>
#include <string>

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
  /// Local backends refuse writes (507) while less than this is free on the
  /// data directory's filesystem (--min-free-space-mb).
  uint64_t min_free_bytes = uint64_t{32} << 20;
};

/// Canonical backend name for a --storage-type value (accepting the aliases
/// rocksdb/embedded and server), or "" if unknown.
std::string canonical_storage_type(const std::string& value);

} // namespace orch
