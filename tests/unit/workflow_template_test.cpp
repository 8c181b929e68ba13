// Workflow templates (runtime/core/workflow_template): what a template file
// may hold, how parameters are checked and filled in, and that a value
// stays one string of the graph.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/core/workflow_template.hpp"

using namespace orch;
using nlohmann::json;

namespace {

std::string template_fault(const json& j) {
  auto t = parse_workflow_template(j.dump(), "t", "/srv/templates");
  return t ? std::string{"accepted"} : t.message();
}

workflow_template graph_template() {
  auto t = parse_workflow_template(
    json{{"params",
          {{"host", {{"required", true}, {"pattern", "[a-z0-9-]+"}}},
           {"count", {{"default", 3}}},
           {"note", json::object()}}},
         {"workflow",
          {{"tasks",
            {{{"key", "a"},
              {"command", "echo"},
              {"args", {"{{params.host}}:{{ params.count }}", "[{{params.note}}]"}},
              {"env", {{"{{params.host}}", "kept as a name"}}}}}}}}}
      .dump(),
    "deploy", "/srv/templates");
  REQUIRE(t.ok());
  return *t;
}

} // namespace

TEST_CASE("workflow template: parameters are checked, defaulted and filled into string values "
          "only",
          "[templates]") {
  auto t = graph_template();
  auto made = instantiate_template(t, R"({"host": "web-1"})");
  REQUIRE(made.ok());
  auto body = json::parse(*made);
  CHECK(body["name"] == "deploy");  // the template's name when the graph has none
  auto& node = body["tasks"][0];
  CHECK(node["args"] == json{"web-1:3", "[]"});
  CHECK(node["env"].contains("{{params.host}}"));  // keys are not filled
  // A value that looks like JSON stays inside its string.
  auto quoted = instantiate_template(t, R"({"host": "web-1", "note": "\"], \"x\": [\""})");
  REQUIRE(quoted.ok());
  auto q = json::parse(*quoted)["tasks"][0];
  CHECK(q["args"][1] == "[\"], \"x\": [\"]");
  CHECK_FALSE(q.contains("x"));
  CHECK(instantiate_template(t, R"({"host": "web-1", "count": 7})").ok());
  CHECK(instantiate_template(t, "").message() == "parameter 'host' is required");
  CHECK_THAT(instantiate_template(t, R"({"host": "Web 1"})").message(),
             Catch::Contains("which does not match [a-z0-9-]+"));
  CHECK_THAT(instantiate_template(t, R"({"host": "a", "other": 1})").message(),
             Catch::Contains("has no parameter 'other' (it has: count, host, note)"));
  CHECK_THAT(instantiate_template(t, R"({"host": {"a": 1}})").message(),
             Catch::Contains("must be a string, a number or a boolean"));
  CHECK_THAT(instantiate_template(t, R"([1])").message(), Catch::Contains("must be an object"));
}

TEST_CASE("workflow template: a script template runs its file from the template's directory "
          "with the parameters as flags",
          "[templates]") {
  auto t = parse_workflow_template(
    R"({"params": {"dir": {"required": true}, "top": {"default": "5"}, "quiet": {}},
        "script": {"script_file": "report.nu", "timeout_s": 60}})",
    "report", "/srv/templates");
  REQUIRE(t.ok());
  auto made = instantiate_template(*t, R"({"dir": "/var/log"})");
  REQUIRE(made.ok());
  auto body = json::parse(*made);
  CHECK(body["name"] == "report");
  auto& node = body["tasks"][0];
  CHECK(node["key"] == "report");
  CHECK(node["script_file"] == "/srv/templates/report.nu");
  CHECK(node["timeout_s"] == 60);
  CHECK(node["args"] == json{"--dir", "/var/log", "--top", "5"});  // quiet: not given, no default
  CHECK(template_summary(*t).find("\"kind\":\"script\"") != std::string::npos);
}

