// The RocksDB engine's class and its key layout, shared by the files that
// implement it: rocks_open.cpp (options, opening, the claim index),
// rocks_read.cpp (reads, queries, scans) and rocks_write.cpp (group commits,
// claims, leases, backups, closing). Internal to backends/rocksdb/.
#pragma once

#include <array>
#include <cstdarg>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "backends/engine/group_plan.hpp"
#include "backends/engine/queue_index.hpp"
#include "backends/engine/storage_engine.hpp"
#include "backends/rocksdb/rocks_engine.hpp"
#include "runtime/core/query_match.hpp"

namespace orch::rocks {

/// RocksDB's info log for a read-only open: discarded, because writing a LOG
/// file would change the directory the caller promised not to touch.
class silent_logger : public rocksdb::Logger {
public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Column families: one per record kind (the seed's table names), then indexes.
enum cf_id : size_t {
  cf_default,
  cf_tasks,
  cf_queue,
  cf_users,
  cf_audit,
  cf_metrics,
  cf_events,
  cf_idx_status,      // prefix | status | be64(created_at) | task id
  cf_idx_deps,        // prefix | dependency id | 0 | dependant id; search terms (rocks_search.cpp)
  cf_idx_event_task,  // prefix | task id | 0 | event id
  cf_idx_time,        // prefix | kind | be64(time) | key
  cf_meta,            // prefix | "count/<kind>" or "status/<n>" -> be64 counter
  cf_schedules,
  cf_workflows,
  cf_count
};

inline constexpr std::array<const char*, cf_count> cf_names{
  "default",     "tasks",          "task_queue",     "users",
  "audit_log",   "metrics",        "task_events",    "idx_task_status",
  "idx_task_deps", "idx_event_task", "idx_time",     "meta",
  "schedules",   "workflows"};

inline cf_id cf_of(record_kind k) {
  switch (k) {
    case record_kind::task: return cf_tasks;
    case record_kind::queue: return cf_queue;
    case record_kind::user: return cf_users;
    case record_kind::audit: return cf_audit;
    case record_kind::metric: return cf_metrics;
    case record_kind::event: return cf_events;
    case record_kind::schedule: return cf_schedules;
    case record_kind::workflow: return cf_workflows;
  }
  return cf_default;
}

/// Kinds listed by time through cf_idx_time.
inline bool time_indexed(record_kind k) {
  return k == record_kind::task || k == record_kind::audit || k == record_kind::metric
         || k == record_kind::event;
}

inline std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t from_be64(const rocksdb::Slice& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

inline constexpr uint64_t time_max = std::numeric_limits<uint64_t>::max();

inline uint64_t time_key(micros t) {
  return t < 0 ? 0 : static_cast<uint64_t>(t);
}

/// The status a failed RocksDB call comes to: `what` failed, and why.
inline status status_of(const rocksdb::Status& st, const std::string& what,
                        const std::string& path) {
  if (st.IsNoSpace())
    return {errc::no_space, "no space left on " + path + " (" + what + ": " + st.ToString()
                              + "): free some space on that filesystem (writes resume by "
                                "themselves once there is room) or move --data-dir to a "
                                "larger one"};
  return {st.IsCorruption() ? errc::corrupted : errc::io_error, what + ": " + st.ToString()};
}

[[noreturn]] inline void fail(const rocksdb::Status& st, const std::string& what) {
  auto s = status_of(st, what, "the embedded database");
  throw status_error{s.code(), s.message()};
}

class rocks_engine : public storage_engine {
public:
  explicit rocks_engine(const rocks_options& opts);
  ~rocks_engine() override;

protected:
  std::vector<batch_outcome> do_commit_group(const std::vector<prepared_batch*>& batches) override;
  bool deferred_sync() const override { return true; }
  void do_sync() override;
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
  void check_open() const {
    if (!db_)
      throw status_error{errc::unavailable, "the embedded database has been closed"};
  }
  rocksdb::ColumnFamilyHandle* cf(cf_id id) const { return handles_[id]; }
  /// A read-only open of a database made before a column family existed
  /// has no handle for it: it reads as empty.
  bool has_cf(cf_id id) const { return handles_[id] != nullptr; }
  bool read(cf_id id, const std::string& key, std::string& out) const;
  /// Committed text of a record, remembered for the rest of the round.
  using read_cache = std::map<record_id, std::optional<std::string>>;
  const std::optional<std::string>& cached_read(read_cache& cache, record_kind k,
                                                const std::string& key);
  void index_entries(rocksdb::WriteBatch& wb, record_kind kind, const std::string& key,
                     const staged_record& s, bool remove);
  std::string meta_count_key(record_kind k) const { return prefix_ + "count/" + to_string(k); }
  std::string meta_status_key(task_status s) const {
    return prefix_ + "status/" + std::to_string(static_cast<int>(s));
  }
  uint64_t read_counter(const std::string& key) const;
  /// Audit records by target share idx_event_task with events by task,
  /// behind a byte no task id starts with.
  std::string audit_target_base(const std::string& target) const {
    return prefix_ + std::string(1, '\x01') + target + std::string(1, '\0');
  }
  std::string meta_audit_indexed_key() const { return prefix_ + "index/audit_target"; }
  /// Databases written before the audit-target index get it at the first
  /// writable open; a read-only open of one answers by scanning.
  void index_audit_targets();
  /// Adds an index to every record of `kind` (add() puts its entries), then
  /// the marker that says it is there; returns the records indexed.
  using index_writer =
    std::function<void(rocksdb::WriteBatch&, const std::string& key, const staged_record&)>;
  uint64_t build_index(record_kind kind, const std::string& marker_key, const index_writer& add);
  [[noreturn]] void fail_open(const rocksdb::Status& st);
  void abandon_open();
  status write_round(rocksdb::WriteBatch& wb);
  void load_counters();
  void load_queue();
  bool audit_targets_indexed_ = false;
  // -- task search (rocks_search.cpp) ----------------------------------------------
  std::string search_base() const { return prefix_ + std::string(1, '\x02'); }
  std::string meta_search_indexed_key() const { return prefix_ + "index/task_search"; }
  /// The search index's keys of a task.
  std::set<std::string> search_keys(const std::string& id, const staged_record& s) const;
  /// Index entries for a task going from `before` to `after` (either may be
  /// null: created, removed); entries both have are left alone.
  void search_entries(rocksdb::WriteBatch& wb, const std::string& id, const staged_record* before,
                      const staged_record* after);
  /// Databases from before the search index get it at the first writable open.
  void index_task_search();
  /// A search's page from the index; nothing if the index cannot answer it
  /// (a read-only open of an older database, a label with a 0 byte).
  std::optional<record_page> search_page(const record_query& q, const task_search& s);
  bool tasks_search_indexed_ = false;
  /// Walks [begin, end) of a column family, forward or backward, calling
  /// fn(key without the walk's fixed part) until it returns false.
  template <class F>
  void walk(cf_id id, const std::string& begin, const std::string& end, bool backward, F fn);
  record_page page_by_index(const record_query& q, cf_id index, const std::string& lo,
                            const std::string& hi, size_t key_offset, uint64_t known_total,
                            const record_filter* content_filter);
  record_page page_of(const record_query& q, std::vector<std::pair<micros, std::string>> cand,
                      const record_filter* content_filter);

  /// Read-only opens take no RocksDB lock; this shared fcntl lock on its LOCK
  /// file stands in: a running orchestrator's exclusive lock refuses it, and
  /// an orchestrator starting during a migration is refused in turn.
  void lock_shared();

  rocks_options opts_;
  int shared_lock_fd_ = -1;
  std::string path_;
  std::string prefix_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  queue_index queue_;
  std::array<uint64_t, all_record_kinds.size()> counts_{};
  std::array<uint64_t, 6> status_counts_{};
  // Greatest key of each kind: a put of a greater key (a new time-ordered id)
  // cannot replace anything, so it needs no read of an old version.
  std::array<std::string, all_record_kinds.size()> max_key_;
  std::vector<std::string> notes_;
  // Writes (engine thread) and WAL syncs (sync thread) never overlap, and no
  // sync follows a failed write until RocksDB has recovered: RocksDB aborts
  // on a sync of a write-ahead log whose last write failed (a full disk).
  // Preparing the next round still overlaps the sync; only the short write
  // waits for it.
  std::mutex wal_mutex_;
  std::optional<status> wal_failure_;        // the last write failed; Resume() before the next
};

template <class F>
void rocks_engine::walk(cf_id id, const std::string& begin, const std::string& end, bool backward,
                        F fn) {
  if (!has_cf(id))
    return;
  std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator(rocksdb::ReadOptions{}, cf(id))};
  if (!backward) {
    for (it->Seek(begin); it->Valid() && it->key().compare(end) < 0; it->Next())
      if (!fn(it->key(), it->value()))
        break;
  } else {
    // `end` is never a stored key (stored keys are longer), so the last key
    // at or before it is the last key of the range.
    for (it->SeekForPrev(end); it->Valid() && it->key().compare(begin) >= 0; it->Prev())
      if (it->key().compare(end) < 0 && !fn(it->key(), it->value()))
        break;
  }
  if (!it->status().ok())
    fail(it->status(), std::string{"scanning "} + cf_names[id]);
}

} // namespace orch::rocks
