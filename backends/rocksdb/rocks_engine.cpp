#include "backends/rocksdb/rocks_engine.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include <nlohmann/json.hpp>

#include "backends/engine/group_plan.hpp"
#include "backends/engine/queue_index.hpp"
#include "backends/engine/read_only_engine.hpp"
#include "runtime/core/record_scan.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/query_match.hpp"
#include "runtime/core/ids.hpp"

namespace orch {

namespace {

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
  cf_idx_deps,        // prefix | dependency id | 0 | dependant id
  cf_idx_event_task,  // prefix | task id | 0 | event id
  cf_idx_time,        // prefix | kind | be64(time) | key
  cf_meta,            // prefix | "count/<kind>" or "status/<n>" -> be64 counter
  cf_count
};

constexpr std::array<const char*, cf_count> cf_names{
  "default",     "tasks",          "task_queue",     "users",
  "audit_log",   "metrics",        "task_events",    "idx_task_status",
  "idx_task_deps", "idx_event_task", "idx_time",     "meta"};

cf_id cf_of(record_kind k) {
  switch (k) {
    case record_kind::task: return cf_tasks;
    case record_kind::queue: return cf_queue;
    case record_kind::user: return cf_users;
    case record_kind::audit: return cf_audit;
    case record_kind::metric: return cf_metrics;
    case record_kind::event: return cf_events;
  }
  return cf_default;
}

/// Kinds listed by time through cf_idx_time.
bool time_indexed(record_kind k) {
  return k == record_kind::task || k == record_kind::audit || k == record_kind::metric
         || k == record_kind::event;
}

std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t from_be64(const rocksdb::Slice& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

constexpr uint64_t time_max = std::numeric_limits<uint64_t>::max();

uint64_t time_key(micros t) {
  return t < 0 ? 0 : static_cast<uint64_t>(t);
}

[[noreturn]] void fail(const rocksdb::Status& st, const std::string& what) {
  errc code = errc::io_error;
  if (st.IsCorruption())
    code = errc::corrupted;
  throw status_error{code, what + ": " + st.ToString()};
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
  void load_queue();
  /// Walks [begin, end) of a column family, forward or backward, calling
  /// fn(key without the walk's fixed part) until it returns false.
  template <class F>
  void walk(cf_id id, const std::string& begin, const std::string& end, bool backward, F fn);
  record_page page_by_index(const record_query& q, cf_id index, const std::string& lo,
                            const std::string& hi, size_t key_offset, uint64_t known_total,
                            bool content_filter);
  record_page page_of(const record_query& q, std::vector<std::pair<micros, std::string>> cand,
                      bool content_filter);

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
};

// -- opening ----------------------------------------------------------------------

/// "<ns>\0<db>\0" plus `extra` bytes: keys sharing it arrive in order (time-
/// ordered ids, be64 times), so the memtable can insert next to the last one.
class ns_prefix_transform : public rocksdb::SliceTransform {
public:
  explicit ns_prefix_transform(size_t extra)
    : extra_(extra), name_("orch.ns_prefix." + std::to_string(extra)) {}
  const char* Name() const override { return name_.c_str(); }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice{key.data(), prefix_length(key)};
  }
  bool InDomain(const rocksdb::Slice& key) const override { return prefix_length(key) != 0; }

private:
  size_t prefix_length(const rocksdb::Slice& key) const {
    int zeros = 0;
    for (size_t i = 0; i < key.size(); ++i)
      if (key[i] == '\0' && ++zeros == 2)
        return i + 1 + extra_ <= key.size() ? i + 1 + extra_ : 0;
    return 0;
  }
  size_t extra_;
  std::string name_;
};

rocksdb::ColumnFamilyOptions cf_options(size_t id, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end())
    o.compression = rocksdb::kLZ4Compression;
  else if (std::find(supported.begin(), supported.end(), rocksdb::kSnappyCompression)
           != supported.end())
    o.compression = rocksdb::kSnappyCompression;
  // Smaller memtables keep inserts fast (shallower skip lists, fewer cache
  // misses); a memtable bloom filter answers lookups of absent keys (every
  // new record is looked up once) without walking the skip list.
  o.write_buffer_size = 16 << 20;
  // Insert hints where keys arrive in order within a prefix.
  switch (id) {
    case cf_audit:
    case cf_metrics:
    case cf_events:
      o.memtable_insert_with_hint_prefix_extractor = std::make_shared<ns_prefix_transform>(0);
      break;
    case cf_idx_time:
    case cf_idx_status:
      o.memtable_insert_with_hint_prefix_extractor = std::make_shared<ns_prefix_transform>(1);
      break;
    case cf_idx_event_task:
      o.memtable_insert_with_hint_prefix_extractor = std::make_shared<ns_prefix_transform>(37);
      break;
    default:
      break;
  }
  o.memtable_whole_key_filtering = true;
  o.memtable_prefix_bloom_size_ratio = 0.05;
  // The queue and the indexes see a delete for almost every put: compact
  // files full of tombstones early so scans over them stay short.
  if (id == cf_queue || id >= cf_idx_status)
    o.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(128, 64, 0.5));
  return o;
}

