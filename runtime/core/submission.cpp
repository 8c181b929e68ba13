#include "runtime/core/submission.hpp"

#include <set>

#include "runtime/core/field_decoder.hpp"
#include "runtime/core/node_labels.hpp"

namespace orch {

namespace {

constexpr uint32_t max_timeout_s = 30u * 24 * 3600;
constexpr uint32_t max_retries_limit = 100;
constexpr size_t max_dependencies = 1000;
constexpr size_t max_name_length = 256;

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

/// "args, command, ..." : what a client may send.
const std::string& accepted_fields() {
  static const std::string text = [] {
    std::string out;
    schema::for_each_field<task>([&](const auto& d) {
      if (d.from == schema::origin::client)
        out += (out.empty() ? "" : ", ") + std::string{d.name};
    });
    return out;
  }();
  return text;
}

/// Refuses keys a client may not send: the orchestrator's own, and unknown ones.
status check_submitted_key(std::string_view name) {
  int index = schema::field_index<task>(name);
  if (index < 0)
    return invalid_input("unknown field '" + std::string{name} + "' (accepted: " + accepted_fields()
                   + ")");
  schema::origin from = schema::origin::server;
  size_t i = 0;
  schema::for_each_field<task>([&](const auto& d) {
    if (i++ == static_cast<size_t>(index))
      from = d.from;
  });
  if (from != schema::origin::client)
    return invalid_input("field '" + std::string{name}
                   + "' is set by the orchestrator and cannot be submitted");
  return {};
}

/// The whole body must be JSON before any field is looked at.
status check_syntax(std::string_view body) {
  json_tokens in{body};
  for (;;) {
    auto t = in.next();
    if (t == json_tokens::tok::end)
      return {};
    if (t == json_tokens::tok::error)
      return invalid_input("the request body is " + in.error());
  }
}

/// What a task's fields must satisfy beyond their types.
status check_rules(const task& x) {
  if (!x.id.empty() && !is_uuid(x.id))
    return invalid_input("field 'id' must be a lower-case UUID such as "
                   "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b, got '" + x.id + "'");
  int sources = !x.command.empty() + !x.script.empty() + !x.script_file.empty();
  if (sources == 0)
    return invalid_input("missing 'command': give the program to run (or 'script' with inline "
                   "Nushell source, or 'script_file' with the path of a .nu file)");
  if (sources > 1)
    return invalid_input("give only one of 'command', 'script' and 'script_file'");
  if (!x.script.empty() && !x.args.empty())
    return invalid_input("'args' cannot be combined with an inline 'script'; put the script in a "
                   ".nu file and use 'script_file' to pass arguments");
  if (x.name.size() > max_name_length)
    return invalid_input("field 'name' is longer than " + std::to_string(max_name_length) + " characters");
  if (has_nul(x.command) || has_nul(x.workdir) || has_nul(x.script_file))
    return invalid_input("'command', 'workdir' and 'script_file' must not contain NUL bytes");
  for (auto& a : x.args)
    if (has_nul(a))
      return invalid_input("field 'args' must not contain NUL bytes");
  for (auto& [k, v] : x.env)
    if (k.empty() || k.find('=') != std::string::npos || has_nul(k) || has_nul(v))
      return invalid_input("field 'env' has an invalid variable name '" + k
                     + "' (names must be non-empty and contain no '=' or NUL)");
  if (x.dependencies.size() > max_dependencies)
    return invalid_input("field 'dependencies' has more than " + std::to_string(max_dependencies)
                   + " entries");
  std::set<std::string> seen;
  for (auto& d : x.dependencies) {
    if (!is_uuid(d))
      return invalid_input("field 'dependencies' must hold task ids (UUIDs), got '" + d + "'");
    if (!seen.insert(d).second)
      return invalid_input("field 'dependencies' lists '" + d + "' twice");
    if (d == x.id)
      return invalid_input("a task cannot depend on itself");
  }
  if (!x.parent.empty() && !is_uuid(x.parent))
    return invalid_input("field 'parent' must be a task id (a UUID), got '" + x.parent.substr(0, 40)
                         + "'");
  if (!x.parent.empty() && x.parent == x.id)
    return invalid_input("a task cannot be its own parent");
  if (x.labels.count("parent"))
    return invalid_input("label 'parent' is set by the orchestrator from the task's 'parent' "
                         "field: give that instead");
  if (!x.on_dependency_failure.empty() && x.on_dependency_failure != "fail"
      && x.on_dependency_failure != "run")
    return invalid_input("field 'on_dependency_failure' must be \"fail\" (the task fails without "
                         "running when a dependency fails or is cancelled) or \"run\" (it runs "
                         "once every dependency ended, however)");
  return check_required_labels(x.node_labels);
}

} // namespace

result<task> parse_submission(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return invalid_input("the request body is empty: send a JSON object such as "
                   "{\"command\": \"echo\", \"args\": [\"hello\"]}");
  if (auto st = check_syntax(body); !st)
    return st;
  task x;
  schema::decode_rules rules;
  rules.check_key = false;  // optional: check_rules() looks at it
  rules.ranges = {{"max_retries", 0, max_retries_limit}, {"timeout_s", 0, max_timeout_s}};
  auto st = schema::decode_object(body, x, rules, check_submitted_key);
  if (!st) {
    // The same object check as stored records, with the submission's words.
    if (st.message().rfind("a task must be", 0) == 0)
      return invalid_input("the request body" + st.message().substr(6));
    return st;
  }
  if (auto rule = check_rules(x); !rule)
    return rule;
  if (x.on_dependency_failure.empty())
    x.on_dependency_failure = "fail";
  if (!x.parent.empty())
    make_child(x, x.parent);
  return x;
}

void make_child(task& x, const std::string& parent) {
  x.parent = parent;
  x.labels["parent"] = parent;
}

} // namespace orch
