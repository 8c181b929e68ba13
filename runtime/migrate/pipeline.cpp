#include "runtime/migrate/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>

#include "caf/all.hpp"

#include "runtime/core/record_scan.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "backends/storage_client.hpp"

namespace orch::migration {

namespace {

using clock_type = std::chrono::steady_clock;

struct shared_ctx {
  pipeline_config cfg;
  caf::actor coordinator;                    // gets (done_atom, error text) once
  std::map<record_kind, double> seconds;     // written by the sink (under writes_mutex)
  // The sink's batches at the target or the journal (being prepared, or
  // written on a thread of their own) not finished yet: the pipeline is over
  // (and a rollback may start) only when this is zero and `stopped` is set,
  // after which none starts (both under writes_mutex).
  std::mutex writes_mutex;
  std::condition_variable writes_done;
  int writes_in_flight = 0;
  bool stopped = false;
};

void report(const std::shared_ptr<shared_ctx>& ctx, const std::string& error) {
  caf::anon_send(ctx->coordinator, done_atom_v, error);
}

// -- source ----------------------------------------------------------------------------

struct source_state {
  size_t kind_index = 0;
  std::string cursor;
  std::vector<record> buffer;
  size_t pos = 0;
  bool finished = false;
  bool started = false;
};

/// Fills the buffer with the next batch (blocking scan); false once done.
bool refill(caf::actor_system& sys, shared_ctx& ctx, source_state& st,
            const std::shared_ptr<shared_ctx>& shared) {
  auto& order = ctx.cfg.order;
  while (st.kind_index < order.size()) {
    auto kind = order[st.kind_index];
    if (!st.started) {
      st.started = true;
      auto r = ctx.cfg.resume_after.find(kind);
      st.cursor = r == ctx.cfg.resume_after.end() ? std::string{} : r->second;
      ctx.cfg.counts->current_kind = static_cast<int>(kind);
    }
    storage_client db{sys, ctx.cfg.source};
    auto batch = db.scan(kind, st.cursor, ctx.cfg.batch_size);
    if (!batch.ok) {
      report(shared, "reading " + std::string{to_string(kind)} + " from the source failed: "
                       + batch.error);
      st.finished = true;
      return false;
    }
    if (batch.value.empty()) {  // this kind is done
      ++st.kind_index;
      st.started = false;
      continue;
    }
    st.cursor = batch.value.back().key;
    auto& c = *ctx.cfg.counts;
    c.read[static_cast<size_t>(kind)] += batch.value.size();
    auto in_flight = c.read_total() - c.skipped_total() - c.delivered;
    for (auto seen = c.max_in_flight.load(); in_flight > seen
                                             && !c.max_in_flight.compare_exchange_weak(seen, in_flight);) {
    }
    st.buffer = std::move(batch.value);
    st.pos = 0;
    return true;
  }
  st.finished = true;
  return false;
}

caf::behavior source_fn(caf::event_based_actor* self, std::shared_ptr<shared_ctx> ctx) {
  return {
    [=](caf::open_atom) {
      return caf::attach_stream_source(
        self, [](source_state&) {},
        [=](source_state& st, caf::downstream<record>& out, size_t hint) {
          for (size_t n = 0; n < hint && !st.finished; ++n) {
            if (st.pos == st.buffer.size() && !refill(self->system(), *ctx, st, ctx))
              break;
            out.push(std::move(st.buffer[st.pos++]));
          }
        },
        [](const source_state& st) { return st.finished; },
        [](source_state&, const caf::error&) {});
    },
  };
}

// -- credit ------------------------------------------------------------------------------

/// CAF 0.17 sizes a path's credit by measured processing time alone, so a fast
/// stage in front of a slow sink would pull the whole source into its output
/// buffer (measured: 500k records read in 2 s while the sink had 60k, and a
/// peak RSS that grew with the data). This caps what one actor has asked for
/// and not yet received, plus what it still holds, at `limit` records.
class credit_cap {
public:
  explicit credit_cap(size_t limit) : limit_(static_cast<int64_t>(limit)) {}

