// Benchmark of task search (GET /tasks?q=, through the storage actor): fills
// a backend with N tasks whose names, commands and labels give queries of
// known selectivity, then times each query (a page of 50 and its total),
// the median of several runs.
//
//   bench_search [--backend surrealdb-embedded|filesystem|surrealdb-server]
//                [--tasks 1000000] [--runs 5] [--dir D]
//
// Built by the test command, run by hand (timing belongs here, not in tests).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "backends/open_storage.hpp"
#include "backends/storage_client.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/actor_env.hpp"
#include "tests/support/batches.hpp"
#include "tests/support/must.hpp"
#include "tests/support/open.hpp"
#include "tests/support/surreal_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace orch;
using namespace orch::test;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr micros base_time = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
const char* verbs[] = {"build", "test", "deploy", "backup", "report"};

/// Task i: name "<verb> p<i % 1000> n<i>" (a verb is 20% of the tasks, a
/// project 0.1%, n<i> one task), label team=t<i % 10> (10%), env=prod for
/// half, owner user<i % 50>; one in twenty Failed, the rest Completed.
task make_task(uint64_t i) {
  task t;
  t.id = new_uuid_v7(base_time + static_cast<micros>(i) * 1000);
  char project[16];
  std::snprintf(project, sizeof project, "p%04u", static_cast<unsigned>(i % 1000));
  t.name = std::string{verbs[i % 5]} + " " + project + " n" + std::to_string(i);
  t.command = i % 2 == 0 ? "sh" : "/usr/bin/rsync";
  t.args = {"-c", "echo " + std::to_string(i % 100)};
  t.labels = {{"team", "t" + std::to_string(i % 10)}};
  if (i % 2 == 0)
    t.labels["env"] = "prod";
  t.status = i % 20 == 7 ? task_status::failed : task_status::completed;
  t.created_at = base_time + static_cast<micros>(i) * 1000;
  t.owner = "user" + std::to_string(i % 50);
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Task search latency over many tasks"};
  std::string backend = "surrealdb-embedded", dir_arg;
  uint64_t tasks = 1'000'000;
  int runs = 5;
  app.add_option("--backend", backend, "filesystem, surrealdb-embedded or surrealdb-server");
  app.add_option("--tasks", tasks, "Tasks to fill the backend with");
  app.add_option("--runs", runs, "Runs of each query (the median is shown)");
  app.add_option("--dir", dir_arg, "Where the data goes (default: a temp dir)");
  CLI11_PARSE(app, argc, argv);
  temp_dir tmp{"orch-bench-search"};
  auto dir = dir_arg.empty() ? tmp.path() : dir_arg;
  std::unique_ptr<surreal_server> server;
  storage_settings s;
  s.type = backend;
  s.data_dir = dir + "/" + backend;
  if (backend == "surrealdb-server") {
    server = std::make_unique<surreal_server>(dir + "/surreal");
    s.surrealdb_url = server->url();
    s.surrealdb_username = "root";
    s.surrealdb_password = "root";
    s.surrealdb_namespace = "bench";
    s.surrealdb_database = "search";
  }
  actor_env env;
  auto storage = open_or_throw(env.sys(), s);
  storage_client db{env.sys(), storage};

  auto fill_start = clock_type::now();
  std::vector<record> batch;
  std::vector<std::string> some_ids;
  for (uint64_t i = 0; i < tasks; ++i) {
    auto t = make_task(i);
    if (i % (tasks / 10 + 1) == 0)
      some_ids.push_back(t.id);
    batch.push_back(to_record(t));
    if (batch.size() == 1000 || i + 1 == tasks) {
      must(db.commit(puts(batch)), "filling");
      batch.clear();
    }
  }
  double fill_s = std::chrono::duration<double>(clock_type::now() - fill_start).count();
  std::printf("%s: %llu tasks stored in %.1f s (%.0f/s)\n", backend.c_str(),
              static_cast<unsigned long long>(tasks), fill_s, tasks / fill_s);

  struct probe {
    const char* what;
    std::string q;
  };
  // The id prefix of a task from the middle: 13 characters reach past the
  // UUIDv7's millisecond time, so few tasks share it.
  std::vector<probe> probes{
    {"one task's word (n<i>)", "n" + std::to_string(tasks / 2)},
    {"a project word (0.1%)", "p0042"},
    {"a verb (20%)", "deploy"},
    {"label (10%)", "label:team=t3"},
    {"verb+label+status (5%)", "deploy label:team=t7 status:failed"},
    {"name: and cmd: (10%)", "name:backup cmd:rsync"},
    {"id prefix", "id:" + some_ids[some_ids.size() / 2].substr(0, 13)},
    {"owner and env (2%)", "owner:user8 label:env=prod"},
    {"a common word and a rare one", "deploy p0042"},
  };
  for (auto& p : probes) {
    std::vector<double> ms;
    uint64_t total = 0;
    for (int r = 0; r < runs; ++r) {
      record_query q;
      q.kind = record_kind::task;
      q.search = p.q;
      q.limit = 50;
      q.newest_first = true;
      auto start = clock_type::now();
      auto page = must(db.query(q), "searching");
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
      total = page.total;
    }
    std::printf("%-28s %-40s %8llu found  %9.1f ms (median of %d)\n", p.what, p.q.c_str(),
                static_cast<unsigned long long>(total), median(ms), runs);
    std::printf("RESULT search_ms.%s.%s %.3f\n", backend.c_str(), p.q.c_str(), median(ms));
  }
  must(db.close(), "closing");
  return 0;
}
