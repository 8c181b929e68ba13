// What the workflow and schedule tests share: a workflow posted, read, and
// awaited through the API, and an API time read back.
#pragma once

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/wait.hpp"

namespace orch::test {

/// POST /workflows; the workflow as answered (201 required).
inline nlohmann::json submit_workflow(orchestrator_process& o, const nlohmann::json& body) {
  auto r = o.http().post("/workflows", body.dump());
  INFO(r.body.substr(0, 500));
  REQUIRE(r.status == 201);
  return r.json()["data"];
}

/// GET /workflows/{id}.
inline nlohmann::json workflow_of(orchestrator_process& o, const std::string& id) {
  auto r = o.http().get("/workflows/" + id);
  INFO(r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  return r.json()["data"];
}

/// The workflow once its status is one of the ends.
inline nlohmann::json wait_workflow(orchestrator_process& o, const std::string& id) {
  nlohmann::json last;
  REQUIRE(wait_until(
    [&] {
      last = workflow_of(o, id);
      auto s = last["status"].get<std::string>();
      return s == "Completed" || s == "Failed" || s == "Cancelled";
    },
    std::chrono::seconds(60)));
  return last;
}

/// An RFC 3339 time the API wrote, as micros (it must be one).
inline micros time_of(const nlohmann::json& v) {
  micros t = 0;
  REQUIRE(parse_rfc3339(v.get<std::string>(), t));
  return t;
}

} // namespace orch::test
