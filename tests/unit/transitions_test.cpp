// Queue order, retry backoff and the state changes of a task.
#include <catch2/catch.hpp>

#include <algorithm>

#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/submission.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"

using namespace orch;

TEST_CASE("claim order: higher priority first - FIFO within a priority", "[queue]") {
  std::vector<queue_entry> entries;
  auto add = [&](int prio, micros at, const std::string& id) {
    queue_entry e;
    e.task_id = id;
    e.priority = prio;
    e.enqueued_at = at;
    entries.push_back(e);
  };
  add(0, 10, "a");
  add(5, 30, "b");
  add(5, 20, "c");
  add(-1, 1, "d");
  add(5, 20, "aa");
  std::sort(entries.begin(), entries.end(), claim_order_before);
  std::vector<std::string> order;
  for (auto& e : entries)
    order.push_back(e.task_id);
  CHECK(order == std::vector<std::string>{"aa", "c", "b", "a", "d"});
}

TEST_CASE("retry backoff doubles and is capped", "[retry]") {
  const micros base = 100 * us_per_ms, cap = 1 * us_per_second;
  CHECK(backoff_delay(1, base, cap) == 100 * us_per_ms);
  CHECK(backoff_delay(2, base, cap) == 200 * us_per_ms);
  CHECK(backoff_delay(3, base, cap) == 400 * us_per_ms);
  CHECK(backoff_delay(4, base, cap) == 800 * us_per_ms);
  CHECK(backoff_delay(5, base, cap) == cap);
  CHECK(backoff_delay(60, base, cap) == cap);
}

namespace {

task running_task(uint32_t attempts, uint32_t max_retries) {
  task t;
  t.id = new_uuid_v4();
  t.command = "false";
  t.status = task_status::running;
  t.attempts = attempts;
  t.max_retries = max_retries;
  t.revision = 7;
  return t;
}

bool has_op(const write_batch& b, record_kind k, record_op::op_type op) {
  return std::any_of(b.ops.begin(), b.ops.end(),
                     [&](const record_op& o) { return o.rec.kind == k && o.op == op; });
}

} // namespace

