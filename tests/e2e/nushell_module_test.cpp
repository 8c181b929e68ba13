// scripts/orchestrator.nu through a real `nu` against a real orchestrator:
// each test runs a Nushell program that uses the module and prints what it
// got as JSON (`to json`), with the value's Nushell type beside it, so the
// commands are held to returning structured values, not text.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "runtime/core/clock.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tests/support/child.hpp"
#include "tests/support/skip.hpp"

using namespace orch;
using namespace orch::test;

namespace {

const std::string module_path = ORCH_SOURCE_DIR "/scripts/orchestrator.nu";

bool have_nu() {
  return std::system("command -v nu >/dev/null 2>&1") == 0;
}

struct nu_run {
  int code = -1;
  std::string out, err;
  json value() const {
    INFO(err);
    return json::parse(out);
  }
};

/// Runs `program` after `use scripts/orchestrator.nu *`, talking to `port`;
/// the client file lives in `dir`.
nu_run run_nu(const temp_dir& dir, uint16_t port, const std::string& program,
              std::map<std::string, std::string> env = {}) {
  static int runs = 0;
  env.emplace("ORCHESTRATOR_URL", "http://127.0.0.1:" + std::to_string(port));
  env.emplace("ORCHESTRATOR_CONFIG", dir / "client.nuon");
  // No user config: the module is what is tested, not this machine's nu set-up.
  child c{{"nu", "--no-config-file", "-c", "use " + module_path + " *\n" + program},
          dir / ("nu-" + std::to_string(runs++)), env};
  auto code = c.wait_exit(std::chrono::seconds(60));
  return {code, c.out(), c.err()};
}

#define REQUIRE_NU()                                                                   \
  if (!have_nu()) {                                                                    \
    ORCH_SKIP("Nushell (nu) is not installed: scripts/setup.sh installs it");          \
    return;                                                                            \
  }

} // namespace

TEST_CASE("nushell module: orch submit returns the stored task as a record and orch wait "
          "returns it once it has ended", "[e2e][nushell]") {
  REQUIRE_NU();
  e2e_fixture f;
  auto r = run_nu(f.dir, f.orch->port(), R"nu(
    let t = (orch submit sh -c 'sleep 0.3; echo "$GREETING from nu"' --name greet
               --label {team: infra} --environment {GREETING: hello} --priority 5
               --max-retries 2 --timeout 1min)
    let done = (orch wait $t.id)
    let later = (orch submit true --run-at ((date now) + 1hr))
    orch cancel $later.id | ignore
    {submitted: $t, submitted_type: ($t | describe), done: $done, done_type: ($done | describe),
     later: $later}
    | to json -r
  )nu");
  REQUIRE(r.code == 0);
  auto v = r.value();
  CHECK(v["submitted_type"].get<std::string>().rfind("record", 0) == 0);
  CHECK(v["submitted"]["name"] == "greet");
  CHECK(v["submitted"]["command"] == "sh");
  CHECK(v["submitted"]["labels"] == json{{"team", "infra"}});
  CHECK(v["submitted"]["priority"] == 5);
  CHECK(v["submitted"]["max_retries"] == 2);
  CHECK(v["submitted"]["timeout_s"] == 60);
  CHECK(v["submitted"]["status"] != "Completed");
  CHECK(v["done"]["id"] == v["submitted"]["id"]);
  CHECK(v["done"]["status"] == "Completed");
  CHECK(v["done"]["output"] == "hello from nu\n");
  CHECK(v["done_type"].get<std::string>().rfind("record", 0) == 0);
  // A datetime for --run-at goes over as RFC 3339: an hour from now.
  micros run_at = 0, created = 0;
  REQUIRE(parse_rfc3339(v["later"]["run_at"].get<std::string>(), run_at));
  REQUIRE(parse_rfc3339(v["later"]["created_at"].get<std::string>(), created));
  CHECK(run_at - created > 3500LL * 1'000'000);
  CHECK(run_at - created < 3700LL * 1'000'000);
  CHECK(v["later"]["status"] == "Queued");
}

