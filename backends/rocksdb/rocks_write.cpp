// Group commits (one WriteBatch a round, synced by the storage actor's
// syncer), claims, lease renewals, checkpoints and closing.
#include <filesystem>

#include <unistd.h>

#include <rocksdb/utilities/checkpoint.h>

#include "backends/engine/read_only_engine.hpp"
#include "backends/rocksdb/rocks_engine_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/record_scan.hpp"

namespace orch::rocks {

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
  if (kind == record_kind::audit)
    put_or_delete(cf_idx_event_task, audit_target_base(s.task_id) + key);
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
    std::optional<staged_record> old;
    if (had) {
      // Index entries of the old version go; the new version adds its own.
      old.emplace();
      if (stage_put({kind, key, *old_text}, *old).ok()) {
        index_entries(wb, kind, key, *old, true);
        if (kind == record_kind::task)
          --status_counts[static_cast<size_t>(old->meta.status)];
      } else {
        old.reset();
      }
    }
    if (kind == record_kind::task)
      search_entries(wb, key, old ? &*old : nullptr, s.removed ? nullptr : &s);
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
  if (auto failed = write_round(wb); !failed.ok()) {
    for (auto& o : outcomes)
      if (o.ok())
        o.st = failed;
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

/// After a failed write RocksDB refuses every write until it has recovered
/// (a full disk: once there is room again); Resume() is tried before each
/// round, so the service heals by itself.
status rocks_engine::write_round(rocksdb::WriteBatch& wb) {
  std::lock_guard<std::mutex> g{wal_mutex_};
  if (wal_failure_) {
    if (auto resumed = db_->Resume(); !resumed.ok())
      return *wal_failure_;
    log_info("rocksdb", "writes to " + path_ + " work again");
    wal_failure_.reset();
  }
  auto st = db_->Write(rocksdb::WriteOptions{}, &wb);
  if (!st.ok()) {
    wal_failure_ = status_of(st, "writing to the embedded database", path_);
    log_warn("rocksdb", wal_failure_->message());
    return *wal_failure_;
  }
  return {};
}

void rocks_engine::do_sync() {
  std::lock_guard<std::mutex> g{wal_mutex_};
  if (wal_failure_)
    throw status_error{wal_failure_->code(), wal_failure_->message()};
  auto st = db_->SyncWAL();
  if (!st.ok()) {
    auto s = status_of(st, "syncing the write-ahead log", path_);
    throw status_error{s.code(), s.message()};
  }
}

std::vector<std::string> rocks_engine::do_renew(const std::string& worker,
                                          const std::vector<std::string>& ids,
                                          micros lease_until) {
  check_open();
  return renew_through(queue_, worker, ids, lease_until);
}

storage_info rocks_engine::do_info() {
  check_open();
  return {"surrealdb-embedded", path_, opts_.ns, opts_.db, false, notes_};
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
    if (h)
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

} // namespace orch::rocks

namespace orch {

std::string rocksdb_path(const std::string& data_dir) {
  auto base = data_dir.empty() ? std::string{"."} : data_dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  return base + "/orchestrator.db";
}

std::unique_ptr<storage_engine> open_rocksdb_engine(const rocks_options& opts) {
  if (!opts.read_only)
    return std::make_unique<rocks::rocks_engine>(opts);
  auto path = rocksdb_path(opts.data_dir);
  auto what = "the embedded database " + path;
  std::error_code ec;
  if (!std::filesystem::exists(path + "/CURRENT", ec)) {
    if (!is_valid_ns_name(opts.ns) || !is_valid_ns_name(opts.db))
      return std::make_unique<rocks::rocks_engine>(opts);  // throws the message for the name
    return make_read_only(nullptr, what, {"surrealdb-embedded", path, opts.ns, opts.db, false, {}});
  }
  return make_read_only(std::make_unique<rocks::rocks_engine>(opts), what);
}

} // namespace orch