TEST_CASE("a failed attempt with retries left is queued again after the backoff", "[retry]") {
  auto t = running_task(1, 2);
  attempt_outcome out;
  out.error = "exited with code 1";
  out.has_exit_code = true;
  out.exit_code = 1;
  actor_context ctx{"test", 1'000'000};
  auto tr = finish_transition(t, out, "me", 500'000, ctx);
  CHECK(t.status == task_status::queued);
  CHECK(t.not_before == 1'500'000);
  CHECK(t.revision == 8);
  CHECK(has_op(tr.batch, record_kind::queue, record_op::put));
  CHECK(has_op(tr.batch, record_kind::event, record_op::put));
  CHECK(has_op(tr.batch, record_kind::audit, record_op::put));
  // The write only counts if nobody else changed the task and the claim is still ours.
  REQUIRE(tr.batch.expect.size() == 2);
  CHECK(tr.batch.expect[0].field == "revision");
  CHECK(tr.batch.expect[0].values == std::vector<std::string>{"7"});
  CHECK(tr.batch.expect[1].field == "claimed_by");
  CHECK(tr.events.at(0).kind == "retry_scheduled");
}

TEST_CASE("the last failed attempt fails the task and removes its queue entry", "[retry]") {
  auto t = running_task(3, 2);
  attempt_outcome out;
  out.error = "exited with code 1";
  auto tr = finish_transition(t, out, "me", 500'000, {"test", 1'000'000});
  CHECK(t.status == task_status::failed);
  CHECK(t.completed_at == 1'000'000);
  CHECK(has_op(tr.batch, record_kind::queue, record_op::remove));
  CHECK(tr.events.at(0).kind == "failed");
}

TEST_CASE("a successful attempt completes the task", "[retry]") {
  auto t = running_task(1, 0);
  attempt_outcome out;
  out.success = true;
  out.has_exit_code = true;
  out.output = "ok\n";
  finish_transition(t, out, "me", 0, {"test", 5});
  CHECK(t.status == task_status::completed);
  CHECK(t.output == "ok\n");
  CHECK(t.error.empty());
}

TEST_CASE("claiming counts the attempt and leases the entry", "[queue]") {
  task t = running_task(0, 1);
  t.status = task_status::queued;
  queue_entry e;
  e.task_id = t.id;
  claim_request req;
  req.worker = "node-1";
  req.lease = 30 * us_per_second;
  req.node = "gpu-box";
  auto tr = claim_transition(t, e, req, {"test", 100});
  CHECK(t.status == task_status::running);
  CHECK(t.attempts == 1);
  CHECK(e.claimed_by == "node-1");
  CHECK(e.lease_until == 100 + 30 * us_per_second);
  CHECK(tr.events.at(0).kind == "started");
  // The task and its started event name the node the attempt runs on.
  CHECK(t.node == "gpu-box");
  CHECK(tr.events.at(0).node == "gpu-box");
  CHECK(tr.events.at(0).details == "attempt 1 on node-1, node gpu-box");
}

TEST_CASE("a lost claim requeues the task or fails it when out of retries", "[queue]") {
  auto t = running_task(1, 1);
  queue_entry stale;
  stale.task_id = t.id;
  stale.claimed_by = "dead";
  recover_transition(t, stale, "the process stopped", {"test", 1});
  CHECK(t.status == task_status::queued);
  CHECK(t.attempts == 1);  // the lost attempt stays counted
  auto u = running_task(2, 1);
  recover_transition(u, stale, "the process stopped", {"test", 1});
  CHECK(u.status == task_status::failed);
  CHECK(u.error == "the process stopped; no retries left");
  // A claim whose reply was lost never ran: not counted, even out of retries.
  auto v = running_task(1, 0);
  recover_transition(v, stale, "the reply was lost", {"test", 1}, false);
  CHECK(v.status == task_status::queued);
  CHECK(v.attempts == 0);
  auto w = running_task(0, 0);
  w.status = task_status::queued;  // the claim's start batch never committed
  recover_transition(w, stale, "the reply was lost", {"test", 1}, false);
  CHECK(w.attempts == 0);
}

TEST_CASE("retrying a task with dependencies sends it back to Pending", "[retry]") {
  auto t = running_task(3, 0);
  t.status = task_status::failed;
  auto tr = retry_transition(t, {"test", 1});
  CHECK(t.status == task_status::queued);
  CHECK(t.attempts == 0);
  CHECK(has_op(tr.batch, record_kind::queue, record_op::put));
  auto d = running_task(1, 0);
  d.status = task_status::cancelled;
  d.dependencies = {new_uuid_v4()};
  auto tr2 = retry_transition(d, {"test", 1});
  CHECK(d.status == task_status::pending);
  CHECK_FALSE(has_op(tr2.batch, record_kind::queue, record_op::put));
}

namespace {

/// The queue entry a batch writes, if it writes one.
const record* queue_put(const write_batch& b) {
  for (auto& op : b.ops)
    if (op.rec.kind == record_kind::queue && op.op == record_op::put)
      return &op.rec;
  return nullptr;
}

} // namespace

TEST_CASE("run_at: a task asked to run later waits in the queue until then, and a run_at "
          "already past starts it at once", "[run_at]") {
  actor_context ctx{"test", 10'000'000};
  task later;
  later.id = new_uuid_v4();
  later.command = "true";
  later.run_at = 70'000'000;
  auto tr = submit_transition(later, task_status::queued, "", ctx);
  CHECK(later.not_before == 70'000'000);
  auto* e = queue_put(tr.batch);
  REQUIRE(e);
  queue_entry entry;
  REQUIRE(decode(e->json, entry));
  CHECK(entry.not_before == 70'000'000);
  CHECK_THAT(tr.events.at(0).details, Catch::Contains("to start at 1970-01-01T00:01:10"));

  task past;
  past.id = new_uuid_v4();
  past.command = "true";
  past.run_at = 5'000'000;
  submit_transition(past, task_status::queued, "", ctx);
  CHECK(past.not_before == 0);
}

TEST_CASE("run_at: a task that waited for its dependencies still waits for its run_at, and so "
          "does a retried one while it is to come", "[run_at]") {
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  t.dependencies = {new_uuid_v4()};
  t.run_at = 90'000'000;
  submit_transition(t, task_status::pending, "", {"test", 10'000'000});
  CHECK(t.not_before == 0);  // Pending: no queue entry yet
  dependency_transition(t, true, "", {"test", 20'000'000});
  CHECK(t.status == task_status::queued);
  CHECK(t.not_before == 90'000'000);

  cancel_transition(t, {"test", 30'000'000});
  t.dependencies.clear();
  retry_transition(t, {"test", 40'000'000});
  CHECK(t.not_before == 90'000'000);
  cancel_transition(t, {"test", 95'000'000});
  retry_transition(t, {"test", 100'000'000});
  CHECK(t.not_before == 0);
}

TEST_CASE("run_at: a client may send it as RFC 3339 with an offset, and a wrong one is refused "
          "saying the form", "[run_at]") {
  auto t = parse_submission(R"({"command":"true","run_at":"2030-01-02T03:04:05+02:00"})");
  REQUIRE(t.ok());
  micros expected = 0;
  REQUIRE(parse_rfc3339("2030-01-02T01:04:05Z", expected));
  CHECK(t.value().run_at == expected);
  auto bad = parse_submission(R"({"command":"true","run_at":"tomorrow"})");
  CHECK_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("RFC 3339"));
}
