// {{tasks.KEY.output}} in a dependant's args and env (runtime/core/output_refs):
// which references a task holds, how they are filled, and what is refused.
#include <catch2/catch.hpp>

#include "runtime/core/output_refs.hpp"

using namespace orch;

namespace {

task referring(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  task t;
  t.command = "deploy";
  t.args = std::move(args);
  t.env = std::move(env);
  return t;
}

} // namespace

TEST_CASE("output refs: args and env values name their dependencies' outputs", "[outputs]") {
  auto t = referring({"--version", "{{tasks.build.output}}", "{{ tasks.fetch.output }}-x"},
                     {{"SHA", "{{tasks.fetch.output}}"}, {"PLAIN", "{{task.build.output}}"}});
  CHECK(output_references(t) == std::set<std::string>{"build", "fetch"});
  CHECK(misplaced_output_reference(t).empty());
  REQUIRE(substitute_outputs(t, {{"build", "1.2.3\n"}, {"fetch", "abc\r\n\n"}}).ok());
  CHECK(t.args == std::vector<std::string>{"--version", "1.2.3", "abc-x"});
  CHECK(t.env.at("SHA") == "abc");
  CHECK(t.env.at("PLAIN") == "{{task.build.output}}");  // not a reference: left as it is
  CHECK(output_references(t).empty());
  // Two in one argument, and an output that itself looks like a reference is not filled again.
  auto two = referring({"{{tasks.a.output}}+{{tasks.b.output}}"});
  REQUIRE(substitute_outputs(two, {{"a", "{{tasks.b.output}}"}, {"b", "B"}}).ok());
  CHECK(two.args[0] == "{{tasks.b.output}}+B");
}

TEST_CASE("output refs: a reference with no output, or an output with a NUL byte, fails and "
          "changes nothing, and one outside args and env is found",
          "[outputs]") {
  auto t = referring({"{{tasks.build.output}}", "{{tasks.gone.output}}"});
  auto missing = substitute_outputs(t, {{"build", "x"}});
  CHECK_FALSE(missing.ok());
  CHECK(missing.message() == "{{tasks.gone.output}} names no dependency of this task");
  CHECK(t.args[0] == "{{tasks.build.output}}");
  auto nul = referring({"{{tasks.build.output}}"});
  auto bad = substitute_outputs(nul, {{"build", std::string{"a\0b", 3}}});
  CHECK_FALSE(bad.ok());
  CHECK(bad.message().find("NUL") != std::string::npos);
  task in_command;
  in_command.command = "{{tasks.build.output}}";
  CHECK(misplaced_output_reference(in_command) == "command");
  task in_script;
  in_script.script = "print '{{tasks.build.output}}'";
  CHECK(misplaced_output_reference(in_script) == "script");
  auto in_name = referring({}, {{"{{tasks.build.output}}", "v"}});
  CHECK(misplaced_output_reference(in_name) == "env (a variable's name)");
}

TEST_CASE("output refs: a dependency is named by its id, and by its key within its own "
          "workflow only",
          "[outputs]") {
  task dep;
  dep.id = "0b8e2c1a-5d4f-4e3a-9b2c-1d0e9f8a7b6c";
  dep.labels = {{"workflow", "w1"}, {"workflow_key", "build"}};
  task same;
  same.labels = {{"workflow", "w1"}, {"workflow_key", "deploy"}};
  task other;
  other.labels = {{"workflow", "w2"}};
  CHECK(reference_names(same, dep) == std::set<std::string>{dep.id, "build"});
  CHECK(reference_names(other, dep) == std::set<std::string>{dep.id});
  CHECK(reference_names(task{}, dep) == std::set<std::string>{dep.id});
}
