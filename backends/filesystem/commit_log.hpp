// The commit point of the filesystem backend's group commits: one line per
// round in `queue.rkvs/commit.log`, appended and fdatasync'ed once every new
// file and segment line of the round is durable and before any of them is
// published. A round is committed exactly when its line is on disk, so a
// crash anywhere leaves a round wholly there or wholly absent:
//  - before the line: its temp files are removed and the segment lines it
//    appended are cut off (each segment is cut back to the size the log last
//    committed for it);
//  - after the line: start-up finishes its renames and deletions (both are
//    idempotent) before anything is read.
// Each line holds the round's number, the keys it deletes and the new size of
// every segment it appended to; a checkpoint line (the first line of the
// file, rewritten at start-up and whenever the log grows large) holds the
// size of every segment.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backends/filesystem/file_io.hpp"
#include "runtime/core/records.hpp"

namespace orch::fs {

/// Segment file name -> size, per time-ordered record kind.
using segment_sizes = std::map<record_kind, std::map<std::string, uint64_t>>;
/// Keys whose files a round deletes, per file kind.
using deleted_keys = std::map<record_kind, std::vector<std::string>>;

/// What the log says was committed.
struct committed_rounds {
  /// False: no log (a new directory, or one written before the log
  /// existed) or nothing in it readable: the files are taken as found.
  bool present = false;
  /// The log starts with a checkpoint, so a segment it never names was
  /// created by a round that never committed.
  bool complete = false;
  uint64_t last_round = 0;
  deleted_keys last_deletes;                 // of last_round only
  segment_sizes sizes;                       // committed size of each named segment
};

class commit_log {
public:
  /// Reads the log at `path`; an unfinished last line (a round cut off
  /// before its commit) is ignored, a damaged line in the middle is
  /// reported in `notes` and skipped. Never throws for the content.
  static committed_rounds read(const std::string& path, std::vector<std::string>& notes);

  /// Starts a fresh log at `path` with a checkpoint: written beside it and
  /// renamed over it, so the old log stays whole until the new one is.
  commit_log(std::string path, uint64_t last_round, const segment_sizes& all);
  commit_log(const commit_log&) = delete;
  commit_log& operator=(const commit_log&) = delete;

  /// The commit point of round `round`; durable when this returns. On
  /// failure the log is cut back to where it was and status_error thrown:
  /// the round did not commit.
  void commit(uint64_t round, const deleted_keys& deletes, const segment_sizes& touched);

  /// Past its limit: time to replace the log with a checkpoint (asked
  /// first, so the caller gathers every segment's size only then).
  bool large() const;
  /// Replaces the log with one line: every round up to `last_round` is done,
  /// and the segments have these sizes.
  void checkpoint(uint64_t last_round, const segment_sizes& all);

private:
  void append(const std::string& line);

  std::string path_;
  unique_fd fd_;
  uint64_t size_ = 0;
};

} // namespace orch::fs
