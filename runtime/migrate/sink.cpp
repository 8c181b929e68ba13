// The pipeline's sink: gathers records into batches of one kind, journals
// each batch's intent (durably) before it can reach the target, writes it on
// a thread of its own while the next batch is gathered (double buffering),
// and marks it committed after. A merge or a resume compares with what the
// target holds, by a merge join of both in key order.
#include <chrono>
#include <future>
#include <optional>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "backends/storage_client.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/migrate/stages.hpp"

namespace orch::migration {

namespace {

using clock_type = std::chrono::steady_clock;

/// The target's records of the current kind, read in key order alongside
/// the batches (a merge join: one scan per batch rather than one lookup per
/// record).
struct target_cursor {
  int kind = -1;
  bool started = false;
  std::string after;                         // the last key read
  bool exhausted = false;
  bool ordered = true;                       // false: keys came out of order, look up one by one
  std::string batch_last;                    // the source's last key so far
  std::map<std::string, std::string> ahead;  // read, not yet compared: key -> JSON
};

/// Everything the sink owns. It lives in the actor's state, so the write in
/// flight is waited for (the future's destructor) before the actor is gone:
/// once the coordinator sees the sink's end, nothing more reaches the target.
struct sink_state {
  pipeline_config cfg;
  caf::actor coordinator;
  std::vector<record> batch;
  bool failed = false;
  clock_type::time_point kind_started = clock_type::now();
  int kind = -1;
  std::vector<double> seconds = std::vector<double>(all_record_kinds.size(), 0.0);
  // The previous batch's write, still going on while this one is gathered:
  // its failure, or success once it is durable and journaled.
  std::future<status> in_flight;
  target_cursor target;
  static inline const char* name = "migration-sink";
};

using sink_ptr = sink_actor::stateful_pointer<sink_state>;

/// Reads the target's records of `kind` up to `last` into the cursor. Keys
/// come in the same order from every backend (verification relies on it
/// too); should a target ever disagree, the sink falls back to looking
/// records up one by one.
status read_target_upto(storage_client& target, const pipeline_config& cfg, target_cursor& t,
                        record_kind kind, const std::string& last) {
  if (t.kind != static_cast<int>(kind)) {
    t = {};
    t.kind = static_cast<int>(kind);
    if (auto r = cfg.resume_after.find(kind); r != cfg.resume_after.end() && !r->second.empty()) {
      t.after = r->second;                   // what lies before was handled by the earlier run
      t.started = true;
    }
  }
  while (t.ordered && !t.exhausted && (!t.started || t.after <= last)) {
    auto page = target.scan(kind, t.after, cfg.batch_size);
    if (!page)
      return page.error().context("reading " + std::string{to_string(kind)} + " from the target failed");
    if (page->empty())
      t.exhausted = true;
    for (auto& x : *page) {
      if (t.started && x.key <= t.after) {
        t.ordered = false;
        t.ahead.clear();
        break;
      }
      t.after = x.key;
      t.started = true;
      t.ahead.emplace(std::move(x.key), std::move(x.json));
    }
  }
  return {};
}

/// Waits for the batch being written.
status finish_in_flight(sink_state& st) {
  if (!st.in_flight.valid())
    return {};
  return st.in_flight.get();
}

/// The batch's records the target lacks or holds differently; `replaced`
/// gets what they replace (for the journal, so a rollback can put it back).
result<std::vector<record>> compare_with_target(sink_state& st, storage_client& target,
                                                std::map<std::string, std::string>& replaced) {
  auto& cfg = st.cfg;
  auto kind = st.batch.front().kind;
  auto k = static_cast<size_t>(kind);
  auto last = st.batch.back().key;
  std::vector<record> to_write;
  if (!cfg.compare_existing) {
    to_write = std::move(st.batch);
    return to_write;
  }
  auto& t = st.target;
  if (auto read = read_target_upto(target, cfg, t, kind, last); !read)
    return read;
  // The join needs the source in the same order; should it ever not be,
  // look up one by one from here on.
  for (auto& r : st.batch) {
    if (!t.batch_last.empty() && r.key <= t.batch_last) {
      t.ordered = false;
      t.ahead.clear();
    }
    t.batch_last = r.key;
  }
  for (auto& r : st.batch) {
    std::optional<std::string> existing;
    if (t.ordered) {
      if (auto i = t.ahead.find(r.key); i != t.ahead.end())
        existing = std::move(i->second);
    } else if (auto got = target.get(kind, r.key); got) {
      existing = std::move(got->json);
    } else if (got.code() != errc::not_found) {
      return got.error().context("reading " + std::string{to_string(kind)} + " " + r.key
                                 + " from the target failed");
    }
    if (existing) {
      if (canonical(json::parse(*existing)) == canonical(json::parse(r.json))) {
        ++cfg.counts->unchanged[k];
        continue;
      }
      replaced.emplace(r.key, std::move(*existing));
    }
    to_write.push_back(std::move(r));
  }
  // Target records up to here that the source does not have stay as they are.
  t.ahead.erase(t.ahead.begin(), t.ahead.upper_bound(last));
  return to_write;
}

void report_batch(const pipeline_config& cfg, record_kind kind, size_t written, size_t of,
                  const std::string& last, clock_type::time_point started) {
  if (!cfg.verbose)
    return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
  log_info("migrate", std::string{cfg.dry_run ? "would write " : "wrote "} + std::to_string(written)
                        + " of " + std::to_string(of) + " " + to_string(kind) + " records (up to "
                        + last + ") in " + std::to_string(ms.count()) + " ms");
}

/// The batch's write on a thread of its own, then its commit mark. At most
/// one is in flight (the caller waited for the one before), so commit marks
/// stay in order.
status start_write(caf::actor_system& sys, sink_state& st, std::vector<record> to_write,
                   record_kind kind, std::string last, size_t of, clock_type::time_point started) {
  write_batch b;
  b.ops.reserve(to_write.size());
  for (auto& r : to_write)
    b.ops.push_back({record_op::put, std::move(r)});
  auto& cfg = st.cfg;
  try {
    st.in_flight = std::async(std::launch::async, [&sys, cfg, b = std::move(b), kind, last, of,
                                                   started]() -> status {
      auto k = static_cast<size_t>(kind);
      auto where = "writing " + std::to_string(b.ops.size()) + " " + to_string(kind)
                   + " records to the target failed";
      auto done = storage_client{sys, cfg.target}.commit(b);
      if (!done)
        return done.error().context(where);
      if (auto marked = cfg.journal->commit(kind, last, b.ops.size()); !marked)
        return marked;
      cfg.counts->written[k] += b.ops.size();
      report_batch(cfg, kind, b.ops.size(), of, last, started);
      return {};
    });
  } catch (const std::exception& e) {  // no thread for the write
    return {errc::internal, std::string{"cannot start the write of a batch: "} + e.what()};
  }
  return {};
}

/// Hands the gathered batch to the target: compare (merge, resume), journal
/// its intent (synced) first, then write it while the next one is gathered.
status flush(caf::actor_system& sys, sink_state& st) {
  if (st.batch.empty())
    return {};
  auto& cfg = st.cfg;
  auto kind = st.batch.front().kind;
  auto of = st.batch.size();
  auto last = st.batch.back().key;
  auto started = clock_type::now();
  storage_client target{sys, cfg.target};
  std::map<std::string, std::string> replaced;
  auto to_write = compare_with_target(st, target, replaced);
  st.batch.clear();
  if (!to_write)
    return to_write.error();
  if (cfg.dry_run) {
    cfg.counts->written[static_cast<size_t>(kind)] += to_write->size();
    report_batch(cfg, kind, to_write->size(), of, last, started);
    return {};
  }
  if (to_write->empty()) {
    if (auto before = finish_in_flight(st); !before)
      return before;
    report_batch(cfg, kind, 0, of, last, started);
    return cfg.journal->commit(kind, last, 0);
  }
  std::vector<std::string> keys;
  keys.reserve(to_write->size());
  for (auto& r : *to_write)
    keys.push_back(r.key);
  // The intent is durable before any of the batch can reach the target, so a
  // rollback knows these keys even if we die in the middle of the write.
  if (auto intent = cfg.journal->intent(kind, keys, replaced); !intent)
    return intent;
  if (auto before = finish_in_flight(st); !before)
    return before;
  return start_write(sys, st, std::move(*to_write), kind, last, of, started);
}

void note_kind(sink_state& st, int kind) {
  auto now = clock_type::now();
  if (st.kind >= 0)
    st.seconds[static_cast<size_t>(st.kind)] +=
      std::chrono::duration<double>(now - st.kind_started).count();
  st.kind = kind;
  st.kind_started = now;
}

void fail(sink_ptr self, const status& why) {
  auto& st = self->state;
  st.failed = true;
  (void) finish_in_flight(st);
  caf::anon_send(st.coordinator, done_atom_v, why.message(), st.seconds);
}

/// Gathers batches (one kind each) and hands them to flush; holds at most a
/// batch being gathered and about a batch on its way.
class sink_driver final : public caf::stream_sink_driver<record> {
public:
  explicit sink_driver(sink_ptr self)
    : self_(self), cap_(credit_limit(self->state.cfg.batch_size)) {}