rocks_engine::rocks_engine(const rocks_options& opts) : opts_(opts) {
  if (!is_valid_ns_name(opts.ns))
    throw status_error{errc::invalid, "--surrealdb-namespace '" + opts.ns
                                           + "' is not valid: use 1-64 characters of A-Z a-z "
                                             "0-9 _ -"};
  if (!is_valid_ns_name(opts.db))
    throw status_error{errc::invalid, "--surrealdb-database '" + opts.db
                                           + "' is not valid: use 1-64 characters of A-Z a-z "
                                             "0-9 _ -"};
  prefix_ = opts.ns + std::string(1, '\0') + opts.db + std::string(1, '\0');
  path_ = rocksdb_path(opts.data_dir);
  std::error_code ec;
  if (!opts.read_only)
    std::filesystem::create_directories(opts.data_dir.empty() ? "." : opts.data_dir, ec);
  if (ec)
    throw status_error{errc::io_error, "cannot create --data-dir " + opts.data_dir + ": "
                                            + ec.message()
                                            + ". Fix its permissions or choose another one"};
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  dbo.max_background_jobs = 2;
  dbo.bytes_per_sync = 1 << 20;
  dbo.keep_log_file_num = 5;
  // One writer (the storage actor's thread): memtable insert hints need this.
  dbo.allow_concurrent_memtable_write = false;
  // Bound the write-ahead log that a restart after a crash must replay: past
  // this, the column families holding the oldest log are flushed.
  dbo.max_total_wal_size = 64 << 20;
  // And the memory of all memtables together (each column family may have
  // two of 16 MiB): past this the largest is flushed.
  dbo.db_write_buffer_size = 48 << 20;
  // A read-only open is a migration's source (or a dry run's target): one
  // pass in key order, where a big cache only adds to the peak memory.
  auto cache = rocksdb::NewLRUCache(opts.read_only ? 8 << 20 : 64 << 20);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (size_t i = 0; i < cf_count; ++i)
    descriptors.emplace_back(cf_names[i], cf_options(i, cache));
  rocksdb::Status st;
  if (opts.read_only) {
    lock_shared();
    dbo.info_log = std::make_shared<silent_logger>();  // no LOG file either
    st = rocksdb::DB::OpenForReadOnly(dbo, path_, descriptors, &handles_, &db_);
  } else {
    st = rocksdb::DB::Open(dbo, path_, descriptors, &handles_, &db_);
  }
  if (!st.ok()) {
    if (shared_lock_fd_ >= 0)
      ::close(shared_lock_fd_);
    shared_lock_fd_ = -1;
    auto msg = st.ToString();
    if (st.IsIOError() && msg.find("lock") != std::string::npos)
      throw status_error{errc::locked,
                            "the embedded database " + path_
                              + " is in use by another orchestrator process (" + msg
                              + "). Stop that process first, or use a different --data-dir"};
    if (st.IsIOError() && (msg.find("ermission") != std::string::npos))
      throw status_error{errc::io_error,
                            "cannot open the embedded database " + path_ + ": " + msg
                              + ". Fix the permissions (e.g. `chown -R $(id -un) "
                              + opts.data_dir + "`) or pass a --data-dir you can write to"};
    if (st.IsCorruption())
      throw status_error{errc::corrupted,
                            "the embedded database " + path_ + " is damaged: " + msg
                              + ". Restore it from a backup (orchestrator restore)"};
    fail(st, "cannot open the embedded database " + path_);
  }
  for (auto k : all_record_kinds)
    counts_[static_cast<size_t>(k)] = read_counter(meta_count_key(k));
  for (size_t s = 0; s < status_counts_.size(); ++s)
    status_counts_[s] = read_counter(meta_status_key(static_cast<task_status>(s)));
  for (auto k : all_record_kinds)
    walk(cf_of(k), prefix_, prefix_ + std::string(1, '\xff'), true,
         [&](const rocksdb::Slice& key, const rocksdb::Slice&) {
           max_key_[static_cast<size_t>(k)] = key.ToString().substr(prefix_.size());
           return false;
         });
  // The claim index serves claims only, which a read-only open refuses: a
  // migration's source need not hold every queue entry in memory.
  if (!opts.read_only)
    load_queue();
}

