// The scheduler's table of slots: claims are offered to its own slots first,
// then to the worker node with the most free slots, each with its labels; a
// node that leaves takes its slots along.
#include <catch2/catch.hpp>

#include "actors/worker_pool.hpp"

using namespace orch;

namespace {

node_status node(const std::string& registration, const std::string& name, uint32_t slots,
                 label_map labels = {}) {
  node_status s;
  s.registration = registration;
  s.name = name;
  s.slots = slots;
  s.labels = std::move(labels);
  return s;
}

/// Slots free now, here and on every node: what the offers add up to.
uint32_t free_slots(const worker_pool& pool) {
  uint32_t n = 0;
  for (auto& o : pool.offers())
    n += o.free;
  return n;
}

std::vector<std::string> offered_names(const worker_pool& pool) {
  std::vector<std::string> out;
  for (auto& o : pool.offers())
    out.push_back(o.node_name + ":" + std::to_string(o.free));
  return out;
}

} // namespace

TEST_CASE("worker pool: offers local slots first, then the nodes with the most free slots",
          "[worker-pool]") {
  worker_pool pool{1, "here", {{"zone", "a"}}, 0};
  pool.join(node("r1", "small", 1), {});
  pool.join(node("r2", "big", 3, {{"gpu", "yes"}}), {});
  CHECK(pool.total() == 5);
  CHECK(free_slots(pool) == 5);
  CHECK(offered_names(pool) == std::vector<std::string>{"here:1", "big:3", "small:1"});
  auto offers = pool.offers();
  CHECK(offers[0].registration.empty());
  CHECK(offers[0].labels == label_map{{"zone", "a"}});
  CHECK(offers[1].registration == "r2");
  CHECK(offers[1].labels == label_map{{"gpu", "yes"}});

  auto a = pool.take("");
  REQUIRE(a);
  CHECK(a->local());
  CHECK(a->node_name == "here");
  CHECK_FALSE(pool.take(""));  // its one slot is taken
  auto b = pool.take("r2");
  REQUIRE(b);
  CHECK(b->node_name == "big");
  CHECK(offered_names(pool) == std::vector<std::string>{"big:2", "small:1"});
  pool.take("r2");
  pool.take("r2");
  CHECK_FALSE(pool.take("r2"));
  CHECK(offered_names(pool) == std::vector<std::string>{"small:1"});
  CHECK(pool.take("r1"));
  CHECK(free_slots(pool) == 0);
  CHECK(pool.offers().empty());
  CHECK_FALSE(pool.take("nobody"));
  pool.give_back("");
  CHECK(offered_names(pool) == std::vector<std::string>{"here:1"});
}

TEST_CASE("worker pool: a node that leaves takes its slots, a late give-back changes nothing",
          "[worker-pool]") {
  worker_pool pool{0, "here", {}, 0};
  CHECK(pool.total() == 0);
  CHECK(pool.offers().empty());
  CHECK_FALSE(pool.take(""));
  pool.join(node("r1", "w1", 2), {});
  auto a = pool.take("r1");
  REQUIRE(a);
  CHECK(a->registration == "r1");
  CHECK(pool.leave("r1"));
  CHECK_FALSE(pool.leave("r1"));
  CHECK(pool.total() == 0);
  CHECK_FALSE(pool.take("r1"));  // a claim that returns after its node left finds no slot
  pool.give_back("r1");  // the attempt ended after its node left
  CHECK(free_slots(pool) == 0);
  CHECK(pool.statuses().empty());  // no slots here: not listed
}

TEST_CASE("worker pool: statuses count running and completed attempts per node",
          "[worker-pool]") {
  worker_pool pool{2, "here", {{"zone", "a"}}, 7};
  pool.join(node("r1", "w1", 1), {});
  pool.take("");
  pool.take("");
  pool.take("r1");
  pool.give_back("r1");
  auto st = pool.statuses();
  REQUIRE(st.size() == 2);
  CHECK(st[0].local);
  CHECK(st[0].name == "here");
  CHECK(st[0].labels == label_map{{"zone", "a"}});
  CHECK(st[0].running == 2);
  CHECK(st[0].joined_at == 7);
  CHECK(st[1].name == "w1");
  CHECK(st[1].running == 0);
  CHECK(st[1].completed == 1);
}

TEST_CASE("worker pool: a node's status by registration, here by the empty one", "[worker-pool]") {
  worker_pool pool{1, "here", {}, 0};
  pool.join(node("r1", "w1", 2), {});
  REQUIRE(pool.status_of(""));
  CHECK(pool.status_of("")->name == "here");
  REQUIRE(pool.status_of("r1"));
  CHECK(pool.status_of("r1")->slots == 2);
  CHECK_FALSE(pool.status_of("r2"));
  pool.leave("r1");
  CHECK_FALSE(pool.status_of("r1"));
}