  void process(std::vector<record>& xs) override {
    auto& st = self_->state;
    cap_.received(xs.size());
    st.cfg.counts->delivered += xs.size();
    if (st.failed)
      return;
    for (auto& r : xs) {
      bool new_kind = !st.batch.empty() && st.batch.front().kind != r.kind;
      if (new_kind || st.batch.size() >= st.cfg.batch_size)
        if (auto flushed = guarded_flush(); !flushed)
          return fail(self_, flushed);
      if (st.kind != static_cast<int>(r.kind))
        note_kind(st, static_cast<int>(r.kind));
      st.batch.push_back(std::move(r));
    }
  }

  void finalize(const caf::error& err) override {
    auto& st = self_->state;
    if (st.failed)
      return;
    if (err)
      return fail(self_, {errc::internal, "the migration pipeline stopped: " + caf::to_string(err)});
    auto flushed = guarded_flush();
    auto written = finish_in_flight(st);
    if (!flushed)
      return fail(self_, flushed);
    if (!written)
      return fail(self_, written);
    note_kind(st, -1);
    caf::anon_send(st.coordinator, done_atom_v, std::string{}, st.seconds);
  }

  int32_t acquire_credit(caf::inbound_path*, int32_t desired) override {
    return cap_.grant(desired, self_->state.batch.size());
  }

private:
  /// flush, with anything thrown (out of memory) as its failure.
  status guarded_flush() {
    status out;
    auto caught = catch_status([&] { out = flush(self_->system(), self_->state); });
    return caught ? out : caught;
  }

  sink_ptr self_;
  credit_cap cap_;
};

sink_actor::behavior_type sink_fn(sink_ptr self, pipeline_config cfg, caf::actor coordinator) {
  self->state.cfg = std::move(cfg);
  self->state.coordinator = std::move(coordinator);
  return {
    [=](caf::stream<record> in) -> caf::result<void> {
      return caf::attach_stream_sink<sink_driver>(self, in, self);
    },
  };
}

} // namespace

sink_actor spawn_sink(caf::actor_system& sys, const pipeline_config& cfg, caf::actor coordinator) {
  return sys.spawn<caf::detached>(sink_fn, cfg, std::move(coordinator));
}

} // namespace orch::migration