TEST_CASE("nushell module: orch tasks searches and pages into a table, orch cancel, orch retry, "
          "orch history and orch output", "[e2e][nushell]") {
  REQUIRE_NU();
  e2e_fixture f;
  auto r = run_nu(f.dir, f.orch->port(), R"nu(
    let ids = (0..4 | each {|i| (orch submit echo $"item-($i)" --label {batch: nu-test}).id })
    $ids | each {|id| orch wait $id } | ignore
    let sleeper = (orch submit sleep 60 --name sleeper --label {batch: other})
    let all = (orch tasks -q 'label:batch=nu-test')
    let paged = (orch tasks -q 'label:batch=nu-test' --limit 2 --all)
    let first_page = (orch tasks -q 'label:batch=nu-test' --limit 2)
    let cancelled = (orch cancel $sleeper.id)
    let retried = (orch retry $sleeper.id)
    let after_retry = (orch cancel $sleeper.id)
    let by_status = (orch tasks --status [Cancelled Failed])
    {
      all_type: ($all | describe), all: ($all | get id | sort), ids: ($ids | sort),
      paged: ($paged | get id | sort), first_page: ($first_page | length),
      cancelled: $cancelled.status, retried: $retried.status, by_status: ($by_status | get id),
      sleeper: $sleeper.id,
      history: (orch history $sleeper.id | get kind),
      output: (orch output ($ids | first)),
      nodes: (orch nodes | describe)
    } | to json -r
  )nu");
  REQUIRE(r.code == 0);
  auto v = r.value();
  CHECK(v["all_type"].get<std::string>().rfind("table", 0) == 0);
  CHECK(v["all"] == v["ids"]);
  CHECK(v["paged"] == v["ids"]);  // three pages of two, then one
  CHECK(v["first_page"] == 2);
  CHECK(v["cancelled"] == "Cancelled");
  CHECK(v["retried"] != "Cancelled");
  CHECK(v["by_status"] == json::array({v["sleeper"]}));
  auto history = v["history"];
  CHECK(history.front() == "created");
  CHECK(std::count(history.begin(), history.end(), "cancelled") == 2);
  CHECK(std::count(history.begin(), history.end(), "retried") == 1);
  CHECK(v["output"] == "item-0\n");
  CHECK(v["nodes"].get<std::string>().rfind("table", 0) == 0);
}

TEST_CASE("nushell module: orch events is a stream of records a pipeline takes what it needs "
          "from", "[e2e][nushell]") {
  REQUIRE_NU();
  e2e_fixture f;
  auto r = run_nu(f.dir, f.orch->port(), R"nu(
    let a = (orch submit true --wait)
    let b = (orch submit false --wait)
    let replayed = (orch events --replay --kind [completed failed] | first 2)
    # Live: a listener in a job from the last event so far (what commits
    # before it connects is replayed), then a task to hear of.
    let mark = (orch history $b.id | last | get id)
    let listener = (job spawn { orch events --kind [completed] --after $mark | first | job send 0 })
    let c = (orch submit true)
    let heard = (job recv --timeout 20sec)
    {
      type: ($replayed | describe),
      replayed: ($replayed | select task_id kind status),
      a: $a.id, b: $b.id, c: $c.id, heard: $heard.task_id
    } | to json -r
  )nu");
  REQUIRE(r.code == 0);
  auto v = r.value();
  CHECK(v["type"].get<std::string>().rfind("table", 0) == 0);
  CHECK(v["replayed"] == json::parse(R"([{"task_id":)" + v["a"].dump()
                                     + R"(,"kind":"completed","status":"Completed"},{"task_id":)"
                                     + v["b"].dump() + R"(,"kind":"failed","status":"Failed"}])"));
  CHECK(v["heard"] == v["c"]);
}

TEST_CASE("nushell module: refusals and failures are errors that say what is wrong",
          "[e2e][nushell]") {
  REQUIRE_NU();
  e2e_fixture f;
  auto timed_out = run_nu(f.dir, f.orch->port(), R"nu(
    let t = (orch submit sleep 30)
    try { orch wait $t.id --timeout 500ms; "returned" } catch {|e| $e.msg } | to json -r
  )nu");
  REQUIRE(timed_out.code == 0);
  CHECK_THAT(timed_out.value().get<std::string>(),
             Catch::Contains("has not ended within") && Catch::Contains("it is "));

  auto missing = run_nu(f.dir, f.orch->port(),
                        "try { orch task 00000000-0000-4000-8000-000000000000 } catch {|e| $e.msg }"
                        " | to json -r");
  CHECK_THAT(missing.value().get<std::string>(), Catch::Contains("404") && Catch::Contains("task"));

  auto bad = run_nu(f.dir, f.orch->port(), "orch submit");
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Catch::Contains("give a COMMAND"));

  auto refused = run_nu(f.dir, f.orch->port(),
                        "try { orch tasks -q 'since:yesterday-ish' } catch {|e| $e.msg } | to json -r");
  CHECK_THAT(refused.value().get<std::string>(), Catch::Contains("400"));

  auto unreachable = run_nu(f.dir, f.orch->port(), "orch tasks",
                            {{"ORCHESTRATOR_URL", "http://127.0.0.1:1"}});
  CHECK(unreachable.code != 0);
  CHECK_THAT(unreachable.err, Catch::Contains("cannot reach the orchestrator at http://127.0.0.1:1"));
}

