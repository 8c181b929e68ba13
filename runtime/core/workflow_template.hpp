// Workflow templates: a name mapped, by a JSON file in the templates
// directory (--workflow-templates, e.g. config/workflows/), to a
// parameterised workflow graph or a parameterised Nushell script, started by
// POST /workflows/templates/{template}/run {"params": {...}}.
//
//   {"description": "...",
//    "params": {"host": {"required": true, "pattern": "[a-z0-9.-]+"},
//               "size": {"default": "small", "description": "..."}},
//    "workflow": {"name": "provision {{params.host}}", "tasks": [...]}}
//
// or, instead of "workflow", "script": {"script_file": "provision.nu", ...task
// fields}: one task running that script (its path relative to the template's
// directory) with each parameter as `--NAME VALUE`, for a `def main [--NAME:
// string]`. `{{params.NAME}}` is replaced in every string value of the graph
// (never in keys), once the values passed the declared checks: a value
// becomes one string inside the JSON, so it cannot add tasks or fields, and
// a `pattern` (matched whole) keeps it to what the template expects.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.hpp"

namespace orch {

struct template_param {
  std::string name;
  std::string description;
  bool required = false;
  bool has_default = false;
  std::string default_value;
  std::string pattern;                       // ECMAScript regex matched whole; "" any
};

struct workflow_template {
  std::string name;
  std::string description;
  std::vector<template_param> params;        // in name order
  std::string workflow;                      // the graph as JSON text; or
  std::string script;                        // the script task as JSON text
  std::string directory;                     // where the file is (a script's path is relative)
};

/// Template names: 1-64 of A-Z a-z 0-9 _ - (the file is NAME.json).
bool is_template_name(std::string_view name);

/// A template from its file's text; the error says what is wrong with it.
result<workflow_template> parse_workflow_template(std::string_view text, const std::string& name,
                                                  const std::string& directory);

/// The POST /workflows body the template makes with `params_json` (the
/// request's "params" object as JSON text; "" for none), or a 400's text.
result<std::string> instantiate_template(const workflow_template& t,
                                         std::string_view params_json);

/// A schedule's workflow may name a template instead of holding a graph:
/// {"template": NAME, "params": {...}}, made anew from the template at each
/// firing (so an edit of the template applies from the next one).
bool is_template_reference(std::string_view workflow_json);

/// The reference's shape checked: a template name, params an object of
/// strings, nothing else; the error says what is wrong.
status check_template_reference(std::string_view workflow_json);

/// The POST /workflows body a workflow stands for: a graph as it is; a
/// template reference made from its template in `directory` (--workflow-
/// templates; errc::not_found when there is no such template, invalid when
/// the params do not fit it or no directory is given).
result<std::string> resolve_workflow(const std::string& workflow_json,
                                     const std::string& directory);

/// The template as GET /workflows/templates lists it: name, description,
/// kind (workflow or script), params.
std::string template_summary(const workflow_template& t);

/// Reads DIRECTORY/NAME.json: not_found if there is none.
result<workflow_template> load_workflow_template(const std::string& directory,
                                                 const std::string& name);

/// Every template of the directory, in name order; the first broken one
/// fails the whole (start-up refuses a directory with a broken template).
result<std::vector<workflow_template>> load_workflow_templates(const std::string& directory);

} // namespace orch
