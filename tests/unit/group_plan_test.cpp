// Group commit planning and the claim index, without a backend: what one
// round accepts when its batches conflict, and which entries a claim picks.
#include <catch2/catch.hpp>

#include <map>

#include "backends/engine/group_plan.hpp"
#include "backends/engine/queue_index.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/record_scan.hpp"
#include "runtime/core/transitions.hpp"

using namespace orch;

namespace {

/// Committed records the planner looks up: key -> JSON, per kind.
struct committed_store {
  std::map<record_id, std::string> records;

  committed_field_fn lookup() const {
    return [this](record_kind k, const std::string& key, const std::string& field,
                  std::string& value) {
      auto i = records.find({k, key});
      if (i == records.end())
        return false;
      if (!field.empty())
        scan_field(i->second, field, value);
      return true;
    };
  }
};

task make_task(uint64_t revision) {
  task t;
  t.id = new_uuid_v4();
  t.command = "true";
  t.status = task_status::queued;
  t.revision = revision;
  return t;
}

/// A batch that writes `t` again, if its revision is still `expected`.
write_batch update_if(const task& t, uint64_t expected) {
  write_batch b;
  auto next = t;
  next.revision = expected + 1;
  b.ops.push_back({record_op::put, to_record(next)});
  b.expect.push_back({precondition::field_in, record_kind::task, t.id, "revision",
                      {std::to_string(expected)}});
  return b;
}

std::vector<batch_outcome> plan(committed_store& store, std::vector<write_batch> batches,
                                record_overlay& overlay) {
  std::vector<prepared_batch> prepared;
  for (auto& b : batches)
    prepared.push_back(prepare_batch(b));
  std::vector<prepared_batch*> ptrs;
  for (auto& p : prepared)
    ptrs.push_back(&p);
  return plan_group(ptrs, overlay, store.lookup());
}

} // namespace

TEST_CASE("group plan: of two batches that read the same revision only the first commits",
          "[group_plan]") {
  committed_store store;
  auto t = make_task(3);
  store.records[{record_kind::task, t.id}] = to_record(t).json;
  record_overlay overlay;
  auto out = plan(store, {update_if(t, 3), update_if(t, 3)}, overlay);
  REQUIRE(out.size() == 2);
  CHECK(out[0].ok());
  CHECK(out[0].applied == 1);
  CHECK_FALSE(out[1].ok());
  CHECK(out[1].st.code() == errc::conflict);
  CHECK(out[1].st.message().find("changed concurrently: revision is '4'") != std::string::npos);
  // The overlay holds the first batch's version only.
  REQUIRE(overlay.count({record_kind::task, t.id}));
  task stored;
  REQUIRE(decode(overlay.at({record_kind::task, t.id}).json, stored));
  CHECK(stored.revision == 4);
}

TEST_CASE("group plan: a later batch sees what an earlier one of the round wrote",
          "[group_plan]") {
  committed_store store;
  auto t = make_task(0);
  record_overlay overlay;
  write_batch create;
  create.ops.push_back({record_op::put, to_record(t)});
  create.expect.push_back({precondition::absent, record_kind::task, t.id, {}, {}});
  write_batch remove;
  remove.ops.push_back({record_op::remove, {record_kind::task, t.id, {}}});
  remove.expect.push_back({precondition::present, record_kind::task, t.id, {}, {}});
  auto again = create;
  auto out = plan(store, {create, update_if(t, 0), remove, again}, overlay);
  CHECK(out[0].ok());  // absent: nothing committed yet
  CHECK(out[1].ok());  // revision 0, as the first batch wrote it
  CHECK(out[2].ok());  // present: written in this round
  CHECK(out[3].ok());  // absent again after the removal
  CHECK_FALSE(overlay.at({record_kind::task, t.id}).removed);
}

