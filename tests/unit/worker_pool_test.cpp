// The scheduler's table of slots: its own first, then the worker node with
// the most free slots; a node that leaves takes its slots along.
#include <catch2/catch.hpp>

#include "actors/worker_pool.hpp"

using namespace orch;

namespace {

node_status node(const std::string& registration, const std::string& name, uint32_t slots) {
  node_status s;
  s.registration = registration;
  s.name = name;
  s.slots = slots;
  return s;
}

} // namespace

TEST_CASE("worker pool: local slots first, then the node with the most free slots",
          "[worker-pool]") {
  worker_pool pool{1, "here", 0};
  pool.join(node("r1", "small", 1), {});
  pool.join(node("r2", "big", 3), {});
  CHECK(pool.total() == 5);
  CHECK(pool.free() == 5);
  auto a = pool.take();
  REQUIRE(a);
  CHECK(a->local());
  CHECK(a->node_name == "here");
  auto b = pool.take();
  REQUIRE(b);
  CHECK(b->node_name == "big");  // 3 free against 1
  auto c = pool.take();
  REQUIRE(c);
  CHECK(c->node_name == "big");  // 2 free against 1
  auto d = pool.take();
  REQUIRE(d);
  CHECK(d->registration == "r1");  // 1 free each: either; then...
  auto e = pool.take();
  REQUIRE(e);
  CHECK(pool.free() == 0);
  CHECK_FALSE(pool.take());
  pool.give_back("");
  CHECK(pool.free() == 1);
  auto f = pool.take();
  REQUIRE(f);
  CHECK(f->local());
}

TEST_CASE("worker pool: a node that leaves takes its slots; a late give-back changes nothing",
          "[worker-pool]") {
  worker_pool pool{0, "here", 0};
  CHECK(pool.total() == 0);
  CHECK_FALSE(pool.take());
  pool.join(node("r1", "w1", 2), {});
  auto a = pool.take();
  REQUIRE(a);
  CHECK(a->registration == "r1");
  CHECK(pool.leave("r1"));
  CHECK_FALSE(pool.leave("r1"));
  CHECK(pool.total() == 0);
  pool.give_back("r1");  // the attempt ended after its node left
  CHECK(pool.free() == 0);
  CHECK(pool.statuses().empty());  // no slots here: not listed
}

TEST_CASE("worker pool: statuses count running and completed attempts per node",
          "[worker-pool]") {
  worker_pool pool{2, "here", 7};
  pool.join(node("r1", "w1", 1), {});
  pool.take();
  pool.take();
  pool.take();
  pool.give_back("r1");
  auto st = pool.statuses();
  REQUIRE(st.size() == 2);
  CHECK(st[0].local);
  CHECK(st[0].name == "here");
  CHECK(st[0].running == 2);
  CHECK(st[0].joined_at == 7);
  CHECK(st[1].name == "w1");
  CHECK(st[1].running == 0);
  CHECK(st[1].completed == 1);
}

TEST_CASE("worker pool: a node's status by registration, here by the empty one", "[worker-pool]") {
  worker_pool pool{1, "here", 0};
  pool.join(node("r1", "w1", 2), {});
  REQUIRE(pool.status_of(""));
  CHECK(pool.status_of("")->name == "here");
  REQUIRE(pool.status_of("r1"));
  CHECK(pool.status_of("r1")->slots == 2);
  CHECK_FALSE(pool.status_of("r2"));
  pool.leave("r1");
  CHECK_FALSE(pool.status_of("r1"));
}
