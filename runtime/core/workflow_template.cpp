#include "runtime/core/workflow_template.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/core/text_match.hpp"

namespace orch {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t max_template_bytes = 4 << 20;
constexpr size_t max_param_value = 4096;

const std::regex& param_reference() {
  static const std::regex re{R"(\{\{\s*params\.([A-Za-z0-9_-]{1,64})\s*\}\})"};
  return re;
}

bool is_param_name(const std::string& s) {
  return is_template_name(s);
}

/// Every {{params.NAME}} in the string values under `j`, with where it is.
void collect_references(const json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    auto& s = j.get_ref<const std::string&>();
    for (std::sregex_iterator i{s.begin(), s.end(), param_reference()}, end; i != end; ++i)
      out.push_back((*i)[1].str());
  } else if (j.is_array() || j.is_object()) {
    for (auto& v : j)
      collect_references(v, out);
  }
}

/// Replaces the references in every string value under `j`.
void fill_references(json& j, const std::map<std::string, std::string>& values) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    s = replace_matches(s, param_reference(),
                        [&](const std::smatch& m) { return values.at(m[1].str()); });
  } else if (j.is_array() || j.is_object()) {
    for (auto& v : j)
      fill_references(v, values);
  }
}

status broken(const std::string& name, const std::string& why) {
  return invalid_input("template '" + name + "': " + why);
}

result<template_param> read_param(const std::string& tname, const std::string& pname,
                                  const json& j) {
  template_param p;
  p.name = pname;
  if (!is_param_name(pname))
    return broken(tname, "parameter name '" + pname.substr(0, 64)
                           + "' must be 1-64 of A-Z a-z 0-9 _ -");
  if (!j.is_object())
    return broken(tname, "parameter '" + pname + "' must be an object such as "
                           "{\"required\": true, \"description\": \"...\"}");
  for (auto& [k, v] : j.items()) {
    if (k == "description" && v.is_string()) {
      p.description = v.get<std::string>();
    } else if (k == "required" && v.is_boolean()) {
      p.required = v.get<bool>();
    } else if (k == "default" && (v.is_string() || v.is_number() || v.is_boolean())) {
      p.has_default = true;
      p.default_value = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (k == "pattern" && v.is_string()) {
      p.pattern = v.get<std::string>();
      try {
        std::regex check{p.pattern};
      } catch (const std::regex_error& e) {
        return broken(tname, "parameter '" + pname + "': pattern '" + p.pattern.substr(0, 80)
                               + "' is not a regular expression (" + e.what() + ")");
      }
    } else {
      return broken(tname, "parameter '" + pname + "': '" + k.substr(0, 40)
                             + "' is unknown or of the wrong type (a parameter has description "
                               "(string), required (boolean), default (string), pattern "
                               "(string))");
    }
  }
  if (p.required && p.has_default)
    return broken(tname, "parameter '" + pname + "' is required and has a default: one or the other");
  return p;
}

/// The value `p` takes from the request's params, or why it cannot.
result<std::string> value_of(const template_param& p, const json& given) {
  auto i = given.find(p.name);
  if (i == given.end() || i->is_null()) {
    if (p.required)
      return invalid_input("parameter '" + p.name + "' is required"
                           + (p.description.empty() ? "" : " (" + p.description + ")"));
    return p.default_value;
  }
  if (!i->is_string() && !i->is_number() && !i->is_boolean())
    return invalid_input("parameter '" + p.name + "' must be a string, a number or a boolean");
  auto v = i->is_string() ? i->get<std::string>() : i->dump();
  if (v.size() > max_param_value)
    return invalid_input("parameter '" + p.name + "' is longer than "
                         + std::to_string(max_param_value) + " characters");
  if (v.find('\0') != std::string::npos)
    return invalid_input("parameter '" + p.name + "' must not contain NUL bytes");
  if (!p.pattern.empty() && !std::regex_match(v, std::regex{p.pattern}))
    return invalid_input("parameter '" + p.name + "' is '" + v.substr(0, 80)
                         + "', which does not match " + p.pattern);
  return v;
}

} // namespace

bool is_template_name(std::string_view name) {
  return !name.empty() && name.size() <= 64
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '_' || c == '-';
            });
}

