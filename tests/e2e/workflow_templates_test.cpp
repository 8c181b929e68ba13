// Workflow templates end to end: the repository's templates
// (config/workflows) listed and run with parameters, their values checked;
// a broken template stops start-up naming the file; an edited directory is
// read again at each run.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/workflow_support.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

const std::string repo_templates = ORCH_SOURCE_DIR "/config/workflows";

json run_template(orchestrator_process& o, const std::string& name, const json& params, int expect) {
  auto r = o.http().post("/workflows/templates/" + name + "/run", json{{"params", params}}.dump());
  INFO(r.body.substr(0, 500));
  REQUIRE(r.status == expect);
  return r.json();
}

} // namespace

TEST_CASE("workflow templates: the repository's templates are listed, and provision-host runs "
          "with its parameters filled in",
          "[e2e][workflows][templates]") {
  e2e_fixture f{{"--workflow-templates", repo_templates}};
  auto& o = *f.orch;
  auto listed = o.http().get("/workflows/templates");
  REQUIRE(listed.status == 200);
  auto body = listed.json()["data"];
  CHECK(body["total"] == 2);
  std::map<std::string, json> by_name;
  for (auto& t : body["templates"])
    by_name[t["name"].get<std::string>()] = t;
  REQUIRE(by_name.count("provision-host"));
  CHECK(by_name["provision-host"]["kind"] == "workflow");
  CHECK(by_name["provision-host"]["params"]["host"]["required"] == true);
  CHECK(by_name["provision-host"]["params"]["role"]["default"] == "web");
  CHECK(by_name["disk-report"]["kind"] == "script");

  auto root = f.dir / "hosts";
  auto made = run_template(o, "provision-host",
                           {{"host", "Web-7.example"}, {"role", "db"}, {"root", root}}, 201)["data"];
  CHECK(made["name"] == "provision Web-7.example");
  auto done = wait_workflow(o, made["id"]);
  REQUIRE(done["status"] == "Completed");
  std::string verify_id;
  for (auto& n : done["tasks"])
    if (n["key"] == "verify")
      verify_id = n["id"];
  // check's output (lower-cased) reached configure through {{tasks.check.output}}.
  CHECK(o.task(verify_id)["output"] == "host=web-7.example\nrole=db\n");
  CHECK(slurp(root + "/Web-7.example/host.conf") == "host=web-7.example\nrole=db\n");
}

TEST_CASE("workflow templates: a missing, unknown or refused parameter, an unknown template and "
          "a bad name are refused, naming what is wrong, and store nothing",
          "[e2e][workflows][templates]") {
  e2e_fixture f{{"--workflow-templates", repo_templates}};
  auto& o = *f.orch;
  auto error_of = [&](const std::string& name, const json& params, int expect) {
    return run_template(o, name, params, expect)["error"].get<std::string>();
  };
  CHECK_THAT(error_of("provision-host", json::object(), 400),
             Catch::Contains("parameter 'host' is required (the host's name)"));
  CHECK_THAT(error_of("provision-host", {{"host", "a"}, {"colour", "red"}}, 400),
             Catch::Contains("has no parameter 'colour' (it has: host, role, root)"));
  // A value that tries to leave its string, or add an argument, is refused by the pattern.
  CHECK_THAT(error_of("provision-host", {{"host", "x\",\"--force"}}, 400),
             Catch::Contains("parameter 'host' is 'x\",\"--force', which does not match"));
  CHECK_THAT(error_of("provision-host", {{"host", "a"}, {"role", "mail"}}, 400),
             Catch::Contains("parameter 'role' is 'mail', which does not match web|db|cache"));
  CHECK_THAT(error_of("provision-host", {{"host", json::array()}}, 400),
             Catch::Contains("must be a string, a number or a boolean"));
  CHECK_THAT(error_of("no-such-template", json::object(), 404),
             Catch::Contains("no workflow template 'no-such-template'"));
  auto bad_name = o.http().post("/workflows/templates/..%2Fetc/run", "{}");
  CHECK(bad_name.status == 400);
  auto bad_body = o.http().post("/workflows/templates/provision-host/run", R"({"host": "a"})");
  CHECK(bad_body.status == 400);
  CHECK_THAT(bad_body.json()["error"].get<std::string>(), Catch::Contains("unknown field 'host'"));
  CHECK(o.http().get("/workflows").json()["data"]["total"] == 0);
}

TEST_CASE("workflow templates: without --workflow-templates there are none, a broken template "
          "stops start-up naming its file, and an edit is read at the next run",
          "[e2e][workflows][templates]") {
  {
    e2e_fixture f;
    CHECK(f.orch->http().get("/workflows/templates").json()["data"]["total"] == 0);
    auto r = f.orch->http().post("/workflows/templates/provision-host/run", "{}");
    CHECK(r.status == 404);
    CHECK_THAT(r.json()["error"].get<std::string>(), Catch::Contains("--workflow-templates"));
  }
  temp_dir d{"orch-templates"};
  auto dir = d / "templates";
  std::filesystem::create_directories(dir);
  write_text(dir + "/broken.json",
             R"({"workflow": {"tasks": [{"key": "a", "command": "echo", "args": ["{{params.who}}"]}]}})");
  auto refused = run_orchestrator({"--storage-type", "filesystem", "--data-dir", d / "data",
                                   "--port", "0", "--workflow-templates", dir},
                                  d / "broken");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("template 'broken': {{params.who}} is used but no "
                                          "parameter 'who' is declared")
                            && Catch::Contains("broken.json"));

  write_text(dir + "/broken.json",
             R"({"params": {"who": {"default": "world"}},
                 "workflow": {"tasks": [{"key": "a", "command": "echo", "args": ["hello {{params.who}}"]}]}})");
  e2e_fixture f{{"--workflow-templates", dir}};
  auto& o = *f.orch;
  auto first = run_template(o, "broken", json::object(), 201)["data"];
  auto done = wait_workflow(o, first["id"]);
  CHECK(o.task(done["tasks"][0]["id"])["output"] == "hello world\n");
  // Changed while it runs: the next run reads the new text.
  write_text(dir + "/broken.json",
             R"({"params": {"who": {"default": "again"}},
                 "workflow": {"tasks": [{"key": "a", "command": "echo", "args": ["hello {{params.who}}"]}]}})");
  auto second = run_template(o, "broken", json::object(), 201)["data"];
  CHECK(o.wait_terminal(second["tasks"][0]["id"])["output"] == "hello again\n");
  CHECK(o.http().get("/workflows/templates").json()["data"]["total"] == 1);
}