void rocks_engine::lock_shared() {
  auto lock_path = path_ + "/LOCK";
  shared_lock_fd_ = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (shared_lock_fd_ < 0)
    return;  // never opened read-write: nobody holds it
  struct flock fl {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(shared_lock_fd_, F_SETLK, &fl) != 0)
    throw status_error{errc::locked,
                          "the embedded database " + path_
                            + " is in use by another orchestrator process. Stop that process "
                              "first, or use a different --data-dir"};
}

rocks_engine::~rocks_engine() {
  (void) close();  // the public close: it catches what do_close throws
}

uint64_t rocks_engine::read_counter(const std::string& key) const {
  std::string v;
  return read(cf_meta, key, v) ? from_be64(v) : 0;
}

void rocks_engine::load_queue() {
  walk(cf_queue, prefix_, prefix_ + std::string(1, '\xff'), false,
       [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
         queue_entry e;
         if (auto st = decode(value.ToStringView(), e); st)
           queue_.put(e);
         else
           notes_.push_back("unreadable queue entry " + key.ToString() + " skipped: "
                            + st.message());
         return true;
       });
}

// -- reading ------------------------------------------------------------------------

bool rocks_engine::read(cf_id id, const std::string& key, std::string& out) const {
  auto st = db_->Get(rocksdb::ReadOptions{}, cf(id), key, &out);
  if (st.IsNotFound())
    return false;
  if (!st.ok())
    fail(st, std::string{"reading "} + cf_names[id]);
  return true;
}

template <class F>
void rocks_engine::walk(cf_id id, const std::string& begin, const std::string& end, bool backward,
                        F fn) {
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

record rocks_engine::do_get(record_kind kind, const std::string& key) {
  check_open();
  if (!is_valid_key(kind, key))
    throw status_error{errc::invalid, "'" + key + "' is not a valid key for "
                                           + to_string(kind)};
  record r{kind, key, {}};
  if (!read(cf_of(kind), prefix_ + key, r.json))
    throw status_error{errc::not_found, not_found_message(kind, key)};
  return r;
}

record_page rocks_engine::page_of(const record_query& q,
                                  std::vector<std::pair<micros, std::string>> cand,
                                  bool content_filter) {
  std::sort(cand.begin(), cand.end());
  if (q.newest_first)
    std::reverse(cand.begin(), cand.end());
  record_page page;
  for (auto& [t, key] : cand) {
    std::string text;
    if (!read(cf_of(q.kind), prefix_ + key, text))
      continue;
    if (content_filter && !matches(q, text))
      continue;
    if (page.total >= q.offset && page.items.size() < q.limit)
      page.items.push_back({q.kind, key, std::move(text)});
    ++page.total;
  }
  return page;
}

record_page rocks_engine::page_by_index(const record_query& q, cf_id index, const std::string& lo,
                                        const std::string& hi, size_t key_offset,
                                        uint64_t known_total, bool content_filter) {
  record_page page;
  bool exact_total = !content_filter && known_total != time_max;
  uint64_t seen = 0;
  walk(index, lo, hi, q.newest_first, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    auto key = k.ToString().substr(key_offset);
    if (!content_filter) {
      if (seen >= q.offset && page.items.size() < q.limit) {
        std::string text;
        if (read(cf_of(q.kind), prefix_ + key, text))
          page.items.push_back({q.kind, key, std::move(text)});
      }
      ++seen;
      // With a known total, stop as soon as the page is full.
      return !(exact_total && page.items.size() >= q.limit);
    }
    std::string text;
    if (!read(cf_of(q.kind), prefix_ + key, text) || !matches(q, text))
      return true;
    if (seen >= q.offset && page.items.size() < q.limit)
      page.items.push_back({q.kind, key, std::move(text)});
    ++seen;
    return true;
  });
  page.total = exact_total ? known_total : seen;
  return page;
}

