// A running task's own token (ORCHESTRATOR_TOKEN), end to end on every
// backend with --auth required: it submits, lists, reads, follows and
// cancels the task's children and nothing else, and ends with the attempt.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/sse_client.hpp"

using namespace orch;
using namespace orch::test;
using nlohmann::json;

namespace {

const std::string token_admin_password = "task-token-admin";

/// An orchestrator that requires tokens; its http() signed in as admin.
struct guarded_fixture {
  temp_dir dir{"orch-task-token"};
  storage_settings storage = fresh_storage(dir);
  orchestrator_process orch{
    instance_args({"--auth", "required", "--max-concurrent-tasks", "4", "--log-level", "warn"},
                  storage, {}),
    dir / "orch", {}, {{"ORCHESTRATOR_ADMIN_PASSWORD", token_admin_password}}};

  guarded_fixture() {
    auto r = orch.http().post("/auth/login",
                              json{{"username", "admin"}, {"password", token_admin_password}}.dump());
    REQUIRE(r.status == 200);
    orch.http().set_bearer(r.json()["data"]["token"].get<std::string>());
  }

  /// A task that writes its ORCHESTRATOR_TOKEN to a file and sleeps; its
  /// id and token.
  std::pair<std::string, std::string> running_task_token() {
    auto file = dir / "token";
    auto t = orch.submit({{"command", "sh"},
                          {"args", {"-c", "printf %s \"$ORCHESTRATOR_TOKEN\" > '" + file
                                            + ".part' && mv '" + file + ".part' '"
                                            + file + "'; sleep 60"}}});
    REQUIRE(wait_until([&] { return std::filesystem::exists(file); }));
    return {t["id"].get<std::string>(), slurp(file)};
  }
};

std::string error_of(const http_result& r) {
  auto body = json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].get<std::string>() : r.body;
}

} // namespace

TEST_CASE("task tokens: a running task's ORCHESTRATOR_TOKEN submits, lists, reads, follows and "
          "cancels its own children and reaches nothing else",
          "[e2e][children][auth]") {
  guarded_fixture f;
  auto [parent, token] = f.running_task_token();
  CHECK(token.rfind("task:" + parent + ":1:", 0) == 0);
  auto other = f.orch.submit({{"command", "sleep"}, {"args", {"60"}}})["id"].get<std::string>();
  http_client as_task{"127.0.0.1", f.orch.port()};
  as_task.set_bearer(token);

  // A child: its parent is the task even when not given, and it is audited as the task's.
  auto made = as_task.post("/tasks", R"({"command":"sleep","args":["60"]})");
  INFO(made.body);
  REQUIRE(made.status == 201);
  auto child = made.json()["data"]["id"].get<std::string>();
  CHECK(made.json()["data"]["parent"] == parent);
  auto batch = as_task.post("/tasks/batch", R"({"tasks":[{"command":"true"}]})");
  INFO(batch.body);
  REQUIRE(batch.status == 201);
  CHECK(batch.json()["data"]["tasks"][0]["parent"] == parent);
  auto elsewhere = as_task.post("/tasks", json{{"command", "true"}, {"parent", other}}.dump());
  CHECK(elsewhere.status == 403);
  CHECK_THAT(error_of(elsewhere), Catch::Contains("submits only its own children"));

  // Reads: itself and its children; not another task, not the whole list.
  CHECK(as_task.get("/tasks/" + child).status == 200);
  CHECK(as_task.get("/tasks/" + parent).status == 200);
  CHECK(as_task.get("/tasks/" + child + "/events").status == 200);
  CHECK(as_task.get("/tasks/" + child + "/output").status == 200);
  auto listed = as_task.get("/tasks?parent=" + parent);
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["data"]["total"] == 2);
  for (auto path : {"/tasks/" + other, "/tasks/" + other + "/events", "/tasks/" + other + "/output",
                    std::string{"/tasks"}, "/tasks?parent=" + other}) {
    auto r = as_task.get(path);
    INFO(path << " " << r.body);
    CHECK(r.status == 403);
  }
  CHECK_THAT(error_of(as_task.get("/tasks/" + other)), Catch::Contains("is not a child of " + parent));

  // Streams: only of its children.
  sse_client own{f.orch.port(), "/events?task=" + child, {{"Authorization", "Bearer " + token}}};
  CHECK(own.status() == 200);
  sse_client all{f.orch.port(), "/events", {{"Authorization", "Bearer " + token}}};
  CHECK(all.status() == 403);
  sse_client not_own{f.orch.port(), "/events?task=" + other,
                     {{"Authorization", "Bearer " + token}}};
  CHECK(not_own.status() == 403);

  // Nothing a user's role gives: users, schedules, workflows, nodes, audit.
  for (auto path : {"/users", "/schedules", "/workflows", "/nodes", "/audit", "/auth/me"}) {
    auto r = as_task.get(path);
    INFO(path << " " << r.body);
    CHECK(r.status == 403);
    CHECK_THAT(error_of(r), Catch::Contains("running task's token"));
  }
  CHECK(as_task.post("/tasks/" + other + "/cancel", "{}").status == 403);
  CHECK(f.orch.task(other)["status"] == "Running");
  auto cancelled = as_task.post("/tasks/" + child + "/cancel", "{}");
  INFO(cancelled.body);
  CHECK(cancelled.status == 200);
  CHECK(f.orch.wait_terminal(child)["status"] == "Cancelled");

  // A forged signature, and the token once its attempt has ended.
  auto forged = token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  http_client as_forger{"127.0.0.1", f.orch.port()};
  as_forger.set_bearer(forged);
  CHECK(as_forger.get("/tasks/" + parent).status == 401);
  REQUIRE(f.orch.http().post("/tasks/" + parent + "/cancel", "{}").status == 200);
  f.orch.wait_terminal(parent);
  // A check stays good for token_recheck (1 s), as a revoked user token does.
  CHECK(wait_until([&] { return as_task.get("/tasks/" + child).status == 401; }));
  CHECK_THAT(error_of(as_task.get("/tasks/" + child)), Catch::Contains("is no longer valid"));
  f.orch.http().post("/tasks/" + other + "/cancel", "{}");
}

