#include "backends/engine/storage_engine.hpp"

#include <sys/statvfs.h>

#include <optional>

#include "backends/engine/group_plan.hpp"
#include "backends/engine/queue_index.hpp"

namespace orch {

storage_engine::~storage_engine() = default;

std::string not_found_message(record_kind kind, const std::string& key) {
  switch (kind) {
    case record_kind::task: return "task " + key + " does not exist";
    case record_kind::queue: return "task " + key + " has no queue entry";
    case record_kind::user: return "user '" + key + "' does not exist";
    case record_kind::schedule: return "schedule '" + key + "' does not exist";
    case record_kind::workflow: return "workflow " + key + " does not exist";
    default: return std::string{to_string(kind)} + " record " + key + " does not exist";
  }
}

namespace {

/// The value f returns, or what it threw as a failure.
template <class F>
auto capture(F&& f) -> result<decltype(f())> {
  std::optional<decltype(f())> value;
  auto st = catch_status([&] { value.emplace(f()); });
  if (!st)
    return st;
  return std::move(*value);
}

} // namespace

void storage_engine::refuse_writes_below(std::string path, uint64_t min_free) {
  space_path_ = std::move(path);
  min_free_ = min_free;
}

status storage_engine::free_space_check() const {
  struct statvfs fs{};
  if (min_free_ == 0 || ::statvfs(space_path_.c_str(), &fs) != 0)
    return {};
  auto free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free >= min_free_)
    return {};
  auto mib = [](uint64_t b) { return std::to_string(b / (1024 * 1024)) + " MiB"; };
  return {errc::no_space, "no space left on " + space_path_ + ": " + mib(free)
                            + " free, less than the " + mib(min_free_)
                            + " kept free for the database (--min-free-space-mb); free some space "
                              "(writes resume by themselves) or move --data-dir to a larger "
                              "filesystem"};
}

result<std::vector<batch_outcome>> storage_engine::commit_group(
  const std::vector<prepared_batch*>& batches) {
  if (auto st = free_space_check(); !st)
    return st;
  return capture([&] { return do_commit_group(batches); });
}

result<std::vector<batch_outcome>> storage_engine::commit_batches(
  const std::vector<const write_batch*>& batches) {
  std::vector<prepared_batch> prepared;
  prepared.reserve(batches.size());
  for (auto* b : batches)
    prepared.push_back(prepare_batch(*b));
  std::vector<prepared_batch*> ptrs;
  for (auto& p : prepared)
    ptrs.push_back(&p);
  return commit_group(ptrs);
}

std::vector<std::string> storage_engine::renew_through(const queue_index& queue,
                                                       const std::string& worker,
                                                       const std::vector<std::string>& task_ids,
                                                       micros lease_until) {
  std::vector<std::string> lost;
  auto b = queue.renew_batch(worker, task_ids, lease_until, lost);
  if (b.ops.empty())
    return lost;
  auto out = value_or_throw(commit_batches({&b}));
  if (!out[0].ok())
    throw status_error{out[0].st};
  // Renewals are answered directly, not after a round's sync.
  if (deferred_sync())
    do_sync();
  return lost;
}

status storage_engine::sync() {
  return catch_status([&] { do_sync(); });
}

result<record> storage_engine::get(record_kind kind, const std::string& key) {
  return capture([&] { return do_get(kind, key); });
}

result<record_page> storage_engine::query(const record_query& q) {
  return capture([&] { return do_query(q); });
}

result<std::vector<record>> storage_engine::scan(record_kind kind, const std::string& after,
                                                 uint32_t limit) {
  return capture([&] { return do_scan(kind, after, limit); });
}

result<uint64_t> storage_engine::count(record_kind kind) {
  return capture([&] { return do_count(kind); });
}

result<claim_plan> storage_engine::plan_claims(const claim_request& req,
                                               const std::set<std::string>& reserved) {
  return capture([&] { return do_plan_claims(req, reserved); });
}

result<std::vector<std::string>> storage_engine::renew(const std::string& worker,
                                                       const std::vector<std::string>& task_ids,
                                                       micros lease_until) {
  return capture([&] { return do_renew(worker, task_ids, lease_until); });
}

result<storage_info> storage_engine::info() {
  return capture([&] { return do_info(); });
}

result<std::string> storage_engine::backup(const std::string& to) {
  return capture([&] { return do_backup(to); });
}

status storage_engine::close() {
  return catch_status([&] { do_close(); });
}

} // namespace orch