record_page rocks_engine::do_query(const record_query& q) {
  check_open();
  bool ranged = q.since != 0 || q.until != 0;
  auto lo_t = be64(time_key(q.since)), hi_t = be64(q.until == 0 ? time_max : time_key(q.until));
  auto kind_byte = std::string(1, static_cast<char>(q.kind));
  if (q.kind == record_kind::task && q.field == "status") {
    task_status s;
    if (!parse_status(q.value, s))
      return {};
    auto base = prefix_ + std::string(1, static_cast<char>(s));
    return page_by_index(q, cf_idx_status, base + lo_t, base + hi_t, base.size() + 8,
                         ranged ? time_max : status_counts_[static_cast<size_t>(s)], false);
  }
  if ((q.kind == record_kind::task && q.field == "dependencies")
      || (q.kind == record_kind::event && q.field == "task_id")) {
    auto index = q.kind == record_kind::task ? cf_idx_deps : cf_idx_event_task;
    auto base = prefix_ + q.value + std::string(1, '\0');
    std::vector<std::pair<micros, std::string>> cand;
    walk(index, base, base + std::string(1, '\xff'), false,
         [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
           cand.emplace_back(0, k.ToString().substr(base.size()));
           return true;
         });
    // Order by the record's time: read each (a task's dependants and an
    // event's task are small sets).
    std::vector<std::pair<micros, std::string>> timed;
    for (auto& [t, key] : cand) {
      std::string text;
      if (read(cf_of(q.kind), prefix_ + key, text)) {
        auto rt = record_time(q.kind, text);
        if ((q.since == 0 || rt >= q.since) && (q.until == 0 || rt < q.until))
          timed.emplace_back(rt, key);
      }
    }
    return page_of(q, std::move(timed), false);
  }
  if (time_indexed(q.kind)) {
    auto base = prefix_ + kind_byte;
    return page_by_index(q, cf_idx_time, base + lo_t, base + hi_t, base.size() + 8,
                         ranged ? time_max : counts_[static_cast<size_t>(q.kind)],
                         !q.field.empty());
  }
  // Queue entries and users: small; read them all.
  std::vector<std::pair<micros, std::string>> cand;
  walk(cf_of(q.kind), prefix_, prefix_ + std::string(1, '\xff'), false,
       [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
         auto text = v.ToStringView();
         if (matches(q, text))
           cand.emplace_back(record_time(q.kind, text), k.ToString().substr(prefix_.size()));
         return true;
       });
  return page_of(q, std::move(cand), false);
}

std::vector<record> rocks_engine::do_scan(record_kind kind, const std::string& after,
                                       uint32_t limit) {
  check_open();
  std::vector<record> out;
  if (limit == 0)
    return out;
  walk(cf_of(kind), prefix_ + after, prefix_ + std::string(1, '\xff'), false,
       [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
         auto key = k.ToString().substr(prefix_.size());
         if (key == after)
           return true;  // exclusive
         out.push_back({kind, key, v.ToString()});
         return out.size() < limit;
       });
  return out;
}

uint64_t rocks_engine::do_count(record_kind kind) {
  check_open();
  return counts_[static_cast<size_t>(kind)];
}

// -- writing --------------------------------------------------------------------------

const std::optional<std::string>& rocks_engine::cached_read(read_cache& cache, record_kind k,
                                                            const std::string& key) {
  auto [it, inserted] = cache.try_emplace({k, key});
  if (inserted && key <= max_key_[static_cast<size_t>(k)]) {
    std::string text;
    if (read(cf_of(k), prefix_ + key, text))
      it->second = std::move(text);
  }
  return it->second;
}

