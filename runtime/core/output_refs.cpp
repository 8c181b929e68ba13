#include "runtime/core/output_refs.hpp"

#include <regex>

#include "runtime/core/text_match.hpp"

namespace orch {

namespace {

/// `{{tasks.KEY.output}}`, spaces allowed inside the braces; KEY as a
/// workflow key or a task id spells it.
const std::regex& reference_pattern() {
  static const std::regex re{R"(\{\{\s*tasks\.([A-Za-z0-9._-]{1,64}?)\.output\s*\}\})"};
  return re;
}

template <class F>
void each_reference(const std::string& text, F&& f) {
  for (std::sregex_iterator i{text.begin(), text.end(), reference_pattern()}, end; i != end; ++i)
    f(*i);
}

bool has_reference(const std::string& text) {
  return std::regex_search(text, reference_pattern());
}

std::string without_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

} // namespace

std::set<std::string> output_references(const task& t) {
  std::set<std::string> out;
  auto add = [&](const std::string& text) {
    each_reference(text, [&](const std::smatch& m) { out.insert(m[1].str()); });
  };
  for (auto& a : t.args)
    add(a);
  for (auto& [k, v] : t.env)
    add(v);
  return out;
}

std::string misplaced_output_reference(const task& t) {
  if (has_reference(t.command))
    return "command";
  if (has_reference(t.script))
    return "script";
  if (has_reference(t.script_file))
    return "script_file";
  if (has_reference(t.workdir))
    return "workdir";
  for (auto& [k, v] : t.env)
    if (has_reference(k))
      return "env (a variable's name)";
  return {};
}

std::string misplaced_reference_problem(const task& t) {
  auto field = misplaced_output_reference(t);
  return field.empty() ? field
                       : "{{tasks.KEY.output}} goes only in args and env values, not in " + field;
}

status substitute_outputs(task& t, const std::map<std::string, std::string>& outputs) {
  std::map<std::string, std::string> values;
  for (auto& key : output_references(t)) {
    auto i = outputs.find(key);
    if (i == outputs.end())
      return invalid_input("{{tasks." + key + ".output}} names no dependency of this task");
    auto v = without_trailing_newlines(i->second);
    if (v.find('\0') != std::string::npos)
      return invalid_input("the output of " + key + " holds a NUL byte, which no argument or "
                           "variable can carry");
    values.emplace(key, std::move(v));
  }
  auto fill = [&](const std::string& text) {
    return replace_matches(text, reference_pattern(),
                           [&](const std::smatch& m) { return values.at(m[1].str()); });
  };
  for (auto& a : t.args)
    a = fill(a);
  for (auto& [k, v] : t.env)
    v = fill(v);
  return {};
}

std::set<std::string> reference_names(const task& dependant, const task& dependency) {
  std::set<std::string> names{dependency.id};
  auto wf = dependant.labels.find("workflow");
  auto dep_wf = dependency.labels.find("workflow");
  auto key = dependency.labels.find("workflow_key");
  if (wf != dependant.labels.end() && dep_wf != dependency.labels.end()
      && wf->second == dep_wf->second && key != dependency.labels.end())
    names.insert(key->second);
  return names;
}

} // namespace orch