result<workflow_template> parse_workflow_template(std::string_view text, const std::string& name,
                                                  const std::string& directory) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    return broken(name, "the file is not valid JSON");
  if (!j.is_object())
    return broken(name, "the file must hold an object with \"workflow\" or \"script\"");
  workflow_template t;
  t.name = name;
  t.directory = directory;
  for (auto& [k, v] : j.items())
    if (k != "description" && k != "params" && k != "workflow" && k != "script")
      return broken(name, "unknown field '" + k.substr(0, 40)
                            + "' (a template has description, params, and workflow or script)");
  if (auto d = j.find("description"); d != j.end()) {
    if (!d->is_string())
      return broken(name, "'description' must be a string");
    t.description = d->get<std::string>();
  }
  std::set<std::string> declared;
  if (auto ps = j.find("params"); ps != j.end()) {
    if (!ps->is_object())
      return broken(name, "'params' must be an object of parameters by name");
    for (auto& [pname, pj] : ps->items()) {
      auto p = read_param(name, pname, pj);
      if (!p)
        return p.error();
      declared.insert(pname);
      t.params.push_back(std::move(*p));
    }
  }
  auto wf = j.find("workflow");
  auto script = j.find("script");
  if ((wf == j.end()) == (script == j.end()))
    return broken(name, "give one of \"workflow\" (a graph as POST /workflows takes it) and "
                        "\"script\" (a Nushell script task)");
  auto& body = wf != j.end() ? *wf : *script;
  if (!body.is_object())
    return broken(name, std::string{"\""} + (wf != j.end() ? "workflow" : "script")
                          + "\" must be an object");
  std::vector<std::string> used;
  collect_references(body, used);
  for (auto& u : used)
    if (!declared.count(u))
      return broken(name, "{{params." + u + "}} is used but no parameter '" + u
                            + "' is declared in \"params\"");
  if (wf != j.end()) {
    t.workflow = body.dump();
  } else {
    auto file = body.find("script_file");
    if (file == body.end() || !file->is_string() || file->get<std::string>().empty())
      return broken(name, "\"script\" needs \"script_file\": the .nu file, relative to the "
                          "template's directory");
    if (body.contains("args") || body.contains("command") || body.contains("script"))
      return broken(name, "\"script\" takes task fields but not command, script or args: its "
                          "args are the parameters, as --NAME VALUE");
    t.script = body.dump();
  }
  return t;
}

result<std::string> instantiate_template(const workflow_template& t,
                                         std::string_view params_json) {
  json given = json::object();
  if (!params_json.empty()) {
    given = json::parse(params_json, nullptr, false);
    if (given.is_discarded() || !given.is_object())
      return invalid_input("'params' must be an object of parameter values by name");
  }
  std::map<std::string, std::string> values;
  for (auto& [k, v] : given.items())
    if (std::none_of(t.params.begin(), t.params.end(), [&](auto& p) { return p.name == k; })) {
      std::string known;
      for (auto& p : t.params)
        known += (known.empty() ? "" : ", ") + p.name;
      return invalid_input("template '" + t.name + "' has no parameter '" + k.substr(0, 64)
                           + "' (it has: " + (known.empty() ? "none" : known) + ")");
    }
  for (auto& p : t.params) {
    auto v = value_of(p, given);
    if (!v)
      return v.error();
    values.emplace(p.name, std::move(*v));
  }
  if (!t.workflow.empty()) {
    auto body = json::parse(t.workflow);
    fill_references(body, values);
    if (!body.contains("name"))
      body["name"] = t.name;
    return body.dump();
  }
  auto task = json::parse(t.script);
  fill_references(task, values);
  auto file = fs::path(task["script_file"].get<std::string>());
  if (file.is_relative())
    task["script_file"] = (fs::path(t.directory) / file).lexically_normal().string();
  json args = json::array();
  for (auto& p : t.params)
    if (given.contains(p.name) || p.has_default) {
      args.push_back("--" + p.name);
      args.push_back(values.at(p.name));
    }
  task["args"] = std::move(args);
  task["key"] = t.name;
  return json{{"name", t.name}, {"tasks", json::array({std::move(task)})}}.dump();
}

