// A synchronous storage engine: the blocking half of a local backend
// (filesystem, RocksDB). spawn_engine_actor() puts it behind the storage_actor
// interface on a thread of its own and adds group commit: every write batch
// and claim that arrives while the engine is busy is committed in the next
// round with a single durable sync, and each caller is answered after it.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"

namespace orch {

struct prepared_batch;  // backends/engine/group_plan.hpp
class queue_index;      // backends/engine/queue_index.hpp

/// The outcome of one batch inside a group commit.
struct batch_outcome {
  status st;                                 // failed: nothing of the batch was written
  uint64_t applied = 0;
  bool ok() const { return st.ok(); }
};

/// Claims chosen but not yet written: batches[i] claims tasks[i].
struct claim_plan {
  std::vector<claimed_task> tasks;
  std::vector<write_batch> batches;
  micros next_ready = 0;                     // earliest not_before still waiting; 0: none
};

/// What a reader is told about a record that is not there, the same from
/// every backend ("task <id> does not exist").
std::string not_found_message(record_kind kind, const std::string& key);

/// A failed result's status thrown as status_error, else its value: for
/// engine code that goes on through another engine's results.
template <class T>
T value_or_throw(result<T> r) {
  if (!r)
    throw status_error{r.error()};
  return std::move(r).value();
}

/// The contract every synchronous engine fulfils. Callers get results and
/// statuses; engines implement the do_ methods, which may throw status_error
/// (and nothing else escapes: the public methods catch it all).
class storage_engine {
public:
  /// Refuses every write with errc::no_space while the filesystem holding
  /// `path` has less than `min_free` bytes free (0: never): the database
  /// itself never meets a full disk in the middle of a write, and writes
  /// resume by themselves once there is room.
  void refuse_writes_below(std::string path, uint64_t min_free);

  virtual ~storage_engine();

  /// Commit the batches in order, each atomically and checked against the
  /// state left by the ones before it. Durable when this returns, unless the
  /// engine defers its sync (see deferred_sync()). A failure of the whole
  /// group (the disk, the database) fails it; a batch's own failure (a
  /// precondition) is in its outcome.
  result<std::vector<batch_outcome>> commit_group(const std::vector<prepared_batch*>& batches);

  /// commit_group() for batches not prepared yet (engines' own writes).
  result<std::vector<batch_outcome>> commit_batches(const std::vector<const write_batch*>& batches);

  /// True if commit_group() returns once the writes are applied but before
  /// they are durable; sync() then makes everything written so far durable.
  /// The actor answers writers only after that sync, and runs it on a thread
  /// of its own so the next round is prepared while the disk syncs.
  virtual bool deferred_sync() const { return false; }

  /// Makes every write so far durable; may run concurrently with the other
  /// methods.
  status sync();

  result<record> get(record_kind kind, const std::string& key);
  result<record_page> query(const record_query& q);
  result<std::vector<record>> scan(record_kind kind, const std::string& after, uint32_t limit);
  result<uint64_t> count(record_kind kind);
  /// Chooses up to req.limit ready queue entries (not in `reserved`: those
  /// another claim of the same round took) and prepares their claims with
  /// claim_transition(). Nothing is written: the actor commits the batches
  /// with the round's other writes.
  result<claim_plan> plan_claims(const claim_request& req, const std::set<std::string>& reserved);
  result<std::vector<std::string>> renew(const std::string& worker,
                                         const std::vector<std::string>& task_ids,
                                         micros lease_until);
  result<storage_info> info();
  /// Consistent copy into the new directory `to`; returns what was written.
  result<std::string> backup(const std::string& to);
  status close();

protected:
  /// do_renew() for an engine whose claims live in `queue`: commits the
  /// extended leases as one batch, durably before it returns, and gives the
  /// ids whose lease is gone.
  std::vector<std::string> renew_through(const queue_index& queue, const std::string& worker,
                                         const std::vector<std::string>& task_ids,
                                         micros lease_until);

  virtual std::vector<batch_outcome> do_commit_group(const std::vector<prepared_batch*>& batches)
    = 0;
  virtual void do_sync() {}
  virtual record do_get(record_kind kind, const std::string& key) = 0;
  virtual record_page do_query(const record_query& q) = 0;
  virtual std::vector<record> do_scan(record_kind kind, const std::string& after, uint32_t limit)
    = 0;
  virtual uint64_t do_count(record_kind kind) = 0;
  virtual claim_plan do_plan_claims(const claim_request& req,
                                    const std::set<std::string>& reserved) = 0;
  virtual std::vector<std::string> do_renew(const std::string& worker,
                                            const std::vector<std::string>& task_ids,
                                            micros lease_until) = 0;
  virtual storage_info do_info() = 0;
  virtual std::string do_backup(const std::string& to) = 0;
  virtual void do_close() = 0;

private:
  status free_space_check() const;
  std::string space_path_;
  uint64_t min_free_ = 0;
};

} // namespace orch