  int32_t grant(int32_t desired, size_t held) {
    auto outstanding = std::max<int64_t>(0, granted_ - received_);
    auto room = limit_ - outstanding - static_cast<int64_t>(held);
    auto n = static_cast<int32_t>(std::clamp<int64_t>(room, 0, desired));
    granted_ += n;
    return n;
  }

  void received(size_t n) { received_ += static_cast<int64_t>(n); }

private:
  int64_t limit_;
  int64_t granted_ = 0;
  int64_t received_ = 0;
};

/// What each of stage and sink may hold or have asked for: four batches (two
/// allowed half the throughput: credit comes in rounds), at least 2000 records.
size_t credit_limit(size_t batch_size) {
  return std::max<size_t>(4 * batch_size, 2000);
}

/// CAF gives every new path this much credit before any round.
constexpr size_t initial_credit = caf::inbound_path::initial_credit;

// -- stage ------------------------------------------------------------------------------

class stage_driver final
  : public caf::stream_stage_driver<record, caf::broadcast_downstream_manager<record>> {
public:
  stage_driver(caf::broadcast_downstream_manager<record>& out, std::shared_ptr<shared_ctx> ctx)
    : stream_stage_driver(out), ctx_(std::move(ctx)), cap_(credit_limit(ctx_->cfg.batch_size)) {}

  void process(caf::downstream<record>& out, std::vector<record>& xs) override {
    cap_.received(xs.size());
    for (auto& r : xs) {
      if (failed_)
        return;
      auto k = static_cast<size_t>(r.kind);
      // One scan serves the filter and the check.
      record_summary sum;
      auto scanned = scan_record(r.kind, r.json, sum);
      if (!ctx_->cfg.filter->include(r, sum, scanned.ok())) {
        ++ctx_->cfg.counts->skipped[k];
        continue;
      }
      if (!scanned || sum.key != r.key) {
        failed_ = true;
        report(ctx_, "the source holds an invalid " + std::string{to_string(r.kind)} + " record "
                       + r.key + ": " + (scanned ? "its key does not match its content" : scanned.message())
                       + "; nothing of it was written. Repair or remove it, or leave its kind "
                         "out with --kinds");
        return;
      }
      out.push(std::move(r));
    }
  }

  int32_t acquire_credit(caf::inbound_path*, int32_t desired) override {
    return cap_.grant(desired, out_.buffered());
  }

private:
  std::shared_ptr<shared_ctx> ctx_;
  credit_cap cap_;
  bool failed_ = false;
};

caf::behavior stage_fn(caf::event_based_actor* self, std::shared_ptr<shared_ctx> ctx) {
  // Tasks the filter has not seen are looked up in the source (blocking: the
  // stage runs detached).
  ctx->cfg.filter->set_task_lookup([sys = &self->system(), source = ctx->cfg.source](
                                     const std::string& id) {
    auto t = storage_client{*sys, source}.get(record_kind::task, id);
    return t.ok ? t.value.json : std::string{};
  });
  return {
    [=](caf::stream<record> in) {
      // Spelled out: attach_stream_stage<Driver> collides with its overload
      // for callbacks in CAF 0.17.
      auto mgr = caf::detail::make_stream_stage<stage_driver>(self, ctx);
      auto in_slot = mgr->add_inbound_path(in);
      auto out_slot = mgr->add_outbound_path();
      return caf::make_stage_result_t<record, caf::broadcast_downstream_manager<record>>{
        in_slot, out_slot, std::move(mgr)};
    },
  };
}

// -- sink -------------------------------------------------------------------------------

struct sink_state {
  std::vector<record> batch;
  bool failed = false;
  clock_type::time_point kind_started = clock_type::now();
  int kind = -1;
  // The previous batch's write, still going on while this one is gathered
  // (double buffering): its error, or "" once it is durable and journaled.
  std::future<std::string> in_flight;
  // A merge or a resume compares with what the target holds: its records of
  // the current kind are read in key order alongside the batches (a merge
  // join, one scan per batch rather than one lookup per record).
  struct {
    int kind = -1;
    bool started = false;
    std::string after;                       // the last key read
    bool exhausted = false;
    bool ordered = true;                     // false: keys came out of order, look up one by one
    std::string batch_last;                  // the source's last key so far
    std::map<std::string, std::string> ahead;  // read, not yet compared: key -> JSON
  } target;
};

/// Reads the target's records of `kind` up to `last` into st.target.ahead; an
/// error or "". Keys come in the same order from every backend (verification
/// relies on it too); should a target ever disagree, the sink falls back to
/// looking records up one by one.
std::string read_target_upto(storage_client& target, const pipeline_config& cfg, sink_state& st,
                             record_kind kind, const std::string& last) {
  auto& t = st.target;
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
    if (!page.ok)
      return "reading " + std::string{to_string(kind)} + " from the target failed: " + page.error;
    if (page.value.empty())
      t.exhausted = true;
    for (auto& x : page.value) {
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

/// Waits for the batch being written; its error or "".
std::string finish_in_flight(sink_state& st) {
  if (!st.in_flight.valid())
    return {};
  return st.in_flight.get();
}

/// Counts the sink's use of the target and the journal as in flight, so that
/// run_pipeline waits for it; refused once the pipeline has stopped. A batch's
/// write takes it along to its thread.
class target_activity {
public:
  explicit target_activity(shared_ctx& ctx) : ctx_(ctx) {
    std::lock_guard<std::mutex> guard{ctx_.writes_mutex};
    if (ctx_.stopped)
      return;
    ++ctx_.writes_in_flight;
    held_ = true;
  }
  ~target_activity() {
    if (!held_)
      return;
    std::lock_guard<std::mutex> guard{ctx_.writes_mutex};
    --ctx_.writes_in_flight;
    ctx_.writes_done.notify_all();
  }
  target_activity(target_activity&& other) noexcept : ctx_(other.ctx_), held_(other.held_) {
    other.held_ = false;
  }
  target_activity& operator=(target_activity&&) = delete;
  bool held() const { return held_; }

private:
  shared_ctx& ctx_;
  bool held_ = false;
};

/// Hands one batch to the target: journal intent (synced) first, then the
/// write on a thread of its own, then the commit mark. At most one write is
/// in flight, so commit marks stay in order. Records already in the target
/// with the same content are left alone.
std::string flush(caf::actor_system& sys, shared_ctx& ctx, sink_state& st) {
  if (st.batch.empty())
    return {};
  target_activity active{ctx};
  if (!active.held())
    return "the migration stopped";
  auto& cfg = ctx.cfg;
  auto kind = st.batch.front().kind;
  auto k = static_cast<size_t>(kind);
  auto started = clock_type::now();
  storage_client target{sys, cfg.target};
  std::vector<record> to_write;
  std::map<std::string, std::string> replaced;
  size_t batch_size = st.batch.size();
  auto last = st.batch.back().key;           // before the records move on
  if (cfg.compare_existing) {
    if (auto err = read_target_upto(target, cfg, st, kind, last); !err.empty())
      return err;
    // The join needs the source in the same order; should it ever not be,
    // look up one by one from here on.
    auto& t = st.target;
    for (auto& r : st.batch) {
      if (!t.batch_last.empty() && r.key <= t.batch_last) {
        t.ordered = false;
        t.ahead.clear();
      }
      t.batch_last = r.key;
    }
  }
  for (auto& r : st.batch) {
    if (cfg.compare_existing) {
      std::optional<std::string> existing;
      if (st.target.ordered) {
        if (auto i = st.target.ahead.find(r.key); i != st.target.ahead.end())
          existing = std::move(i->second);
      } else if (auto got = target.get(kind, r.key); got.ok) {
        existing = std::move(got.value.json);
      } else if (got.code != errc::not_found) {
        return "reading " + std::string{to_string(kind)} + " " + r.key
               + " from the target failed: " + got.error;
      }
      if (existing) {
        if (canonical(json::parse(*existing)) == canonical(json::parse(r.json))) {
          ++cfg.counts->unchanged[k];
          continue;
        }
        replaced.emplace(r.key, std::move(*existing));
      }
    }
    to_write.push_back(std::move(r));
  }
  // Target records up to here that the source does not have stay as they are.
  auto& ahead = st.target.ahead;
  ahead.erase(ahead.begin(), ahead.upper_bound(last));
  st.batch.clear();
  auto report_batch = [&cfg, kind, batch_size, last, started](size_t written) {
    if (cfg.verbose)
      log_info("migrate",
               std::string{cfg.dry_run ? "would write " : "wrote "} + std::to_string(written)
                 + " of " + std::to_string(batch_size) + " " + to_string(kind)
                 + " records (up to " + last + ") in "
                 + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    clock_type::now() - started)
                                    .count())
                 + " ms");
  };
  if (cfg.dry_run) {
    cfg.counts->written[k] += to_write.size();
    report_batch(to_write.size());
    return {};
  }
  if (to_write.empty()) {
    if (auto err = finish_in_flight(st); !err.empty())
      return err;
    cfg.journal->commit(kind, last, 0);
    report_batch(0);
    return {};
  }
  std::vector<std::string> keys;
  keys.reserve(to_write.size());
  for (auto& r : to_write)
    keys.push_back(r.key);
  // The intent is durable before any of the batch can reach the target, so a
  // rollback knows these keys even if we die in the middle of the write.
  cfg.journal->intent(kind, keys, replaced);
  if (auto err = finish_in_flight(st); !err.empty())
    return err;
  write_batch b;
  b.ops.reserve(to_write.size());
  for (auto& r : to_write)
    b.ops.push_back({record_op::put, std::move(r)});
  try {
    st.in_flight = std::async(
      std::launch::async,
      [&sys, &cfg, b = std::move(b), kind, k, last, report_batch,
       active = std::move(active)]() mutable {
        // Released when this function returns (std::async keeps the function
        // object itself until the future goes): then run_pipeline may go on.
        target_activity held{std::move(active)};
        auto failed = [&](const std::string& why) {
          return "writing " + std::to_string(b.ops.size()) + " " + to_string(kind)
                 + " records to the target failed" + (why.empty() ? "" : ": " + why);
        };
        try {
          auto done = storage_client{sys, cfg.target}.commit(b);
          if (!done.ok)
            return failed(done.error);
          cfg.journal->commit(kind, last, b.ops.size());
          cfg.counts->written[k] += b.ops.size();
          report_batch(b.ops.size());
          return std::string{};
        } catch (const std::exception& e) {
          return failed(e.what());
        } catch (...) {
          return failed("");
        }
      });
  } catch (const std::exception& e) {  // no thread for the write (`active` went with it)
    return std::string{"cannot start the write of a batch: "} + e.what();
  } catch (...) {
    return "cannot start the write of a batch";
  }
  return {};
}

void note_kind(shared_ctx& ctx, sink_state& st, int kind) {
  auto now = clock_type::now();
  if (st.kind >= 0) {
    std::lock_guard<std::mutex> guard{ctx.writes_mutex};  // run_pipeline reads them
    ctx.seconds[static_cast<record_kind>(st.kind)] +=
      std::chrono::duration<double>(now - st.kind_started).count();
  }
  st.kind = kind;
  st.kind_started = now;
}

/// flush, with anything thrown (a journal that cannot be written) as its error.
std::string flush_guarded(caf::actor_system& sys, shared_ctx& ctx, sink_state& st) {
  try {
    return flush(sys, ctx, st);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "the sink failed";
  }
}

/// Gathers batches (one kind each) and hands them to flush; holds at most a
/// batch being gathered and about a batch on its way.
class sink_driver final : public caf::stream_sink_driver<record> {
public:
  sink_driver(caf::actor_system& sys, std::shared_ptr<shared_ctx> ctx)
    : sys_(sys), ctx_(std::move(ctx)), cap_(credit_limit(ctx_->cfg.batch_size)) {}