void rocks_engine::index_entries(rocksdb::WriteBatch& wb, record_kind kind,
                                 const std::string& key, const staged_record& s, bool remove) {
  auto put_or_delete = [&](cf_id id, const std::string& k) {
    if (remove)
      wb.Delete(cf(id), k);
    else
      wb.Put(cf(id), k, rocksdb::Slice{});
  };
  if (time_indexed(kind))
    put_or_delete(cf_idx_time, prefix_ + std::string(1, static_cast<char>(kind))
                                 + be64(time_key(s.time)) + key);
  if (kind == record_kind::task) {
    put_or_delete(cf_idx_status, prefix_ + std::string(1, static_cast<char>(s.meta.status))
                                   + be64(time_key(s.meta.created_at)) + key);
    for (auto& dep : s.meta.dependencies)
      put_or_delete(cf_idx_deps, prefix_ + dep + std::string(1, '\0') + key);
  }
  if (kind == record_kind::event)
    put_or_delete(cf_idx_event_task, prefix_ + s.task_id + std::string(1, '\0') + key);
}

std::vector<batch_outcome> rocks_engine::do_commit_group(const std::vector<prepared_batch*>& batches) {
  check_open();
  record_overlay overlay;
  read_cache cache;  // each committed record is read at most once per round
  auto outcomes = plan_group(batches, overlay,
                             [&](record_kind k, const std::string& key, const std::string& field,
                                 std::string& value) {
                               auto& text = cached_read(cache, k, key);
                               if (!text)
                                 return false;
                               if (!field.empty())
                                 scan_field(*text, field, value);
                               return true;
                             });
  if (overlay.empty())
    return outcomes;
  rocksdb::WriteBatch wb;
  auto max_key = max_key_;
  auto counts = counts_;
  auto status_counts = status_counts_;
  for (auto& [id, s] : overlay) {
    auto& [kind, key] = id;
    auto full = prefix_ + key;
    auto& old_text = cached_read(cache, kind, key);
    bool had = old_text.has_value();
    auto& mk = max_key[static_cast<size_t>(kind)];
    if (!s.removed && key > mk)
      mk = key;
    if (had) {
      // Index entries of the old version go; the new version adds its own.
      staged_record old;
      if (stage_put({kind, key, *old_text}, old).ok()) {
        index_entries(wb, kind, key, old, true);
        if (kind == record_kind::task)
          --status_counts[static_cast<size_t>(old.meta.status)];
      }
    }
    auto k = static_cast<size_t>(kind);
    if (s.removed) {
      if (had) {
        wb.Delete(cf(cf_of(kind)), full);
        --counts[k];
      }
      continue;
    }
    wb.Put(cf(cf_of(kind)), full, s.json);
    index_entries(wb, kind, key, s, false);
    if (!had)
      ++counts[k];
    if (kind == record_kind::task)
      ++status_counts[static_cast<size_t>(s.meta.status)];
  }
  for (auto kind : all_record_kinds)
    if (counts[static_cast<size_t>(kind)] != counts_[static_cast<size_t>(kind)])
      wb.Put(cf(cf_meta), meta_count_key(kind), be64(counts[static_cast<size_t>(kind)]));
  for (size_t st = 0; st < status_counts.size(); ++st)
    if (status_counts[st] != status_counts_[st])
      wb.Put(cf(cf_meta), meta_status_key(static_cast<task_status>(st)), be64(status_counts[st]));
  // Not synced here: the storage actor calls sync() on its sync thread and
  // answers only after it, while the next round is being prepared. Rounds
  // are written to the WAL in order, so a sync covers every round before it.
  auto st = db_->Write(rocksdb::WriteOptions{}, &wb);
  if (!st.ok()) {
    for (auto& o : outcomes)
      if (o.ok())
        o.st = {errc::io_error, "writing to the embedded database failed: " + st.ToString()};
    return outcomes;
  }
  counts_ = counts;
  status_counts_ = status_counts;
  max_key_ = max_key;
  for (auto& [id, s] : overlay)
    if (id.first == record_kind::queue) {
      if (s.removed)
        queue_.erase(id.second);
      else
        queue_.put(s.entry);
    }
  return outcomes;
}

