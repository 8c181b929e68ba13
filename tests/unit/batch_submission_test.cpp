// The bulk submission decoder: a whole batch or every reason it is refused.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/batch_submission.hpp"

using namespace orch;

namespace {

const std::string id_a = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
const std::string id_b = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";

std::string body_of(const nlohmann::json& tasks) {
  return nlohmann::json{{"tasks", tasks}}.dump();
}

std::vector<size_t> indexes(const batch_submission& b) {
  std::vector<size_t> out;
  for (auto& e : b.errors)
    out.push_back(e.index);
  return out;
}

} // namespace

TEST_CASE("batch: tasks are decoded in the body's order with their fields", "[batch]") {
  auto b = parse_batch_submission(body_of(
    {{{"id", id_a}, {"command", "echo"}, {"args", {"one"}}},
     {{"name", "second"}, {"command", "true"}, {"priority", 7}, {"dependencies", {id_a}}}}));
  REQUIRE(b.ok());
  REQUIRE(b.tasks.size() == 2);
  CHECK(b.tasks[0].id == id_a);
  CHECK(b.tasks[0].args == std::vector<std::string>{"one"});
  CHECK(b.tasks[1].name == "second");
  CHECK(b.tasks[1].priority == 7);
  CHECK(b.tasks[1].dependencies == std::vector<std::string>{id_a});
}

TEST_CASE("batch: every bad item is reported by index - with the single submission's words",
          "[batch]") {
  auto b = parse_batch_submission(body_of({{{"command", "true"}},
                                           {{"command", "true"}, {"status", "Completed"}},
                                           42,
                                           {{"args", {"x"}}},
                                           {{"command", "true"}, {"colour", "red"}}}));
  CHECK_FALSE(b.ok());
  CHECK(b.problem.ok());
  REQUIRE(indexes(b) == std::vector<size_t>{1, 2, 3, 4});
  CHECK_THAT(b.errors[0].message, Catch::Contains("'status' is set by the orchestrator"));
  CHECK_THAT(b.errors[1].message, Catch::Contains("must be a JSON object (a task), got a number"));
  CHECK_THAT(b.errors[2].message, Catch::Contains("missing 'command'"));
  CHECK_THAT(b.errors[3].message, Catch::Contains("unknown field 'colour'"));
}

TEST_CASE("batch: ids are unique and dependencies inside the batch point backwards", "[batch]") {
  SECTION("a repeated id") {
    auto b = parse_batch_submission(
      body_of({{{"id", id_a}, {"command", "true"}}, {{"id", id_a}, {"command", "true"}}}));
    REQUIRE(indexes(b) == std::vector<size_t>{1});
    CHECK_THAT(b.errors[0].message, Catch::Contains("also the id of tasks[0]"));
  }
  SECTION("a dependency on a later item (which is how a cycle would look)") {
    auto b = parse_batch_submission(
      body_of({{{"id", id_a}, {"command", "true"}, {"dependencies", {id_b}}},
               {{"id", id_b}, {"command", "true"}, {"dependencies", {id_a}}}}));
    REQUIRE(indexes(b) == std::vector<size_t>{0});
    CHECK_THAT(b.errors[0].message, Catch::Contains("depends on tasks[1], which comes later"));
  }
  SECTION("a dependency outside the batch is left to the scheduler") {
    auto b = parse_batch_submission(body_of({{{"command", "true"}, {"dependencies", {id_b}}}}));
    CHECK(b.ok());
  }
}

TEST_CASE("batch: a body that is not a batch is refused as a whole", "[batch]") {
  auto refused = [](const std::string& body, const std::string& words) {
    auto b = parse_batch_submission(body);
    INFO(body);
    CHECK_FALSE(b.problem.ok());
    CHECK(b.problem.code() == errc::invalid);
    CHECK_THAT(b.problem.message(), Catch::Contains(words));
  };
  refused("", "the request body is empty");
  refused("{\"tasks\": [", "not valid JSON");
  refused("[{\"command\":\"true\"}]", "must be a JSON object");
  refused("{}", "missing 'tasks'");
  refused("{\"tasks\": []}", "the batch is empty");
  refused("{\"tasks\": {}}", "must be an array of tasks");
  refused("{\"tasks\": [], \"wait\": true}", "unknown field 'wait'");
  refused("{\"tasks\": [{\"command\":\"true\"}], \"tasks\": []}", "given twice");
  refused("{\"tasks\": [{\"command\":\"true\"}]} x", "not valid JSON");
  refused("{\"tasks\": [{\"command\":\"true\"}, {\"command\": }]}", "not valid JSON");
  nlohmann::json many = nlohmann::json::array();
  for (size_t i = 0; i <= max_batch_tasks; ++i)
    many.push_back({{"command", "true"}});
  refused(body_of(many), "at most 1000 tasks");
  many.erase(many.begin());
  CHECK(parse_batch_submission(body_of(many)).tasks.size() == max_batch_tasks);
}