  void process(std::vector<record>& xs) override {
    cap_.received(xs.size());
    ctx_->cfg.counts->delivered += xs.size();
    if (st_.failed)
      return;
    for (auto& r : xs) {
      bool new_kind = !st_.batch.empty() && st_.batch.front().kind != r.kind;
      if (new_kind || st_.batch.size() >= ctx_->cfg.batch_size) {
        if (auto err = flush_guarded(sys_, *ctx_, st_); !err.empty()) {
          st_.failed = true;
          finish_in_flight(st_);
          report(ctx_, err);
          return;
        }
      }
      if (st_.kind != static_cast<int>(r.kind))
        note_kind(*ctx_, st_, static_cast<int>(r.kind));
      st_.batch.push_back(std::move(r));
    }
  }

  void finalize(const caf::error& err) override {
    if (st_.failed)
      return;
    if (err) {
      finish_in_flight(st_);
      report(ctx_, "the migration pipeline stopped: " + caf::to_string(err));
      return;
    }
    auto e = flush_guarded(sys_, *ctx_, st_);
    if (auto last = finish_in_flight(st_); e.empty())
      e = last;
    if (!e.empty()) {
      report(ctx_, e);
      return;
    }
    note_kind(*ctx_, st_, -1);
    report(ctx_, "");
  }

