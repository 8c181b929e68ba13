// The filesystem backend's write-ahead log: `queue.rkvs/commit.log`. A
// round of a group commit is one block appended and fdatasync'ed: a header
// line (the round's number, the keys it deletes, the new size of every
// segment it appends to, and the layout of its data) followed by the data
// itself: the canonical JSON of every record file it writes and the lines it
// appends to each segment, checked by a CRC-32. A round is committed exactly
// when its block is on disk; only then are its files written (temp file,
// rename) and its lines appended, without fsync: one sync per round.
// After an unclean stop, start-up writes every round since the last
// checkpoint again from the log (fs_replay.cpp), so a crash anywhere, even a
// power loss that drops files the page cache held, leaves a round wholly
// there or wholly absent. A block cut off at the end never committed (and
// was never acknowledged): it is ignored.
// The first line is a checkpoint: every round up to it is durable in the
// files themselves (a syncfs came first) and the sizes of all segments.
// The log is replaced by a new checkpoint (and the rounds after it) when it
// grows large, at start-up and at close. Lines without data are rounds of
// the previous format (files fsynced before the line); they still read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/filesystem/file_io.hpp"
#include "runtime/core/records.hpp"

namespace orch::fs {

/// Segment file name -> size, per time-ordered record kind.
using segment_sizes = std::map<record_kind, std::map<std::string, uint64_t>>;
/// Keys whose files a round deletes, per file kind.
using deleted_keys = std::map<record_kind, std::vector<std::string>>;

/// A record file as a round's block carries it.
struct logged_file {
  record_kind kind;
  std::string key;
  std::string json;                          // canonical
};

/// Lines a round appends to a segment, starting at byte `from`.
struct logged_append {
  record_kind kind;
  std::string segment;
  uint64_t from = 0;
  std::string text;
};

/// A round read back with its data: what start-up writes again.
struct logged_round {
  uint64_t round = 0;
  std::vector<logged_file> files;
  deleted_keys deletes;
  std::vector<logged_append> appends;
};

/// What commit() writes, as views of the round's own buffers.
struct round_file {
  record_kind kind;
  std::string_view key;
  std::string_view json;
};
struct round_append {
  record_kind kind;
  std::string_view segment;
  uint64_t from = 0;
  std::string_view text;
};

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
  /// Every round after the checkpoint that carries its data, in order.
  std::vector<logged_round> logged;
  /// The last round carries its data: start-up writes it again rather than
  /// finishing the renames of its temp files (the previous format).
  bool last_logged = false;
};

class commit_log {
public:
  /// Reads the log at `path`; an unfinished last line (a round cut off
  /// before its commit) is ignored, a damaged line in the middle is
  /// reported in `notes` and skipped. Never throws for the content.
  static committed_rounds read(const std::string& path, std::vector<std::string>& notes);

  /// Starts a fresh log at `path` with a checkpoint: written beside it and
  /// renamed over it, so the old log stays whole until the new one is.
  /// Past `limit` bytes large() asks for a checkpoint.
  commit_log(std::string path, uint64_t last_round, const segment_sizes& all,
             uint64_t limit = default_limit);
  /// A start-up after a crash reads the log whole and writes its rounds
  /// again (a task's submission is ~1.5 KB of it); a checkpoint's syncfs
  /// writes what the rounds since the last one left in the page cache.
  static constexpr uint64_t default_limit = 32u << 20;
  commit_log(const commit_log&) = delete;
  commit_log& operator=(const commit_log&) = delete;

  ~commit_log();

  /// The commit point of round `round`: its block, durable when this
  /// returns. On failure the log is cut back to where it was and
  /// status_error thrown: the round did not commit.
  void commit(uint64_t round, const deleted_keys& deletes, const std::vector<round_file>& files,
              const std::vector<round_append>& appends);

  /// Past its limit and no checkpoint under way: time to begin one (asked
  /// first, so the caller gathers every segment's size only then).
  bool large() const;
  /// Begins a checkpoint after round `last_round` (whose files are written):
  /// a syncfs on another thread while rounds go on; finish_checkpoint()
  /// then replaces the log with the checkpoint line and the rounds
  /// committed since.
  void begin_checkpoint(uint64_t last_round, segment_sizes all);
  /// Ends a checkpoint whose sync is done (or waits for it with `wait`). A
  /// failed sync is logged and the log kept: a later one tries again.
  void finish_checkpoint(bool wait);
  /// Everything written so far made durable (syncfs), then the log replaced
  /// by one line: every round up to `last_round` is done, and the segments
  /// have these sizes. At start-up and close.
  void checkpoint(uint64_t last_round, const segment_sizes& all);

private:
  void append(const std::string& block);
  void rewrite(uint64_t last_round, const segment_sizes& all, const std::string& tail);

  std::string path_;
  uint64_t limit_;
  unique_fd fd_;
  uint64_t size_ = 0;

  struct pending_checkpoint;
  std::unique_ptr<pending_checkpoint> pending_;
};

} // namespace orch::fs
