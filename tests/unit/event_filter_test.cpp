#include <catch2/catch.hpp>

#include "runtime/core/event_filter.hpp"
#include "runtime/core/ids.hpp"

using namespace orch;

namespace {

task_event event(const std::string& task, const std::string& kind, const std::string& status) {
  task_event ev;
  ev.id = new_uuid_v7(1700000000000000);
  ev.time = 1700000000000000;
  ev.task_id = task;
  ev.kind = kind;
  ev.status = status;
  return ev;
}

} // namespace

TEST_CASE("event filter: no parameters take every event", "[unit][events]") {
  auto f = parse_event_filter({}, "");
  REQUIRE(f);
  CHECK(f->matches(event(new_uuid_v7(1), "created", "Queued")));
  CHECK(f->after.empty());
}

TEST_CASE("event filter: task, status and kind lists narrow what matches", "[unit][events]") {
  auto a = new_uuid_v7(1), b = new_uuid_v7(2);
  auto f = parse_event_filter({{"task", a + "," + b}, {"status", "completed,Failed"},
                               {"kind", "completed,failed"}},
                              "");
  REQUIRE(f);
  CHECK(f->matches(event(a, "completed", "Completed")));
  CHECK(f->matches(event(b, "failed", "Failed")));
  CHECK_FALSE(f->matches(event(new_uuid_v7(3), "completed", "Completed")));  // another task
  CHECK_FALSE(f->matches(event(a, "started", "Running")));
  CHECK_FALSE(f->matches(event(a, "requeued", "Queued")));
}

TEST_CASE("event filter: node events are kinds of their own, and node= narrows to named nodes",
          "[unit][events]") {
  auto joined = event("", "node_joined", "");
  joined.node = "w1";
  auto started = event(new_uuid_v7(4), "started", "Running");
  started.node = "w2";
  auto f = parse_event_filter({{"kind", "node_joined,node_lost,node_left,node_disconnected"}}, "");
  REQUIRE(f);
  CHECK(f->matches(joined));
  CHECK_FALSE(f->matches(started));
  auto g = parse_event_filter({{"node", "w1"}}, "");
  REQUIRE(g);
  CHECK(g->matches(joined));
  CHECK_FALSE(g->matches(started));
  // A task filter takes no node event: it has no task.
  auto h = parse_event_filter({{"task", started.task_id}}, "");
  REQUIRE(h);
  CHECK_FALSE(h->matches(joined));
  CHECK(h->matches(started));
}

TEST_CASE("event filter: label= asks for tasks with all of the labels", "[unit][events]") {
  auto f = parse_event_filter({{"label", "team=infra,env=prod"}}, "");
  REQUIRE(f);
  CHECK(labels_match(*f, {{"team", "infra"}, {"env", "prod"}, {"tier", "1"}}));
  CHECK_FALSE(labels_match(*f, {{"team", "infra"}}));
  CHECK_FALSE(labels_match(*f, {{"team", "web"}, {"env", "prod"}}));
  auto none = parse_event_filter({}, "");
  CHECK(labels_match(*none, {}));
  auto bad = parse_event_filter({{"label", "team"}}, "");
  REQUIRE_FALSE(bad);
  CHECK(bad.message().find("'team' is not key=value") != std::string::npos);
}

TEST_CASE("event filter: ?after= wins over Last-Event-ID", "[unit][events]") {
  auto x = new_uuid_v7(5), y = new_uuid_v7(6);
  CHECK(parse_event_filter({}, x)->after == x);
  CHECK(parse_event_filter({{"after", y}}, x)->after == y);
}

TEST_CASE("event filter: what is wrong is named", "[unit][events]") {
  auto refused = [](std::map<std::string, std::string> q, const std::string& header,
                    const std::string& says) {
    auto f = parse_event_filter(q, header);
    REQUIRE_FALSE(f);
    INFO(f.message());
    CHECK(f.message().find(says) != std::string::npos);
  };
  refused({{"task", "../etc"}}, "", "'../etc' is not a task id");
  refused({{"status", "Sleeping"}}, "", "unknown status 'Sleeping'");
  refused({{"kind", "created,boom"}}, "", "unknown event kind 'boom'");
  refused({{"after", "1"}}, "", "is not an event id");
  refused({}, "not-an-id", "is not an event id");
  refused({{"limit", "5"}}, "", "unknown parameter 'limit'");
  std::string many;
  for (int i = 0; i < 101; ++i)
    many += new_uuid_v7(static_cast<micros>(i)) + ",";
  refused({{"task", many}}, "", "at most 100");
}

TEST_CASE("event filter: an event's SSE text is its id and one data line", "[unit][events]") {
  auto ev = event(new_uuid_v7(1), "created", "Queued");
  ev.details = "line one\nline two";
  auto text = publish_form(ev)->sse;
  CHECK(text.rfind("id: " + ev.id + "\ndata: {", 0) == 0);
  CHECK(text.size() > 2);
  CHECK(text.substr(text.size() - 2) == "\n\n");
  // The only line breaks are the two that end the fields, and the blank line.
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
}
