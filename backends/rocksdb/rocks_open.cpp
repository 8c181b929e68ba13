// Opening the embedded database: column family options tuned for the
// orchestrator's writes, the locks that keep a second process out, the
// counters and the claim index loaded at start-up.
#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include "backends/rocksdb/rocks_engine_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

namespace orch::rocks {

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

namespace {

/// Options of the whole database: one writer, bounded WAL and memtables.
rocksdb::DBOptions db_options() {
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
  return dbo;
}

std::string ns_name_problem(const char* option, const std::string& name) {
  return std::string{"--"} + option + " '" + name
         + "' is not valid: use 1-64 characters of A-Z a-z 0-9 _ -";
}

} // namespace

/// A failed open, as the user should read it: what holds the database, or
/// what to do about permissions or damage.
[[noreturn]] void rocks_engine::fail_open(const rocksdb::Status& st) {
  if (shared_lock_fd_ >= 0)
    ::close(shared_lock_fd_);
  shared_lock_fd_ = -1;
  auto msg = st.ToString();
  if (st.IsIOError() && msg.find("lock") != std::string::npos)
    throw status_error{errc::locked, "the embedded database " + path_
                                       + " is in use by another orchestrator process (" + msg
                                       + "). Stop that process first, or use a different --data-dir"};
  if (st.IsIOError() && (msg.find("ermission") != std::string::npos))
    throw status_error{errc::io_error, "cannot open the embedded database " + path_ + ": " + msg
                                         + ". Fix the permissions (e.g. `chown -R $(id -un) "
                                         + opts_.data_dir + "`) or pass a --data-dir you can write to"};
  if (st.IsCorruption())
    throw status_error{errc::corrupted, "the embedded database " + path_ + " is damaged: " + msg
                                          + ". Restore it from a backup (orchestrator restore)"};
  fail(st, "cannot open the embedded database " + path_);
}

rocks_engine::rocks_engine(const rocks_options& opts) : opts_(opts) {
  if (!is_valid_ns_name(opts.ns))
    throw status_error{errc::invalid, ns_name_problem("surrealdb-namespace", opts.ns)};
  if (!is_valid_ns_name(opts.db))
    throw status_error{errc::invalid, ns_name_problem("surrealdb-database", opts.db)};
  prefix_ = opts.ns + std::string(1, '\0') + opts.db + std::string(1, '\0');
  path_ = rocksdb_path(opts.data_dir);
  std::error_code ec;
  if (!opts.read_only)
    std::filesystem::create_directories(opts.data_dir.empty() ? "." : opts.data_dir, ec);
  if (ec)
    throw status_error{errc::io_error, "cannot create --data-dir " + opts.data_dir + ": "
                                         + ec.message() + ". Fix its permissions or choose another one"};
  auto dbo = db_options();
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
    // A database made by an earlier version lacks the column families of
    // later record kinds (schedules); a read-only open cannot create them,
    // so it opens those there are and reads the others as empty.
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(dbo, path_, &existing).ok()) {
      std::vector<size_t> opened;
      std::vector<rocksdb::ColumnFamilyDescriptor> present;
      for (size_t i = 0; i < cf_count; ++i)
        if (std::find(existing.begin(), existing.end(), cf_names[i]) != existing.end()) {
          opened.push_back(i);
          present.push_back(descriptors[i]);
        }
      std::vector<rocksdb::ColumnFamilyHandle*> got;
      st = rocksdb::DB::OpenForReadOnly(dbo, path_, present, &got, &db_);
      if (st.ok()) {
        handles_.assign(cf_count, nullptr);
        for (size_t j = 0; j < opened.size(); ++j)
          handles_[opened[j]] = got[j];
      }
    } else {
      st = rocksdb::DB::OpenForReadOnly(dbo, path_, descriptors, &handles_, &db_);
    }
  } else {
    st = rocksdb::DB::Open(dbo, path_, descriptors, &handles_, &db_);
  }
  if (!st.ok())
    fail_open(st);
  try {
    load_counters();
    std::string marker;
    audit_targets_indexed_ = read(cf_meta, meta_audit_indexed_key(), marker);
    if (!audit_targets_indexed_ && !opts.read_only)
      index_audit_targets();
    tasks_search_indexed_ = read(cf_meta, meta_search_indexed_key(), marker);
    if (!tasks_search_indexed_ && !opts.read_only)
      index_task_search();
    // The claim index serves claims only, which a read-only open refuses: a
    // migration's source need not hold every queue entry in memory.
    if (!opts.read_only)
      load_queue();
  } catch (const status_error& e) {
    // Damage the open did not see (a table file read only now) is told the
    // way the open tells it: where, and what to do.
    abandon_open();
    if (e.code() != errc::corrupted)
      throw;
    throw status_error{errc::corrupted, "the embedded database " + path_ + " is damaged: "
                                          + e.message()
                                          + ". Restore it from a backup (orchestrator restore)"};
  }
}

/// Lets go of a database whose start-up failed after it opened: nothing is
/// flushed into a database that may be damaged.
void rocks_engine::abandon_open() {
  for (auto* h : handles_)
    if (h)
      db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  delete db_;
  db_ = nullptr;
  if (shared_lock_fd_ >= 0)
    ::close(shared_lock_fd_);
  shared_lock_fd_ = -1;
}

/// Record counts, status counts and the greatest key of each kind.
void rocks_engine::load_counters() {
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
}

uint64_t rocks_engine::build_index(record_kind kind, const std::string& marker_key,
                                   const index_writer& add) {
  rocksdb::WriteBatch wb;
  uint64_t indexed = 0;
  auto flush = [&] {
    if (auto st = write_round(wb); !st.ok())
      throw status_error{st};
    wb.Clear();
  };
  walk(cf_of(kind), prefix_, prefix_ + std::string(1, '\xff'), false,
       [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
         staged_record s;
         auto k = key.ToString().substr(prefix_.size());
         if (stage_put({kind, k, value.ToString()}, s).ok()) {
           add(wb, k, s);
           if (++indexed % 10000 == 0)
             flush();
         }
         return true;
       });
  wb.Put(cf(cf_meta), marker_key, rocksdb::Slice{});
  flush();
  return indexed;
}

void rocks_engine::index_audit_targets() {
  auto indexed = build_index(record_kind::audit, meta_audit_indexed_key(),
                             [&](rocksdb::WriteBatch& wb, const std::string& k,
                                 const staged_record& s) {
                               wb.Put(cf(cf_idx_event_task), audit_target_base(s.task_id) + k,
                                      rocksdb::Slice{});
                             });
  audit_targets_indexed_ = true;
  if (indexed > 0)
    notes_.push_back("indexed the targets of " + std::to_string(indexed)
                     + " audit records (once, for databases from before that index)");
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

} // namespace orch::rocks