TEST_CASE("task tokens: a task given its own ORCHESTRATOR_TOKEN keeps it, and --task-token-key-file "
          "lets a restarted orchestrator accept the tokens it signed before",
          "[e2e][children][auth]") {
  temp_dir dir{"orch-task-key"};
  auto storage = fresh_storage(dir);
  auto key = dir / "task-token.key";
  auto args = instance_args({"--auth", "required", "--task-token-key-file", key,
                             "--log-level", "warn"},
                            storage, {});
  std::map<std::string, std::string> env{{"ORCHESTRATOR_ADMIN_PASSWORD", token_admin_password}};
  auto sign_in = [&](orchestrator_process& o) {
    auto r = o.http().post("/auth/login",
                           json{{"username", "admin"}, {"password", token_admin_password}}.dump());
    REQUIRE(r.status == 200);
    o.http().set_bearer(r.json()["data"]["token"].get<std::string>());
  };
  auto first = std::make_unique<orchestrator_process>(args, dir / "first", std::vector<std::string>{}, env);
  sign_in(*first);
  REQUIRE(std::filesystem::exists(key));
  CHECK((std::filesystem::status(key).permissions() & std::filesystem::perms::group_read)
        == std::filesystem::perms::none);
  auto given = first->submit({{"command", "sh"},
                              {"args", {"-c", "printf %s \"$ORCHESTRATOR_TOKEN\""}},
                              {"env", {{"ORCHESTRATOR_TOKEN", "mine"}}}});
  CHECK(first->wait_terminal(given["id"])["output"] == "mine");

  // A token signed before a restart with the same key file is still good
  // for as long as its task runs this attempt: made here with the key.
  auto token_file = dir / "token";
  auto t = first->submit({{"command", "sh"},
                          {"args", {"-c", "printf %s \"$ORCHESTRATOR_TOKEN\" > '"
                                            + token_file + ".part' && mv '"
                                            + token_file + ".part' '"
                                            + token_file + "'; sleep 60"}}});
  REQUIRE(wait_until([&] { return std::filesystem::exists(token_file); }));
  auto token = slurp(token_file);
  auto key_text = slurp(key);
  first.reset();  // stopped: its running task is interrupted and queued again
  orchestrator_process second{args, dir / "second", {}, env};
  sign_in(second);
  CHECK(slurp(key) == key_text);
  http_client as_task{"127.0.0.1", second.port()};
  as_task.set_bearer(token);
  // The signature holds. Whether attempt 1 does depends on the backend: a
  // local one hands the interrupted task back at the stop; on a shared
  // server it stays Running until its lease runs out.
  auto r = as_task.get("/tasks/" + t["id"].get<std::string>());
  INFO(r.body);
  CHECK((r.status == 200 || error_of(r).find("is no longer valid") != std::string::npos));
  CHECK(error_of(r).find("not signed") == std::string::npos);
  second.http().post("/tasks/" + t["id"].get<std::string>() + "/cancel", "{}");
  second.wait_terminal(t["id"]);
  second.proc().terminate();

  // Without the file, a new process signs with a key of its own.
  std::vector<std::string> no_key{"--auth", "required", "--log-level", "warn"};
  orchestrator_process third{instance_args(no_key, storage, {}), dir / "third", {}, env};
  http_client as_stranger{"127.0.0.1", third.port()};
  as_stranger.set_bearer(token);
  CHECK_THAT(error_of(as_stranger.get("/tasks/" + t["id"].get<std::string>())),
             Catch::Contains("not signed by this orchestrator"));

  std::ofstream{dir / "short.key"} << "too short";
  auto bad = run_orchestrator(instance_args({"--task-token-key-file", dir / "short.key"},
                                            storage, {}),
                              dir / "bad");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("needs at least 32"));
}
