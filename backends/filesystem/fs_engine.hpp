// The filesystem backend: human-readable JSON under DATA/queue.rkvs/.
//
//   queue.rkvs/LOCK               flock held while a process uses the directory
//   queue.rkvs/tasks/<uuid>.json  one file per task
//   queue.rkvs/queue/<uuid>.json  one file per queue entry (key: task id)
//   queue.rkvs/users/<name>.json  one file per user
//   queue.rkvs/audit/*.jsonl      audit log segments (segment_log)
//   queue.rkvs/metrics/*.jsonl    metric sample segments
//   queue.rkvs/events/*.jsonl     task event segments
//   queue.rkvs/corrupted/         unreadable files moved aside at start-up
//
// Every file write is temp file + fsync + rename + directory fsync; a group
// commit does each phase for all its files at once (fsyncs in parallel).
// There are no cross-file transactions: what a crash between two renames can
// leave out of step is repaired at start-up by backends/recovery.hpp.
#pragma once

#include <memory>
#include <string>

#include "backends/engine/storage_engine.hpp"

namespace orch {

/// Opens (creating if needed) the filesystem backend under `data_dir`.
/// Throws status_error: errc::locked if another process uses it, io_error
/// with the path and the fix for permission problems.
///
/// Read-only (a migration's source, a dry run's target): nothing on disk is
/// created or changed (missing data reads as empty; a damaged file is an
/// error instead of being moved aside), a shared lock keeps a running
/// orchestrator out, and every write is refused.
std::unique_ptr<storage_engine> open_filesystem_engine(const std::string& data_dir,
                                                       bool read_only = false);

} // namespace orch