// -- claims, leases, backup ----------------------------------------------------------

claim_plan rocks_engine::do_plan_claims(const claim_request& req,
                                     const std::set<std::string>& reserved) {
  check_open();
  return queue_.plan(req, reserved, [this](const std::string& id, task& t) {
    std::string text;
    if (!read(cf_tasks, prefix_ + id, text)) {
      log_error("rocksdb", "the task " + id + " of a queue entry is missing");
      return false;
    }
    auto st = decode(text, t);
    if (st)
      return true;
    log_error("rocksdb", "the task " + id + " of a queue entry cannot be read: " + st.message());
    return false;
  });
}

void rocks_engine::do_sync() {
  auto st = db_->SyncWAL();
  if (!st.ok())
    fail(st, "syncing the write-ahead log of " + path_);
}

std::vector<std::string> rocks_engine::do_renew(const std::string& worker,
                                             const std::vector<std::string>& ids,
                                             micros lease_until) {
  check_open();
  std::vector<std::string> lost;
  auto b = queue_.renew_batch(worker, ids, lease_until, lost);
  if (!b.ops.empty()) {
    auto out = value_or_throw(commit_batches({&b}));
    if (!out[0].ok())
      throw status_error{out[0].st};
    do_sync();  // renewals are answered directly, so they are made durable here
  }
  return lost;
}

storage_info rocks_engine::do_info() {
  check_open();
  return {"surrealdb-embedded",
          path_ + " (namespace " + opts_.ns + ", database " + opts_.db + ")", false, notes_};
}

std::string rocks_engine::do_backup(const std::string& to) {
  check_open();
  auto dest = rocksdb_path(to);
  std::error_code ec;
  if (std::filesystem::exists(dest, ec))
    throw status_error{errc::conflict, "backup target " + dest
                                            + " already exists; choose a new directory"};
  std::filesystem::create_directories(to, ec);
  if (ec)
    throw status_error{errc::io_error, "cannot create backup directory " + to + ": "
                                            + ec.message()};
  rocksdb::Checkpoint* cp = nullptr;
  auto st = rocksdb::Checkpoint::Create(db_, &cp);
  if (!st.ok())
    fail(st, "cannot start a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> guard{cp};
  // A checkpoint is a consistent copy (hard links where possible) taken
  // while writes continue; the WAL is flushed into it first.
  st = cp->CreateCheckpoint(dest, 0);
  if (!st.ok())
    fail(st, "cannot create checkpoint " + dest);
  return dest;
}

void rocks_engine::do_close() {
  if (!db_)
    return;
  // Flushed memtables make the next start instant: no log to replay.
  if (!opts_.read_only) {
    rocksdb::FlushOptions fo;
    auto fst = db_->Flush(fo, handles_);
    if (!fst.ok())
      log_warn("rocksdb", "flushing " + path_ + " before closing: " + fst.ToString());
  }
  for (auto* h : handles_)
    db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  auto st = db_->Close();
  delete db_;
  db_ = nullptr;
  if (shared_lock_fd_ >= 0)
    ::close(shared_lock_fd_);  // releases the lock
  shared_lock_fd_ = -1;
  if (!st.ok())
    log_warn("rocksdb", "closing " + path_ + ": " + st.ToString());
}

} // namespace

std::string rocksdb_path(const std::string& data_dir) {
  auto base = data_dir.empty() ? std::string{"."} : data_dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  return base + "/orchestrator.db";
}

std::unique_ptr<storage_engine> open_rocksdb_engine(const rocks_options& opts) {
  if (!opts.read_only)
    return std::make_unique<rocks_engine>(opts);
  auto path = rocksdb_path(opts.data_dir);
  auto what = "the embedded database " + path;
  std::error_code ec;
  if (!std::filesystem::exists(path + "/CURRENT", ec)) {
    if (!is_valid_ns_name(opts.ns) || !is_valid_ns_name(opts.db))
      return std::make_unique<rocks_engine>(opts);  // throws the message for the name
    return make_read_only(nullptr, what, {"surrealdb-embedded", path, false, {}});
  }
  return make_read_only(std::make_unique<rocks_engine>(opts), what);
}

} // namespace orch
