#include <catch2/catch.hpp>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/migrate/filter.hpp"

using namespace orch;
using namespace orch::migration;

namespace {

record event_of(const std::string& task_id, const std::string& kind) {
  task_event ev;
  ev.time = 1700000000000000;
  ev.id = new_uuid_v7(ev.time);
  ev.task_id = task_id;
  ev.kind = kind;
  return to_record(ev);
}

record task_with(task_status s) {
  task t;
  t.id = new_uuid_v7(1700000000000000);
  t.name = "t";
  t.command = "true";
  t.status = s;
  t.created_at = 1700000000000000;
  return to_record(t);
}

} // namespace

TEST_CASE("migration filter: a task's events follow it, a node's events, having no task, move "
          "like the audit log", "[unit][migration]") {
  record_filter f{filter_options{{"Completed"}, "", "", ""}};
  REQUIRE(f.filters_tasks());
  f.set_task_lookup([](const std::string&) { return std::string{}; });
  auto done = task_with(task_status::completed), waiting = task_with(task_status::queued);
  CHECK(f.include(done));
  CHECK_FALSE(f.include(waiting));
  CHECK(f.include(event_of(done.key, "completed")));
  CHECK_FALSE(f.include(event_of(waiting.key, "queued")));
  auto joined = event_of("", "node_joined");
  CHECK(f.include(joined));
}