TEST_CASE("workflow template: faults of a template file are named", "[templates]") {
  CHECK(template_fault(json::array()) == "template 't': the file must hold an object with "
                                         "\"workflow\" or \"script\"");
  CHECK_THAT(template_fault({{"params", json::object()}}), Catch::Contains("give one of"));
  CHECK_THAT(template_fault({{"workflow", json::object()}, {"script", json::object()}}),
             Catch::Contains("give one of"));
  CHECK_THAT(template_fault({{"workflow", {{"name", "{{params.x}}"}}}}),
             Catch::Contains("{{params.x}} is used but no parameter 'x' is declared"));
  CHECK_THAT(template_fault({{"params", {{"x", {{"pattern", "("}}}}}, {"workflow", json::object()}}),
             Catch::Contains("is not a regular expression"));
  CHECK_THAT(template_fault({{"params", {{"x", {{"required", true}, {"default", "a"}}}}},
                             {"workflow", json::object()}}),
             Catch::Contains("required and has a default"));
  CHECK_THAT(template_fault({{"params", {{"x", {{"requried", true}}}}}, {"workflow", json::object()}}),
             Catch::Contains("'requried' is unknown"));
  CHECK_THAT(template_fault({{"script", {{"command", "sh"}}}}),
             Catch::Contains("needs \"script_file\""));
  CHECK_THAT(template_fault({{"script", {{"script_file", "a.nu"}, {"args", {"x"}}}}}),
             Catch::Contains("not command, script or args"));
  CHECK_THAT(template_fault({{"workflow", json::object()}, {"extra", 1}}),
             Catch::Contains("unknown field 'extra'"));
  CHECK(is_template_name("provision-host_2"));
  CHECK_FALSE(is_template_name("../etc"));
  CHECK_FALSE(is_template_name(""));
  CHECK_FALSE(is_template_name(std::string(65, 'a')));
}

TEST_CASE("workflow template: a reference names a template and its params and is resolved from "
          "the directory, a graph passes as it is",
          "[templates]") {
  CHECK(is_template_reference(R"({"template": "deploy", "params": {"host": "a"}})"));
  CHECK_FALSE(is_template_reference(R"({"tasks": []})"));
  CHECK_FALSE(is_template_reference("not json"));
  CHECK(check_template_reference(R"({"template": "deploy"})").ok());
  CHECK(check_template_reference(R"({"template": "../etc", "params": {}})").message()
        == "'template' must be a template's name (1-64 of A-Z a-z 0-9 _ -)");
  CHECK(check_template_reference(R"({"template": "deploy", "params": []})").message()
        == "'params' must be an object: {\"NAME\": \"value\"}");
  CHECK(check_template_reference(R"({"template": "deploy", "tasks": []})").message().rfind(
          "unknown field 'tasks'", 0) == 0);
  // A graph is its own body; a reference needs a directory with its template.
  CHECK(*resolve_workflow(R"({"tasks":[]})", "") == R"({"tasks":[]})");
  auto none = resolve_workflow(R"({"template": "deploy"})", "");
  REQUIRE_FALSE(none.ok());
  CHECK(none.message().find("--workflow-templates") != std::string::npos);
  auto missing = resolve_workflow(R"({"template": "deploy"})", "/nonexistent-templates-dir");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.code() == errc::not_found);
  auto made = resolve_workflow(R"({"template": "provision-host", "params": {"host": "db-1"}})",
                               ORCH_SOURCE_DIR "/config/workflows");
  REQUIRE(made.ok());
  CHECK(json::parse(*made)["name"] == "provision db-1");
  auto unfit = resolve_workflow(R"({"template": "provision-host", "params": {}})",
                                ORCH_SOURCE_DIR "/config/workflows");
  REQUIRE_FALSE(unfit.ok());
  CHECK(unfit.message().rfind("template 'provision-host': ", 0) == 0);
}
