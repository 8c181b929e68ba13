// The surrealdb-embedded backend: RocksDB used directly, in-process, with the
// seed's tables as column families (tasks, task_queue, users, audit_log,
// metrics, task_events) plus index column families. Every key starts with
// "<namespace>\0<database>\0", so several namespace/database pairs share one
// directory without seeing each other.
//
// A write round is one rocksdb::WriteBatch: the task, its queue entry, its
// event, its audit record and their index entries commit together. It is
// written without a sync; the storage actor's syncer thread syncs the WAL
// (one sync covers every round before it), and nobody is answered before.
#pragma once

#include <memory>
#include <string>

#include "backends/engine/storage_engine.hpp"

namespace orch {

struct rocks_options {
  std::string data_dir;                      // the database is data_dir/orchestrator.db
  std::string ns = "orchestrator";
  std::string db = "main";
  /// Change nothing on disk (a migration's source, a dry run's target): a
  /// missing database reads as empty, writes are refused, and a read lock on
  /// RocksDB's LOCK file keeps a running orchestrator out (and in).
  bool read_only = false;
};

/// Opens (creating if needed). Throws status_error: errc::locked when
/// another process has the database open, errc::invalid for a bad
/// namespace/database name, errc::corrupted / io_error otherwise.
std::unique_ptr<storage_engine> open_rocksdb_engine(const rocks_options& opts);

/// Where the database of a data dir lives.
std::string rocksdb_path(const std::string& data_dir);

} // namespace orch
