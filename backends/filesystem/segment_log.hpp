// Append-only JSON-lines segments for the time-ordered record kinds (audit
// log, metrics, task events): `<dir>/<YYYY-MM-DD>.jsonl`, one record per line,
// the day taken from the record's time. An upsert appends the new version, a
// delete appends `{"_deleted":"<key>"}`; the last line for a key wins. The key
// index lives in memory and is rebuilt from the segments at start-up.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backends/filesystem/commit_log.hpp"
#include "backends/filesystem/file_io.hpp"
#include "runtime/core/records.hpp"

namespace orch::fs {

class segment_log {
public:
  /// Where a record's line is, as a write or a load finds it.
  struct location {
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint32_t length = 0;                     // without the newline
    micros time = 0;
    std::string task_id;                     // events: the task; audit: the target (grouped())
  };

  /// The same as kept in the index, for every record of the log: 32 bytes,
  /// the task id shared with the per-task index rather than copied.
  struct slot {
    uint32_t segment = 0;
    uint32_t length = 0;
    uint64_t offset = 0;
    micros time = 0;
    const std::string* task_id = nullptr;    // events, audit: the key of by_task_'s entry
  };

  /// Loads every segment. What lies past the size `committed` last recorded
  /// for a segment (lines of a round that never committed, a torn last line)
  /// is cut off; any other unreadable line is copied to `corrupted_dir` and
  /// skipped. Both are reported in `notes`.
  /// Read-only, nothing is changed: what is past the committed size is
  /// ignored, any other unreadable line throws status_error(corrupted), and
  /// a missing directory is an empty log.
  segment_log(std::string dir, std::string corrupted_dir, record_kind kind,
              std::vector<std::string>& notes, const committed_rounds& committed,
              bool read_only = false);
  // The index points into itself: not to be copied.
  segment_log(const segment_log&) = delete;
  segment_log& operator=(const segment_log&) = delete;

  const std::map<std::string, slot>& index() const { return index_; }

  /// Record text by key; throws status_error(not_found).
  std::string read(const std::string& key) const;
  std::string read(const slot& at) const;

  /// Keys of the events of a task, or of the audit records of a target, in
  /// key order (events and audit only).
  std::vector<std::string> keys_of_task(const std::string& task_id) const;

  /// One pending write of a group commit.
  struct staged {
    std::string key;
    bool remove = false;
    std::string json;                        // put only
    micros time = 0;
    std::string task_id;
  };

  /// A round's lines for `ops`, each segment's at the size it has now; the
  /// sizes advance at once (the commit log records them) and rollback()
  /// takes them back if the round does not commit. Nothing is written yet:
  /// write() appends the lines once the round has committed, apply()
  /// updates the index.
  struct prepared {
    std::vector<std::pair<std::string, location>> puts;
    std::vector<std::string> removes;
    struct lines {
      uint32_t segment = 0;
      uint64_t from = 0;                     // the segment's size before
      std::string text;
      unique_fd fd;                          // opened before the commit (open_files())
    };
    std::vector<lines> appends;
    size_t written = 0;                      // appends written (a retry goes on from there)
  };
  prepared plan(const std::vector<staged>& ops);
  /// Opens the segments `p` appends to, before its round commits: a segment
  /// that cannot be written (permissions, a directory moved away) fails the
  /// round rather than holding up a committed one.
  void open_files(prepared& p);
  void write(prepared& p);
  void apply(prepared& p);
  void rollback(prepared& p);

  const std::string& segment_name(uint32_t id) const { return segment_names_[id]; }
  const std::string& dir() const { return dir_; }
  record_kind kind() const { return kind_; }

  /// Every segment's size: what a commit-log checkpoint records.
  std::map<std::string, uint64_t> sizes() const;

private:
  uint32_t segment_for(micros t);
  std::string segment_path(uint32_t id) const;
  void load_segment(const std::string& name, std::vector<std::string>& notes,
                    const committed_rounds& committed, bool read_only);
  /// The bytes of a segment that belong to committed rounds.
  std::string committed_text(const std::string& name, const committed_rounds& committed,
                             std::vector<std::string>& notes, bool read_only);
  void index_put(const std::string& key, const location& loc);
  void index_erase(const std::string& key);
  void unlink_task_key(std::map<std::string, slot>::iterator entry);
  /// Events are grouped by task, audit records by target.
  bool grouped() const { return kind_ == record_kind::event || kind_ == record_kind::audit; }

  std::string dir_;
  std::string corrupted_dir_;
  record_kind kind_;
  std::vector<std::string> segment_names_;     // id -> file name
  std::map<std::string, uint32_t> segment_ids_;
  std::vector<uint64_t> segment_sizes_;
  std::map<std::string, slot> index_;
  // Events: task id -> the keys of its events; audit: target -> the keys of
  // its records (index_'s own keys; map nodes do not move).
  std::map<std::string, std::vector<const std::string*>> by_task_;
};

} // namespace orch::fs