std::string template_summary(const workflow_template& t) {
  json params = json::object();
  for (auto& p : t.params) {
    json pj{{"required", p.required}};
    if (!p.description.empty())
      pj["description"] = p.description;
    if (p.has_default)
      pj["default"] = p.default_value;
    if (!p.pattern.empty())
      pj["pattern"] = p.pattern;
    params[p.name] = std::move(pj);
  }
  return json{{"name", t.name},
              {"description", t.description},
              {"kind", t.workflow.empty() ? "script" : "workflow"},
              {"params", std::move(params)}}
    .dump();
}

result<workflow_template> load_workflow_template(const std::string& directory,
                                                 const std::string& name) {
  if (!is_template_name(name))
    return invalid_input("invalid template name '" + name.substr(0, 64)
                         + "': 1-64 of A-Z a-z 0-9 _ -");
  auto path = fs::path(directory) / (name + ".json");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return result<workflow_template>{errc::not_found, "no workflow template '" + name
                                                        + "' (GET /workflows/templates lists them)"};
  if (fs::file_size(path, ec) > max_template_bytes)
    return broken(name, path.string() + " is larger than 4 MiB");
  std::ifstream in{path, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return result<workflow_template>{errc::io_error, "reading " + path.string() + " failed"};
  auto t = parse_workflow_template(text.str(), name, fs::absolute(directory, ec).string());
  if (!t)
    return status{t.code(), t.message() + " (in " + path.string() + ")"};
  return t;
}

result<std::vector<workflow_template>> load_workflow_templates(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    return invalid_input("the workflow templates directory " + directory
                         + " does not exist or is not a directory");
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(directory, ec))
    if (e.path().extension() == ".json" && is_template_name(e.path().stem().string()))
      names.push_back(e.path().stem().string());
  if (ec)
    return result<std::vector<workflow_template>>{errc::io_error, "reading " + directory + ": "
                                                                    + ec.message()};
  std::sort(names.begin(), names.end());
  std::vector<workflow_template> out;
  for (auto& n : names) {
    auto t = load_workflow_template(directory, n);
    if (!t)
      return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

namespace {

/// `j` names a template: its shape as check_template_reference() says.
status check_reference(const json& j) {
  for (auto& [k, v] : j.items())
    if (k != "template" && k != "params")
      return {errc::invalid, "unknown field '" + k.substr(0, 40)
                               + "' beside 'template' (a template reference has template and "
                                 "params; the graph is the template's)"};
  auto name = j.find("template");
  if (name == j.end() || !name->is_string() || !is_template_name(name->get<std::string>()))
    return {errc::invalid, "'template' must be a template's name (1-64 of A-Z a-z 0-9 _ -)"};
  if (auto p = j.find("params"); p != j.end() && !p->is_null() && !p->is_object())
    return {errc::invalid, "'params' must be an object: {\"NAME\": \"value\"}"};
  return {};
}

bool names_template(const json& j) {
  return j.is_object() && j.contains("template");
}

} // namespace

bool is_template_reference(std::string_view workflow_json) {
  return names_template(json::parse(workflow_json, nullptr, false));
}

status check_template_reference(std::string_view workflow_json) {
  auto j = json::parse(workflow_json, nullptr, false);
  if (!j.is_object())
    return {errc::invalid, "a template reference is an object: {\"template\": NAME, \"params\": {...}}"};
  return check_reference(j);
}

result<std::string> resolve_workflow(const std::string& workflow_json,
                                     const std::string& directory) {
  auto j = json::parse(workflow_json, nullptr, false);
  if (!names_template(j))
    return workflow_json;
  if (auto st = check_reference(j); !st)
    return st;
  auto name = j["template"].get<std::string>();
  if (directory.empty())
    return status{errc::invalid, "template '" + name
                                   + "': this orchestrator has no templates (start it with "
                                     "--workflow-templates DIR)"};
  auto t = load_workflow_template(directory, name);
  if (!t)
    return t.error();
  auto params = j.find("params");
  auto made = instantiate_template(*t, params == j.end() || params->is_null() ? std::string{}
                                                                               : params->dump());
  if (!made)
    return status{errc::invalid, "template '" + name + "': " + made.message()};
  return made;
}

} // namespace orch
