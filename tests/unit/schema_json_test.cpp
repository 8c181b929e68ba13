#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/schema_json.hpp"

using namespace orch;

TEST_CASE("schema json: records' JSON Schemas come from their field lists", "[unit][openapi]") {
  auto t = record_json_schema(record_kind::task);
  auto& p = t["properties"];
  CHECK(p["status"]["enum"] == nlohmann::json::array({"Pending", "Queued", "Running", "Completed",
                                                      "Failed", "Cancelled"}));
  CHECK(p["status"]["readOnly"] == true);          // only the orchestrator sets it
  CHECK_FALSE(p["command"].contains("readOnly"));  // a client does
  CHECK(p["created_at"]["format"] == "date-time");
  CHECK(p["exit_code"]["type"] == nlohmann::json::array({"integer", "null"}));
  CHECK(p["labels"]["additionalProperties"]["type"] == "string");
  CHECK(p["args"]["items"]["type"] == "string");
  CHECK(t["required"] == nlohmann::json::array({"id"}));

  auto s = task_submission_schema();
  CHECK(s["properties"].contains("command"));
  CHECK_FALSE(s["properties"].contains("status"));  // refused in a submission
  CHECK(s["additionalProperties"] == false);
  CHECK(record_json_schema(record_kind::event)["properties"].contains("task_id"));
}
