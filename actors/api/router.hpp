// The REST API's router: which route of the table a request is for, with
// the path's parameters validated, or why none is (400 a malformed task id,
// 404 no such path, 405 the path exists for other methods, with the Allow
// header listing them). Pure: no actor, no socket; tests/unit/router_test.cpp
// runs it on tables of its own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/http_types.hpp"

namespace orch::api {

/// The path's parameters, already validated: {id} a task id (a lower-case
/// UUID), {name} a lower-case word, {user} a username, {token} a token name,
/// {file} a file name of lower-case letters, digits, '.', '-' and '_' that
/// does not start with a dot, {schedule} a schedule's name (as a username),
/// {template} a workflow template's name (1-64 of A-Z a-z 0-9 _ -).
struct path_args {
  std::string id;
  std::string schedule;
  std::string template_name;
  std::string name;
  std::string user;
  std::string token;
  std::string file;
};

/// "/tasks/{id}/cancel" as segments.
using path_pattern = std::vector<std::string_view>;

/// "/" + the segments joined, as the README writes a route.
std::string path_text(const path_pattern& pattern);

/// The path's segments, empty ones dropped ("/tasks//x/" is tasks, x).
std::vector<std::string> split_path(std::string_view path);

enum class fit { no, yes, bad_id };

/// Does the path fit the pattern? A segment where the pattern has {id} must
/// be a task id: one that is not makes the request a 400 whatever follows
/// (no path trick reaches storage); `problem` then says why.
fit match(const path_pattern& pattern, const std::vector<std::string>& parts, path_args& args,
          std::string& problem);

struct routing {
  const void* route = nullptr;               // the table's row; nullptr: see `refusal`
  path_args args;
  http_response refusal;                     // 400, 404 or 405 (with Allow) when no route fits
};

/// The row of `table` for the request, or the refusal. A row takes part when
/// `enabled(row)`; rows have `method` and `pattern`. `known` lists the
/// routes for the 404's message.
template <class Row, class Enabled>
routing find_route(const std::vector<Row>& table, const http_request& req, Enabled enabled,
                   const std::string& known);

/// The refusals, as the API's JSON envelope.
http_response bad_path(int status, const std::string& message);
http_response method_not_allowed(const http_request& req, const std::string& allow);

template <class Row, class Enabled>
routing find_route(const std::vector<Row>& table, const http_request& req, Enabled enabled,
                   const std::string& known) {
  auto parts = split_path(req.path);
  std::string allow, id_problem;
  for (auto& row : table) {
    if (!enabled(row))
      continue;
    path_args args;
    std::string problem;
    auto f = match(row.pattern, parts, args, problem);
    if (f == fit::bad_id && id_problem.empty())
      id_problem = problem;
    if (f != fit::yes)
      continue;
    if (req.method == row.method)
      return {&row, std::move(args), {}};
    if (allow.find(row.method) == std::string::npos)
      allow += (allow.empty() ? "" : ", ") + std::string{row.method};
  }
  routing out;
  if (!allow.empty())
    out.refusal = method_not_allowed(req, allow);
  else if (!id_problem.empty())
    out.refusal = bad_path(400, id_problem);
  else
    out.refusal = bad_path(404, "no such endpoint: " + req.method + " " + req.path.substr(0, 200)
                                  + " (see " + known + ")");
  return out;
}

} // namespace orch::api
