// Worker nodes with several orchestrators on one SurrealDB database (the
// project's test server): each orchestrator places work on its own workers,
// and a worker given several --connect addresses fails over between them.
#include <catch2/catch.hpp>

#include <set>

#include <csignal>

#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/nodes_support.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/surreal_server.hpp"

using namespace orch;
using namespace orch::test;

namespace {

/// Two orchestrators, a and b, on one database of a SurrealDB test server,
/// with no slots of their own, worker nodes on ports the kernel picks, and
/// short leases (a killed instance's claims are taken over within seconds).
struct two_coordinators {
  surreal_server server;
  temp_dir dir;
  std::string db = unique_name("db");
  std::unique_ptr<orchestrator_process> a = start("a"), b = start("b");

  explicit two_coordinators(const std::string& dir_name) : dir{dir_name} {}

  std::unique_ptr<orchestrator_process> start(const std::string& name) {
    std::vector<std::string> args{"--storage-type",       "surrealdb-server",
                                  "--surrealdb-url",      server.url(),
                                  "--surrealdb-namespace", "nodes",
                                  "--surrealdb-database", db,
                                  "--surrealdb-username", "root",
                                  "--surrealdb-password", "root",
                                  "--retry-backoff-ms",   "50",
                                  "--lease-s",            "3",
                                  "--log-level",          "info"};
    auto c = coordinator_args();
    args.insert(args.end(), c.begin(), c.end());
    return std::make_unique<orchestrator_process>(args, dir / name);
  }
};

std::string address(orchestrator_process& o) {
  return "127.0.0.1:" + std::to_string(o.node_port());
}

bool gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

TEST_CASE("nodes: on a shared server backend each orchestrator places work on its own workers, "
          "whichever instance took the submission", "[nodes][server]") {
  two_coordinators f{"orch-nodes-server"};
  auto &a = f.a, &b = f.b;
  auto& dir = f.dir;
  sse_client joins_on_b{b->port(), "/events?kind=node_joined"};
  REQUIRE(joins_on_b.status() == 200);
  auto w1 = start_worker(dir, a->node_port(), "w1", 2);
  auto w2 = start_worker(dir, b->node_port(), "w2", 2);
  REQUIRE(joined(*a, "w1", *w1));
  REQUIRE(joined(*b, "w2", *w2));
  // Node events reach every instance's stream, A's through the live query.
  std::set<std::string> joined_seen;
  for (int i = 0; i < 2; ++i)
    if (auto m = joins_on_b.next())
      joined_seen.insert(json::parse(m->data)["node"].get<std::string>());
  CHECK(joined_seen == std::set<std::string>{"w1", "w2"});
  // Everything goes to A; w1 alone would need 40 × 0.3 s / 2 = 6 s.
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i)
    ids.push_back(a->submit({{"command", "sh"}, {"args", {"-c", "sleep 0.3; echo $PPID"}}})["id"]);
  std::map<std::string, int> per_node;
  for (auto& id : ids) {
    auto t = a->wait_terminal(id);
    CHECK(t["status"] == "Completed");
    auto node = t["node"].get<std::string>();
    ++per_node[node];
    // It ran where its record says.
    CHECK(t["output"] == std::to_string((node == "w1" ? w1 : w2)->pid()) + "\n");
  }
  CHECK(per_node["w1"] > 0);
  CHECK(per_node["w2"] > 0);  // B took its share from the shared queue
  CHECK(per_node["w1"] + per_node["w2"] == 40);
  // Each orchestrator lists only its own workers.
  auto on_a = nodes(*a)["nodes"], on_b = nodes(*b)["nodes"];
  REQUIRE(on_a.size() == 1);
  REQUIRE(on_b.size() == 1);
  CHECK(on_a[0]["name"] == "w1");
  CHECK(on_b[0]["name"] == "w2");
}

TEST_CASE("nodes: a worker whose orchestrator dies fails over to its next --connect address, "
          "the attempt it ran there is stopped and run again, once", "[nodes][server]") {
  two_coordinators f{"orch-nodes-failover"};
  auto &a = f.a, &b = f.b;
  auto& dir = f.dir;
  auto w1 = start_worker(dir, a->node_port(), "w1", 2, "", {"--connect", address(*b)});
  REQUIRE(joined(*a, "w1", *w1));  // the first address first
  CHECK(nodes(*b)["nodes"].empty());

  // Attempt 1 parks itself; attempt 2 finishes. Each leaves a marker.
  auto markers = dir / "markers", pid_file = dir / "attempt-1.pid";
  auto id = a->submit({{"command", "sh"},
                       {"args",
                        {"-c", "if [ $ORCHESTRATOR_ATTEMPT = 1 ]; then echo $$ > " + pid_file
                                 + "; sleep 60; fi; echo $ORCHESTRATOR_ATTEMPT >> " + markers
                                 + "; echo $PPID"}},
                       {"max_retries", 2}})["id"]
              .get<std::string>();
  pid_t first = 0;
  REQUIRE(wait_until([&] {
    std::ifstream in{pid_file};
    return static_cast<bool>(in >> first) && first > 0;
  }));
  a->proc().kill9();

  // The worker is B's now, and B runs what A left, on it.
  REQUIRE(joined(*b, "w1", *w1));
  auto t = b->wait_terminal(id, std::chrono::seconds(60));
  CHECK(t["status"] == "Completed");
  CHECK(t["attempts"] == 2);
  CHECK(t["node"] == "w1");
  CHECK(t["output"] == std::to_string(w1->pid()) + "\n");
  CHECK(slurp(markers) == "2\n");  // attempt 1 never finished
  CHECK(wait_until([&] { return gone(first); }));  // and its process was stopped
  // New work through B runs on the worker too.
  auto more = b->wait_terminal(b->submit({{"command", "sh"}, {"args", {"-c", "echo $PPID"}}})["id"]);
  CHECK(more["status"] == "Completed");
  CHECK(more["node"] == "w1");
}
