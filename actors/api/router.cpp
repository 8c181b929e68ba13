#include "actors/api/router.hpp"

#include "actors/api/envelope.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/workflow_template.hpp"

namespace orch::api {

namespace {

/// "" if the id is acceptable, else the message for a 400.
std::string check_task_id(const std::string& id) {
  if (is_uuid(id))
    return {};
  auto shown = id.size() > 80 ? id.substr(0, 80) + "..." : id;
  return "invalid task id '" + shown
         + "': task ids are lower-case UUIDs such as 3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
}

bool is_lower_word(const std::string& s) {
  return !s.empty() && s.size() <= 64
         && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos;
}

} // namespace

std::string path_text(const path_pattern& pattern) {
  std::string out;
  for (auto& p : pattern)
    out += "/" + std::string{p};
  return out.empty() ? "/" : out;
}

std::vector<std::string> split_path(std::string_view path) {
  return split_nonempty(path, '/');
}

namespace {

bool is_plain_file_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '.')
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
      return false;
  return true;
}

} // namespace

fit match(const path_pattern& pattern, const std::vector<std::string>& parts, path_args& args,
          std::string& problem) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (i >= parts.size())
      return fit::no;
    auto& part = parts[i];
    if (pattern[i] == "{user}" || pattern[i] == "{token}") {
      if (!is_valid_username(part))
        return fit::no;
      (pattern[i] == "{user}" ? args.user : args.token) = part;
    } else if (pattern[i] == "{schedule}") {
      if (!is_valid_username(part)) {
        problem = "invalid schedule name '" + part.substr(0, 80)
                  + "': 1-64 of A-Z a-z 0-9 . _ - (not starting with '.')";
        return fit::bad_id;
      }
      args.schedule = part;
    } else if (pattern[i] == "{template}") {
      if (!is_template_name(part)) {
        problem = "invalid template name '" + part.substr(0, 80) + "': 1-64 of A-Z a-z 0-9 _ -";
        return fit::bad_id;
      }
      args.template_name = part;
    } else if (pattern[i] == "{file}") {
      if (!is_plain_file_name(part))
        return fit::no;
      args.file = part;
    } else if (pattern[i] == "{name}") {
      if (!is_lower_word(part))
        return fit::no;
      args.name = part;
    } else if (pattern[i] == "{id}") {
      if (auto err = check_task_id(part); !err.empty()) {
        problem = err;
        return fit::bad_id;
      }
      args.id = part;
    } else if (pattern[i] != part) {
      return fit::no;
    }
  }
  return parts.size() == pattern.size() ? fit::yes : fit::no;
}

http_response bad_path(int status, const std::string& message) {
  return json_error(status, message);
}

http_response method_not_allowed(const http_request& req, const std::string& allow) {
  auto r = json_error(405, "method " + req.method.substr(0, 20) + " is not allowed on "
                             + req.path.substr(0, 200) + " (allowed: " + allow + ")");
  r.headers["Allow"] = allow;
  return r;
}

} // namespace orch::api