TEST_CASE("group plan: an invalid batch fails alone and is never applied", "[group_plan]") {
  committed_store store;
  record_overlay overlay;
  write_batch bad;
  bad.ops.push_back({record_op::put, {record_kind::task, new_uuid_v4(), R"({"id":"x"})"}});
  write_batch path_trick;
  path_trick.ops.push_back({record_op::put, {record_kind::task, "../../etc/passwd", "{}"}});
  auto good = make_task(0);
  write_batch fine;
  fine.ops.push_back({record_op::put, to_record(good)});
  auto out = plan(store, {bad, path_trick, fine}, overlay);
  CHECK(out[0].st.code() == errc::invalid);
  CHECK(out[1].st.code() == errc::invalid);
  CHECK(out[1].st.message().find("is not a valid key") != std::string::npos);
  CHECK(out[2].ok());
  CHECK(overlay.size() == 1);
}

namespace {

queue_entry entry(const std::string& id, int priority, micros enqueued, micros not_before = 0) {
  queue_entry e;
  e.task_id = id;
  e.priority = priority;
  e.enqueued_at = enqueued;
  e.not_before = not_before;
  return e;
}

} // namespace

TEST_CASE("claim index: priority then FIFO, delayed entries wait, reserved ones are skipped",
          "[queue_index]") {
  queue_index q;
  std::map<std::string, task> tasks;
  auto add = [&](queue_entry e) {
    task t;
    t.id = e.task_id;
    t.command = "true";
    t.status = task_status::queued;
    tasks[t.id] = t;
    q.put(e);
  };
  auto a = new_uuid_v4(), b = new_uuid_v4(), c = new_uuid_v4(), d = new_uuid_v4();
  add(entry(a, 0, 10));
  add(entry(b, 5, 30));
  add(entry(c, 5, 20));
  add(entry(d, 9, 1, /*not_before=*/1000));
  auto load = [&](const std::string& id, task& out) {
    out = tasks.at(id);
    return true;
  };
  claim_request req{"me", 500, 30 * us_per_second, 2, "", {}};
  auto plan = q.plan(req, {c}, load);
  REQUIRE(plan.tasks.size() == 2);
  CHECK(plan.tasks[0].claimed.id == b);  // c is reserved by another claim of the round
  CHECK(plan.tasks[1].claimed.id == a);
  CHECK(plan.next_ready == 1000);  // d is not due before 1000
  CHECK(plan.tasks[0].entry.claimed_by == "me");
  CHECK(plan.tasks[0].claimed.status == task_status::running);
  CHECK(plan.batches.size() == 2);
  // Once due, the delayed entry comes first (its priority is the highest).
  req.now = 1000;
  req.limit = 1;
  auto later = q.plan(req, {}, load);
  REQUIRE(later.tasks.size() == 1);
  CHECK(later.tasks[0].claimed.id == d);
  CHECK(later.next_ready == 0);
}

TEST_CASE("claim index: claimed entries are not ready and renewals find lost claims",
          "[queue_index]") {
  queue_index q;
  auto mine = new_uuid_v4(), theirs = new_uuid_v4(), gone = new_uuid_v4();
  auto e1 = entry(mine, 0, 1);
  e1.claimed_by = "me";
  auto e2 = entry(theirs, 0, 2);
  e2.claimed_by = "other";
  q.put(e1);
  q.put(e2);
  auto plan = q.plan({"me", 10, 1, 5, "", {}}, {}, [](const std::string&, task&) { return true; });
  CHECK(plan.tasks.empty());
  std::vector<std::string> lost;
  auto b = q.renew_batch("me", {mine, theirs, gone}, 99, lost);
  CHECK(lost == std::vector<std::string>{theirs, gone});
  REQUIRE(b.ops.size() == 1);
  queue_entry renewed;
  REQUIRE(decode(b.ops[0].rec.json, renewed));
  CHECK(renewed.lease_until == 99);
  REQUIRE(b.expect.size() == 1);
  CHECK(b.expect[0].values == std::vector<std::string>{"me"});
  // A task that cannot be read is left out of the ready set.
  q.erase(mine);
  q.put(entry(mine, 0, 1));
  auto unreadable = q.plan({"me", 10, 1, 5, "", {}}, {}, [](const std::string&, task&) { return false; });
  CHECK(unreadable.tasks.empty());
}
