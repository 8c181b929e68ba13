#include "actors/migration.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "caf/all.hpp"

#include "backends/record_scan.hpp"
#include "runtime/log.hpp"
#include "runtime/model/codec.hpp"
#include "runtime/storage_client.hpp"

namespace orch::migration {

namespace {

using clock_type = std::chrono::steady_clock;

struct shared_ctx {
  pipeline_config cfg;
  caf::actor coordinator;                    // gets (done_atom, error text) once
  std::map<record_kind, double> seconds;     // written by the sink only
  // Writes handed to a thread and not finished yet: the pipeline is over (and
  // a rollback may start) only when this is zero.
  std::mutex writes_mutex;
  std::condition_variable writes_done;
  int writes_in_flight = 0;
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
    ctx.cfg.counts->read[static_cast<size_t>(kind)] += batch.value.size();
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

// -- stage ------------------------------------------------------------------------------

struct stage_state {
  bool failed = false;
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
      return caf::attach_stream_stage(
        self, in, [](stage_state&) {},
        [=](stage_state& st, caf::downstream<record>& out, record r) {
          if (st.failed)
            return;
          auto k = static_cast<size_t>(r.kind);
          if (!ctx->cfg.filter->include(r)) {
            ++ctx->cfg.counts->skipped[k];
            return;
          }
          record_summary sum;
          if (auto err = scan_record(r.kind, r.json, sum); !err.empty() || sum.key != r.key) {
            st.failed = true;
            report(ctx, "the source holds an invalid " + std::string{to_string(r.kind)}
                          + " record " + r.key + ": "
                          + (err.empty() ? "its key does not match its content" : err)
                          + "; nothing of it was written. Repair or remove it, or leave its kind "
                            "out with --kinds");
            return;
          }
          out.push(std::move(r));
        },
        [](stage_state&, const caf::error&) {});
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
};

/// Waits for the batch being written; its error or "".
std::string finish_in_flight(sink_state& st) {
  if (!st.in_flight.valid())
    return {};
  return st.in_flight.get();
}

/// Hands one batch to the target: journal intent (synced) first, then the
/// write on a thread of its own, then the commit mark. At most one write is
/// in flight, so commit marks stay in order. Records already in the target
/// with the same content are left alone.
std::string flush(caf::actor_system& sys, shared_ctx& ctx, sink_state& st) {
  if (st.batch.empty())
    return {};
  auto& cfg = ctx.cfg;
  auto kind = st.batch.front().kind;
  auto k = static_cast<size_t>(kind);
  auto started = clock_type::now();
  storage_client target{sys, cfg.target};
  std::vector<record> to_write;
  std::map<std::string, std::string> replaced;
  size_t batch_size = st.batch.size();
  for (auto& r : st.batch) {
    if (cfg.compare_existing) {
      auto existing = target.get(kind, r.key);
      if (existing.ok) {
        if (canonical(json::parse(existing.value.json)) == canonical(json::parse(r.json))) {
          ++cfg.counts->unchanged[k];
          continue;
        }
        replaced.emplace(r.key, existing.value.json);
      } else if (existing.code != errc::not_found) {
        return "reading " + std::string{to_string(kind)} + " " + r.key
               + " from the target failed: " + existing.error;
      }
    }
    to_write.push_back(std::move(r));
  }
  auto last = st.batch.back().key;
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
  {
    std::lock_guard<std::mutex> guard{ctx.writes_mutex};
    ++ctx.writes_in_flight;
  }
  st.in_flight = std::async(
    std::launch::async, [&sys, &ctx, &cfg, b = std::move(b), kind, k, last, report_batch]() {
      auto done = storage_client{sys, cfg.target}.commit(b);
      std::string error;
      if (done.ok) {
        cfg.journal->commit(kind, last, b.ops.size());
        cfg.counts->written[k] += b.ops.size();
        report_batch(b.ops.size());
      } else {
        error = "writing " + std::to_string(b.ops.size()) + " " + to_string(kind)
                + " records to the target failed: " + done.error;
      }
      std::lock_guard<std::mutex> guard{ctx.writes_mutex};
      --ctx.writes_in_flight;
      ctx.writes_done.notify_all();
      return error;
    });
  return {};
}

void note_kind(shared_ctx& ctx, sink_state& st, int kind) {
  auto now = clock_type::now();
  if (st.kind >= 0)
    ctx.seconds[static_cast<record_kind>(st.kind)] +=
      std::chrono::duration<double>(now - st.kind_started).count();
  st.kind = kind;
  st.kind_started = now;
}

caf::behavior sink_fn(caf::event_based_actor* self, std::shared_ptr<shared_ctx> ctx) {
  return {
    [=](caf::stream<record> in) {
      return caf::attach_stream_sink(
        self, in, [](sink_state&) {},
        [=](sink_state& st, std::vector<record>& xs) {
          if (st.failed)
            return;
          for (auto& r : xs) {
            bool new_kind = !st.batch.empty() && st.batch.front().kind != r.kind;
            if (new_kind || st.batch.size() >= ctx->cfg.batch_size) {
              if (auto err = flush(self->system(), *ctx, st); !err.empty()) {
                st.failed = true;
                finish_in_flight(st);
                report(ctx, err);
                return;
              }
            }
            if (st.kind != static_cast<int>(r.kind))
              note_kind(*ctx, st, static_cast<int>(r.kind));
            st.batch.push_back(std::move(r));
          }
        },
        [=](sink_state& st, const caf::error& err) {
          if (st.failed)
            return;
          if (err) {
            finish_in_flight(st);
            report(ctx, "the migration pipeline stopped: " + caf::to_string(err));
            return;
          }
          auto e = flush(self->system(), *ctx, st);
          if (auto last = finish_in_flight(st); e.empty())
            e = last;
          if (!e.empty()) {
            report(ctx, e);
            return;
          }
          note_kind(*ctx, st, -1);
          report(ctx, "");
        });
    },
  };
}

} // namespace

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
  // But a write still going on must end before anyone looks at the target.
  {
    std::unique_lock<std::mutex> lock{ctx->writes_mutex};
    ctx->writes_done.wait(lock, [&] { return ctx->writes_in_flight == 0; });
  }
  out.seconds = ctx->seconds;
  return out;
}

} // namespace orch::migration
