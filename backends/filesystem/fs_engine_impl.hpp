// The filesystem engine's class, shared by the files that implement it:
// fs_engine.cpp (opening, paths, indexes, claims, backup), fs_load.cpp (the
// start-up scan), fs_read.cpp (reads and queries) and fs_write.cpp (group
// commits). Internal to backends/filesystem/.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include "backends/engine/group_plan.hpp"
#include "backends/engine/queue_index.hpp"
#include "backends/engine/storage_engine.hpp"
#include "backends/filesystem/commit_log.hpp"
#include "backends/filesystem/file_io.hpp"
#include "backends/filesystem/segment_log.hpp"
#include "runtime/core/task_search.hpp"

namespace orch::fs {


/// Kinds stored one record per file (the others are segment logs).
inline bool is_file_kind(record_kind k) {
  return k == record_kind::task || k == record_kind::queue || k == record_kind::user
         || k == record_kind::schedule || k == record_kind::workflow;
}

/// What a record file holds: the record's JSON pretty-printed.
std::string file_text(const std::string& record_json);

/// A read-only open's refusal of a write it would have to finish.
status_error unfinished_write(const std::string& path);

/// A task in a secondary index: its creation time and its id, which is the
/// key of fs_engine::tasks_ (map nodes do not move), not a copy of it.
struct time_key {
  micros time;
  const std::string* id;
};

struct time_order {
  using is_transparent = void;
  bool operator()(const time_key& a, const time_key& b) const {
    return a.time != b.time ? a.time < b.time : *a.id < *b.id;
  }
  bool operator()(const time_key& a, micros t) const { return a.time < t; }
  bool operator()(micros t, const time_key& b) const { return t < b.time; }
};

using time_index = std::set<time_key, time_order>;

class fs_engine : public storage_engine {
public:
  fs_engine(const std::string& data_dir, bool read_only);
  ~fs_engine() override;

protected:
  std::vector<batch_outcome> do_commit_group(const std::vector<prepared_batch*>& batches) override;
  record do_get(record_kind kind, const std::string& key) override;
  record_page do_query(const record_query& q) override;
  std::vector<record> do_scan(record_kind kind, const std::string& after, uint32_t limit) override;
  uint64_t do_count(record_kind kind) override;
  claim_plan do_plan_claims(const claim_request& req, const std::set<std::string>& reserved) override;
  std::vector<std::string> do_renew(const std::string& worker, const std::vector<std::string>& ids,
                                 micros lease_until) override;
  storage_info do_info() override;
  std::string do_backup(const std::string& to) override;
  void do_close() override;

private:
  // -- paths -------------------------------------------------------------------
  std::string dir_of(record_kind k) const;
  std::string file_of(record_kind k, const std::string& key) const {
    return dir_of(k) + "/" + key + ".json";
  }
  /// Where round `round` writes the new version of a file before it
  /// commits: start-up tells its temp files from other rounds' by the name.
  std::string temp_file_of(record_kind k, const std::string& key, uint64_t round) const {
    return dir_of(k) + "/." + key + ".json." + std::to_string(round) + ".tmp";
  }
  std::string commit_log_path() const { return root_ + "/commit.log"; }
  segment_log& log_of(record_kind k);
  segment_sizes all_segment_sizes() const;

  // -- loading (fs_load.cpp) -----------------------------------------------------
  struct loaded_file;
  void load_file_kind(record_kind k, const committed_rounds& committed);
  std::vector<std::string> record_files(record_kind k, const committed_rounds& committed);
  /// Finishes the renames and deletions of the last round if it committed
  /// and a crash cut it off; `names` is the directory's listing.
  void finish_round(record_kind k, const committed_rounds& committed,
                    std::vector<std::string>& names);
  void check_file(record_kind k, loaded_file& f) const;
  void check_files(record_kind k, std::vector<loaded_file>& files) const;
  void index_files(record_kind k, std::vector<loaded_file>& files);
  void quarantine(record_kind k, const std::string& name, const std::string& why);

  // -- reading (fs_read.cpp) -----------------------------------------------------
  bool exists(record_kind k, const std::string& key) const;
  /// (time, key) of the records a query may return, in time order, and
  /// whether the query's field filter still needs the records themselves.
  std::vector<std::pair<micros, std::string>> candidates(const record_query& q, bool& content_filter);
  /// Canonical JSON of a stored record; throws not_found.
  std::string read_canonical(record_kind k, const std::string& key);

  // -- writing (fs_write.cpp) ----------------------------------------------------
  /// The committed value of a field, for preconditions (committed_field_fn).
  bool committed_field(record_kind k, const std::string& key, const std::string& field,
                       std::string& value);
  void write_to_disk(record_overlay& overlay);
  /// A round that committed but is not yet in place: its files, deletions
  /// and segment lines (resumed where they stopped), and its records, which
  /// reads are served from meanwhile.
  struct unpublished_round {
    struct file {
      std::string temp, path, text;
      fs::unique_fd fd;                      // the temp file, created before the commit
    };
    std::vector<file> files;
    size_t published = 0;
    std::vector<std::string> unlinks;
    std::vector<std::pair<segment_log*, segment_log::prepared>> segments;
    record_overlay overlay;
  };
  /// Files, deletions and segment lines of a committed round, resumed where
  /// they stopped. Nothing is fsynced: the commit log has the round.
  void put_in_place(unpublished_round& r);

  // -- after an unclean stop (fs_replay.cpp) -----------------------------------
  /// Writes every round the log holds since its checkpoint again (or, read
  /// only, checks that the files already hold them).
  void replay(const committed_rounds& committed);
  /// At close: a last try at an unpublished round (else start-up finishes it).
  void publish_pending() noexcept;
  void apply_to_index(const record_id& id, const staged_record& s);

  // -- indexes -------------------------------------------------------------------
  void index_task(const std::string& id, const task_meta& m, search_doc doc);
  void unindex_task(const std::string& id);

  std::string root_;
  std::unique_ptr<fs::lock_file> lock_;
  std::vector<std::string> notes_;
  bool closed_ = false;
  bool read_only_ = false;                   // change nothing, not even a bad file

  std::map<std::string, task_meta> tasks_;
  /// What searches read of each task, in memory: a search reads no file
  /// (keyed by the id in tasks_, whose map nodes do not move).
  std::unordered_map<const std::string*, search_doc> search_docs_;
  time_index tasks_by_time_;
  std::map<task_status, time_index> tasks_by_status_;
  std::multimap<std::string, std::string> dependants_;

  queue_index queue_;

  /// The keys of the file kinds indexed by their keys alone: users,
  /// schedules, workflows.
  std::map<record_kind, std::set<std::string>> keys_;
  std::set<std::string>& names_of(record_kind k) { return keys_[k]; }
  const std::set<std::string>& names_of(record_kind k) const {
    static const std::set<std::string> none;
    auto it = keys_.find(k);
    return it == keys_.end() ? none : it->second;
  }

  std::unique_ptr<segment_log> audit_;
  std::unique_ptr<segment_log> metrics_;
  std::unique_ptr<segment_log> events_;

  std::unique_ptr<commit_log> commits_;      // null when read-only
  uint64_t round_ = 0;                       // the last round begun
  std::unique_ptr<unpublished_round> unpublished_;  // committed, not yet in place
};

} // namespace orch::fs