  int32_t acquire_credit(caf::inbound_path*, int32_t desired) override {
    return cap_.grant(desired, st_.batch.size());
  }

private:
  caf::actor_system& sys_;
  std::shared_ptr<shared_ctx> ctx_;
  sink_state st_;
  credit_cap cap_;
};

caf::behavior sink_fn(caf::event_based_actor* self, std::shared_ptr<shared_ctx> ctx) {
  return {
    [=](caf::stream<record> in) {
      return caf::attach_stream_sink<sink_driver>(self, in, self->system(), ctx);
    },
  };
}

} // namespace

size_t max_records_in_flight(size_t batch_size) {
  // The source's scanned batch, then stage and sink, each holding or owed
  // at most its credit limit.
  return batch_size + 2 * (credit_limit(batch_size) + initial_credit);
}

pipeline_outcome run_pipeline(caf::actor_system& sys, const pipeline_config& cfg) {
  caf::scoped_actor self{sys};
  auto ctx = std::make_shared<shared_ctx>();
  ctx->cfg = cfg;
  ctx->coordinator = caf::actor_cast<caf::actor>(self);
  auto src = sys.spawn<caf::detached>(source_fn, ctx);
  auto stg = sys.spawn<caf::detached>(stage_fn, ctx);
  auto snk = sys.spawn<caf::detached>(sink_fn, ctx);
  for (auto& a : {src, stg, snk})
    self->monitor(a);
  auto pipeline = snk * stg * src;
  self->send(pipeline, caf::open_atom_v);
  pipeline_outcome out;
  bool finished = false;
  while (!finished) {
    self->receive(
      [&](done_atom, const std::string& error) {
        out.ok = error.empty();
        out.error = error;
        finished = true;
      },
      [&](caf::down_msg& dm) {
        // A part ended before the sink reported: it failed.
        if (dm.reason && dm.reason != caf::exit_reason::normal) {
          out.ok = false;
          out.error = "a stage of the migration failed: " + caf::to_string(dm.reason);
          finished = true;
        }
      });
  }
  // Source and sink may be blocked in a backend call: they end after it.
  for (auto& a : {src, stg, snk})
    caf::anon_send_exit(a, caf::exit_reason::kill);
  // But a write still going on must end, and no other may start, before
  // anyone looks at the target (a rollback may be next).
  std::unique_lock<std::mutex> lock{ctx->writes_mutex};
  ctx->stopped = true;
  ctx->writes_done.wait(lock, [&] { return ctx->writes_in_flight == 0; });
  out.seconds = ctx->seconds;
  return out;
}

} // namespace orch::migration