TEST_CASE("nushell module: orch login keeps the session's token in a client file only its owner "
          "reads, which the next commands use", "[e2e][nushell][auth]") {
  REQUIRE_NU();
  const std::string password = "nu-admin-password-1";
  temp_dir dir{"orch-nu-auth"};
  auto storage = fresh_storage(dir);
  orchestrator_process orch{instance_args({"--auth", "required", "--log-level", "warn"}, storage),
                            dir / "orch", std::vector<std::string>{},
                            std::map<std::string, std::string>{
                              {"ORCHESTRATOR_ADMIN_PASSWORD", password}}};

  auto anonymous = run_nu(dir, orch.port(), "try { orch tasks } catch {|e| $e.msg } | to json -r");
  CHECK_THAT(anonymous.value().get<std::string>(),
             Catch::Contains("401") && Catch::Contains("orch login"));

  auto wrong = run_nu(dir, orch.port(),
                      "try { orch login admin --password nope } catch {|e| $e.msg } | to json -r");
  CHECK_THAT(wrong.value().get<std::string>(), Catch::Contains("401"));
  CHECK_FALSE(std::filesystem::exists(dir / "client.nuon"));

  auto login = run_nu(dir, orch.port(),
                      "orch login admin --password " + password + " | to json -r");
  REQUIRE(login.code == 0);
  CHECK(login.value()["user"] == "admin");
  CHECK(login.value()["roles"] == json::array({"admin"}));
  struct stat st{};
  REQUIRE(::stat((dir / "client.nuon").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // A new nu process: the token comes from the client file.
  auto later = run_nu(dir, orch.port(), R"nu(
    let t = (orch submit echo signed-in --wait)
    {status: $t.status, owner: $t.owner, me: (orch whoami | get username)} | to json -r
  )nu");
  REQUIRE(later.code == 0);
  CHECK(later.value()["status"] == "Completed");
  CHECK(later.value()["me"] == "admin");
}

TEST_CASE("nushell examples: fan-out-fan-in.nu submits one task per number, waits for them all "
          "and combines their outputs", "[e2e][nushell][examples]") {
  REQUIRE_NU();
  e2e_fixture f;
  std::map<std::string, std::string> env{
    {"ORCHESTRATOR_URL", "http://127.0.0.1:" + std::to_string(f.orch->port())},
    {"ORCHESTRATOR_CONFIG", f.dir / "client.nuon"}};
  // Run through its shebang, from another directory: it finds the module itself.
  child c{{"env", "-C", "/", ORCH_SOURCE_DIR "/scripts/examples/fan-out-fan-in.nu", "--json",
           "1", "2", "3", "4", "5", "6"},
          f.dir / "fan-out", env};
  REQUIRE(c.wait_exit(std::chrono::seconds(60)) == 0);
  INFO(c.err());
  auto result = json::parse(c.out());
  CHECK(result["tasks"] == 6);
  CHECK(result["squares"] == json::array({1, 4, 9, 16, 25, 36}));
  CHECK(result["sum"] == 91);
  auto found = f.orch->http()
                 .get("/tasks?q=label:batch=" + result["batch"].get<std::string>())
                 .json()["data"];
  CHECK(found["total"] == 6);

  child none{{ORCH_SOURCE_DIR "/scripts/examples/fan-out-fan-in.nu"}, f.dir / "fan-out-none", env};
  CHECK(none.wait_exit(std::chrono::seconds(60)) != 0);
  CHECK_THAT(none.err(), Catch::Contains("give the numbers to square"));
}

TEST_CASE("nushell examples: fan-out-fan-in.nu runs as a task under --auth required, its "
          "children made, awaited and read with the task's own token",
          "[e2e][nushell][examples][children][auth]") {
  REQUIRE_NU();
  temp_dir dir{"orch-nu-task-token"};
  const std::string password = "fan-out-admin";
  orchestrator_process o{
    instance_args({"--auth", "required", "--max-concurrent-tasks", "4", "--log-level", "warn"},
                  fresh_storage(dir), {}),
    dir / "orch", {}, {{"ORCHESTRATOR_ADMIN_PASSWORD", password}}};
  auto login = o.http().post("/auth/login",
                             json{{"username", "admin"}, {"password", password}}.dump());
  REQUIRE(login.status == 200);
  o.http().set_bearer(login.json()["data"]["token"].get<std::string>());
  // The task is given no token: the one it gets reaches only its children.
  auto parent = o.submit({{"script_file", ORCH_SOURCE_DIR "/scripts/examples/fan-out-fan-in.nu"},
                          {"args", {"--json", "1", "2", "3"}},
                          {"timeout_s", 120}});
  auto id = parent["id"].get<std::string>();
  auto done = o.wait_terminal(id, std::chrono::seconds(90));
  INFO(done.dump());
  REQUIRE(done["status"] == "Completed");
  auto result = json::parse(done["output"].get<std::string>());
  CHECK(result["squares"] == json::array({1, 4, 9}));
  CHECK(result["sum"] == 14);
  auto children = o.http().get("/tasks?parent=" + id).json()["data"];
  CHECK(children["total"] == 3);
  for (auto& c : children["tasks"]) {
    CHECK(c["owner"] == "task:" + id);
    CHECK(c["labels"]["batch"] == result["batch"]);
  }
}

TEST_CASE("nushell module: orch schedule creates, lists, shows, pauses, resumes, changes and "
          "deletes schedules as records, with datetimes", "[e2e][nushell][schedules]") {
  REQUIRE_NU();
  e2e_fixture f;
  auto r = run_nu(f.dir, f.orch->port(), R"nu(
    let made = (orch schedule create ticker '* * * * * *' sh -c 'echo tick' --overlap allow
                  --label {team: infra} --task-name tick --max-retries 1)
    # Its first task, from the stored events on: none slips by.
    let first = (orch events --label {schedule: ticker} --kind [completed] --since $made.created_at
                 | first)
    let paused = (orch schedule pause ticker)
    let tasks = (orch schedule tasks ticker)
    let resumed = (orch schedule resume ticker)
    let changed = (orch schedule update ticker {cron: '0 3 * * *', timezone: 'Europe/Berlin'})
    let listed = (orch schedule list)
    let refused = (try { orch schedule create ticker '* * * * *' true; "accepted" } catch {|e| $e.msg })
    let gone = (orch schedule delete ticker)
    let missing = (try { orch schedule show ticker; "found" } catch {|e| $e.msg })
    {made: $made, made_type: ($made | describe), firings_type: ($made.next_firings | describe),
     first: $first, paused: $paused, tasks: $tasks, tasks_type: ($tasks | describe),
     resumed: $resumed, changed: $changed, listed: $listed, refused: $refused, gone: $gone.name,
     missing: $missing}
    | to json -r
  )nu");
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto v = r.value();
  CHECK(v["made_type"].get<std::string>().rfind("record", 0) == 0);
  CHECK(v["firings_type"] == "list<datetime>");
  CHECK(v["made"]["task"]["name"] == "tick");
  CHECK(v["made"]["task"]["labels"] == json{{"team", "infra"}});
  CHECK(v["made"]["task"]["max_retries"] == 1);
  CHECK(v["made"]["next_firings"].size() == 5);
  CHECK(v["paused"]["paused"] == true);
  CHECK(v["paused"]["next_firings"].empty());
  CHECK(v["tasks_type"].get<std::string>().rfind("table", 0) == 0);
  REQUIRE_FALSE(v["tasks"].empty());
  bool first_listed = false;
  for (auto& t : v["tasks"]) {
    CHECK(t["labels"]["schedule"] == "ticker");
    first_listed = first_listed || t["id"] == v["first"]["task_id"];
  }
  CHECK(first_listed);
  CHECK(v["resumed"]["paused"] == false);
  CHECK(v["changed"]["cron"] == "0 3 * * *");
  CHECK(v["changed"]["timezone"] == "Europe/Berlin");
  REQUIRE(v["listed"].size() == 1);
  CHECK(v["listed"][0]["name"] == "ticker");
  CHECK_THAT(v["refused"].get<std::string>(), Catch::Contains("409") && Catch::Contains("exists already"));
  CHECK(v["gone"] == "ticker");
  CHECK_THAT(v["missing"].get<std::string>(), Catch::Contains("404"));
}

TEST_CASE("nushell examples: nightly-report.nu makes its schedule once, changes it when run "
          "again, and --watch prints the next firing's report", "[e2e][nushell][examples]") {
  REQUIRE_NU();
  e2e_fixture f;
  const std::string watched_dir = f.dir / "watched";
  std::filesystem::create_directories(watched_dir);
  for (auto [name, bytes] : {std::pair{"large", 5000}, std::pair{"medium", 300}, std::pair{"tiny", 1}}) {
    std::ofstream out{watched_dir + "/" + name};
    out << std::string(static_cast<size_t>(bytes), 'x');
  }
  std::map<std::string, std::string> env{
    {"ORCHESTRATOR_URL", "http://127.0.0.1:" + std::to_string(f.orch->port())},
    {"ORCHESTRATOR_CONFIG", f.dir / "client.nuon"}};
  const std::string script = ORCH_SOURCE_DIR "/scripts/examples/nightly-report.nu";
  child watched{{"env", "-C", "/", script, "--json", "--watch", "--cron", "* * * * * *", "--dir",
                 watched_dir, "--top", "2"},
                f.dir / "nightly", env};
  REQUIRE(watched.wait_exit(std::chrono::seconds(60)) == 0);
  INFO(watched.err());
  auto result = json::parse(watched.out());
  CHECK(result["schedule"]["name"] == "nightly-disk-report");
  auto files = result["report"]["files"];
  REQUIRE(files.size() == 2);
  CHECK(files[0]["name"] == watched_dir + "/large");
  CHECK(files[0]["size"] == 5000);
  CHECK(files[1]["size"] == 300);

  // Run again with the defaults: the same schedule, now nightly at 02:00 in Berlin.
  child again{{script, "--json", "--timezone", "Europe/Berlin"}, f.dir / "nightly-again", env};
  REQUIRE(again.wait_exit(std::chrono::seconds(60)) == 0);
  auto shown = json::parse(again.out())["schedule"];
  CHECK(shown["cron"] == "0 2 * * *");
  auto next = shown["next_firings"][0].get<std::string>();
  CHECK((next.find("T01:00:00") != std::string::npos || next.find("T00:00:00") != std::string::npos));
  auto all = f.orch->http().get("/schedules").json()["data"];
  CHECK(all["total"] == 1);
}

TEST_CASE("nushell module: orch workflow submits a graph, waits for it, retries it, and says "
          "why a cycle is refused", "[e2e][nushell][workflows]") {
  REQUIRE_NU();
  e2e_fixture f;
  auto marker = f.dir / "ready";
  auto r = run_nu(f.dir, f.orch->port(), R"nu(
    let marker = $env.MARKER
    let wf = (orch workflow submit --name release --wait [
      {key: fetch, command: sh, args: [-c 'echo fetched']}
      {key: build, after: [fetch], command: sh, args: [-c $"test -e ($marker) && echo built"]}
    ])
    touch $marker
    orch workflow retry $wf.id | ignore
    let again = (orch workflow wait $wf.id)
    let cycle = (try {
      orch workflow submit [{key: a, after: [b], command: 'true'} {key: b, after: [a], command: 'true'}]
      "accepted"
    } catch {|e| $e.msg })
    let kept = (orch workflow submit --keep-going --wait [
      {key: bad, command: 'false'}
      {key: tidy, after: [bad], command: 'true'}
    ])
    let bad_id = ($kept.tasks | where key == bad | first | get id)
    let plain = (orch submit true --after [$bad_id] --run-after-failure --wait)
    let sched = (orch schedule create wf-nightly '0 2 * * *' --paused
                   --workflow {tasks: [{key: a, command: 'true'}]})
    {first: $wf, first_type: ($wf | describe), again: $again, listed: (orch workflow list | length),
     cycle: $cycle, kept: $kept.counts, plain: $plain.status,
     scheduled: ($sched.workflow.tasks | first | get key), sched_task: $sched.task}
    | to json -r
  )nu", {{"MARKER", marker}});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto v = r.value();
  CHECK(v["first_type"].get<std::string>().rfind("record", 0) == 0);
  CHECK(v["first"]["status"] == "Failed");
  CHECK(v["first"]["counts"] == json{{"Completed", 1}, {"Failed", 1}});
  CHECK(v["again"]["status"] == "Completed");
  CHECK(v["listed"] == 2);
  // --keep-going: the node after the failed one ran; --run-after-failure likewise.
  CHECK(v["kept"] == json{{"Completed", 1}, {"Failed", 1}});
  CHECK(v["plain"] == "Completed");
  CHECK(v["scheduled"] == "a");
  CHECK(v["sched_task"].is_null());
  CHECK_THAT(v["cycle"].get<std::string>(), Catch::Contains("400") && Catch::Contains("cycle"));
}

TEST_CASE("nushell examples: provision.nu runs the provision-host template for each host at once "
          "and shows each one's verified configuration, and a refused host name says why",
          "[e2e][nushell][examples][templates]") {
  REQUIRE_NU();
  e2e_fixture f{{"--workflow-templates", ORCH_SOURCE_DIR "/config/workflows"}};
  std::map<std::string, std::string> env{
    {"ORCHESTRATOR_URL", "http://127.0.0.1:" + std::to_string(f.orch->port())},
    {"ORCHESTRATOR_CONFIG", f.dir / "client.nuon"}};
  auto root = f.dir / "hosts";
  child c{{ORCH_SOURCE_DIR "/scripts/examples/provision.nu", "DB-2", "db-1", "--role", "db",
           "--root", root, "--json"},
          f.dir / "provision", env};
  REQUIRE(c.wait_exit(std::chrono::seconds(120)) == 0);
  INFO(c.err());
  auto result = json::parse(c.out());
  REQUIRE(result.size() == 2);
  CHECK(result[0]["host"] == "DB-2");
  CHECK(result[0]["status"] == "Completed");
  CHECK(result[0]["config"] == json{"host=db-2", "role=db"});
  CHECK(result[1]["config"] == json{"host=db-1", "role=db"});
  CHECK(slurp(root + "/db-1/host.conf") == "host=db-1\nrole=db\n");
  CHECK(f.orch->http().get("/workflows").json()["data"]["total"] == 2);

  child bad{{ORCH_SOURCE_DIR "/scripts/examples/provision.nu", "bad;host"}, f.dir / "bad", env};
  CHECK(bad.wait_exit(std::chrono::seconds(60)) != 0);
  CHECK_THAT(bad.err(), Catch::Contains("parameter 'host' is 'bad;host', which does not match"));
}

TEST_CASE("nushell module: orch workflow templates lists the templates and orch workflow run "
          "starts the disk-report script template with its parameters as flags",
          "[e2e][nushell][templates]") {
  REQUIRE_NU();
  e2e_fixture f{{"--workflow-templates", ORCH_SOURCE_DIR "/config/workflows"}};
  auto files = f.dir / "files";
  std::filesystem::create_directories(files);
  write_text(files + "/big", std::string(5000, 'x'));
  write_text(files + "/small", "x");
  write_text(files + "/mid", std::string(300, 'x'));
  auto r = run_nu(f.dir, f.orch->port(), R"nu(
    let templates = (orch workflow templates)
    let wf = (orch workflow run disk-report {dir: $env.FILES, top: 2} --wait)
    let report = (orch task ($wf.tasks | first | get id))
    {names: ($templates | get name), type: ($templates | describe), status: $wf.status,
     args: $report.args, files: ($report.output | from json)}
    | to json -r
  )nu", {{"FILES", files}});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto v = r.value();
  CHECK(v["names"] == json{"disk-report", "provision-host"});
  CHECK(v["type"].get<std::string>().rfind("table", 0) == 0);
  CHECK(v["status"] == "Completed");
  CHECK(v["args"] == json{"--dir", files, "--top", "2"});
  REQUIRE(v["files"].size() == 2);
  CHECK(v["files"][0]["size"] == 5000);
  CHECK(v["files"][1]["size"] == 300);
}

TEST_CASE("nushell module: a Nushell script task fans out children with orch submit, waits for "
          "them with orch wait and combines their outputs, and they are listed as its children",
          "[e2e][nushell][children]") {
  REQUIRE_NU();
  e2e_fixture f{{"--max-concurrent-tasks", "4"}};
  // The task's own script: inside a task, orch submit makes children of it.
  auto script = "use " + module_path + " *\n"
                "let kids = (1..3 | each {|i| orch submit sh -c $'echo ($i * $i)' })\n"
                "let squares = ($kids | each {|k| (orch wait $k.id).output | str trim | into int })\n"
                "print ($squares | math sum)";
  auto parent = f.orch->submit({{"script", script}, {"timeout_s", 120}});
  auto done = f.orch->wait_terminal(parent["id"], std::chrono::seconds(90));
  INFO(done.dump());
  REQUIRE(done["status"] == "Completed");
  CHECK(done["output"] == "14\n");
  auto r = f.orch->http().get("/tasks?parent=" + parent["id"].get<std::string>());
  REQUIRE(r.status == 200);
  CHECK(r.json()["data"]["total"] == 3);
}
