// The scheduler's drain and lost-claim paths, in-process on real storage
// (the filesystem engine in a temp dir): a drain stops what runs and queues
// it again without counting the attempt; a claim taken over by someone else
// stops the attempt here, and its outcome is left to the new owner.
#include <catch2/catch.hpp>

#include "caf/all.hpp"

#include "actors/events.hpp"
#include "actors/metrics.hpp"
#include "actors/scheduler.hpp"
#include "backends/storage_client.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/actor_env.hpp"
#include "tests/support/open.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// A scheduler with one slot on a fresh filesystem store.
struct scheduler_fixture {
  temp_dir dir{"orch-scheduler"};
  actor_env env{2};
  storage_actor storage;
  events_actor events;
  metrics_actor metrics;
  std::shared_ptr<metric_registry> figures = std::make_shared<metric_registry>();
  scheduler_handles scheduler;
  std::unique_ptr<storage_client> db;

  /// `shared`: act as on storage that other instances share (only expired
  /// leases are recovered, as on the server backend).
  explicit scheduler_fixture(micros lease, bool shared = false) {
    storage_settings s;
    s.data_dir = dir / "data";
    storage = open_or_throw(env.sys(), s);
    db = std::make_unique<storage_client>(env.sys(), storage);
    events = spawn_events(env.sys());
    metrics_config mc;
    mc.interval = std::chrono::seconds(0);
    metrics = spawn_metrics(env.sys(), storage, figures, mc);
    scheduler_config sc;
    sc.instance = "test-instance";
    sc.max_concurrent = 1;
    sc.lease = lease;
    sc.shared_backend = shared;
    scheduler = spawn_scheduler(env.sys(), storage, figures, sc);
  }

  ~scheduler_fixture() {
    caf::scoped_actor self{env.sys()};
    self->request(scheduler.api, std::chrono::seconds(30), drain_atom_v, 0u)
      .receive([](bool) {}, [](caf::error&) {});
    for (auto a : {caf::actor_cast<caf::actor>(scheduler.api), caf::actor_cast<caf::actor>(events),
                   caf::actor_cast<caf::actor>(metrics)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    (void) db->close();
  }

  task submit(const std::vector<std::string>& argv) {
    task t;
    t.command = argv[0];
    t.args.assign(argv.begin() + 1, argv.end());
    caf::scoped_actor self{env.sys()};
    task created;
    self->request(scheduler.api, std::chrono::seconds(30), submit_atom_v, submit_request{t, "test", {}})
      .receive([&](task& x) { created = x; }, [](caf::error& e) { FAIL(error_text(e)); });
    return created;
  }

  task stored(const std::string& id) {
    auto r = db->get(record_kind::task, id);
    REQUIRE(r);
    task t;
    REQUIRE(decode(r->json, t));
    return t;
  }

  queue_entry entry(const std::string& id) {
    auto r = db->get(record_kind::queue, id);
    REQUIRE(r);
    queue_entry e;
    REQUIRE(decode(r->json, e));
    return e;
  }

  runtime_stats stats() {
    caf::scoped_actor self{env.sys()};
    runtime_stats out;
    self->request(scheduler.api, std::chrono::seconds(5), stats_atom_v)
      .receive([&](runtime_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }
};

} // namespace

TEST_CASE("scheduler: a drain stops a running attempt and queues it again uncounted",
          "[scheduler]") {
  scheduler_fixture f{30 * us_per_second};
  auto t = f.submit({"sleep", "30"});
  REQUIRE(wait_until([&] { return f.stored(t.id).status == task_status::running; }));
  CHECK(f.stored(t.id).attempts == 1);
  caf::scoped_actor self{f.env.sys()};
  bool drained = false;
  self->request(f.scheduler.api, std::chrono::seconds(30), drain_atom_v, 0u)
    .receive([&](bool ok) { drained = ok; }, [](caf::error& e) { FAIL(error_text(e)); });
  CHECK(drained);
  // Answered once the requeue is stored: the attempt does not count.
  auto after = f.stored(t.id);
  CHECK(after.status == task_status::queued);
  CHECK(after.attempts == 0);
  CHECK(f.entry(t.id).claimed_by.empty());
  CHECK(f.stats().running == 0);
  CHECK(f.stats().draining);
}

TEST_CASE("scheduler: a claim taken over elsewhere stops the attempt and stores nothing",
          "[scheduler]") {
  // Leases renewed every 300 ms: a lost claim is noticed at the next renewal.
  // As on shared storage: another instance's live claim is not recovered.
  scheduler_fixture f{900 * us_per_ms, true};
  auto t = f.submit({"sleep", "30"});
  REQUIRE(wait_until([&] { return f.stored(t.id).status == task_status::running; }));
  // Another instance recovered the claim: it owns the attempt's outcome now.
  auto e = f.entry(t.id);
  e.claimed_by = "another-instance";
  e.lease_until = now_us() + 60 * us_per_second;
  write_batch steal;
  steal.ops.push_back({record_op::put, to_record(e)});
  REQUIRE(f.db->commit(steal));
  REQUIRE(wait_until([&] { return f.stats().running == 0; }, std::chrono::seconds(10)));
  // The attempt stopped here, and what it came to was not recorded by this
  // process: the task is as the claim's new owner will find it.
  auto after = f.stored(t.id);
  CHECK(after.status == task_status::running);
  CHECK(after.attempts == 1);
  CHECK_FALSE(after.has_exit_code);
  CHECK(f.entry(t.id).claimed_by == "another-instance");
}
