#include "runtime/core/batch_submission.hpp"

#include <algorithm>
#include <map>

#include "runtime/core/json_tokens.hpp"
#include "runtime/core/submission.hpp"

namespace orch {

namespace {

constexpr const char* shape = "send {\"tasks\": [{\"command\": \"echo\", \"args\": [\"hello\"]}, ...]}";

const char* kind_of(json_tokens::tok t) {
  switch (t) {
    case json_tokens::tok::begin_array: return "an array";
    case json_tokens::tok::string: return "a string";
    case json_tokens::tok::integer:
    case json_tokens::tok::floating: return "a number";
    case json_tokens::tok::boolean: return "a boolean";
    case json_tokens::tok::null: return "null";
    default: return "something else";
  }
}

/// Skips the rest of a container just opened at `depth`; false on bad JSON.
bool skip_container(json_tokens& in, size_t depth) {
  for (;;) {
    auto t = in.next();
    if (t == json_tokens::tok::error || t == json_tokens::tok::end)
      return false;
    if ((t == json_tokens::tok::end_object || t == json_tokens::tok::end_array)
        && in.depth() < depth)
      return true;
  }
}

/// The items of the "tasks" array as slices of the body; items that are not
/// objects are reported at their index.
status split_items(json_tokens& in, std::string_view body, std::vector<std::string_view>& items,
                   std::vector<batch_item_error>& errors) {
  auto t = in.next();
  if (t == json_tokens::tok::error)
    return invalid_input("the request body is " + in.error());
  if (t != json_tokens::tok::begin_array)
    return invalid_input(std::string{"field 'tasks' must be an array of tasks, got "} + kind_of(t)
                   + "; " + shape);
  size_t depth = in.depth();
  for (size_t index = 0;; ++index) {
    t = in.next();
    if (t == json_tokens::tok::error)
      return invalid_input("the request body is " + in.error());
    if (t == json_tokens::tok::end_array)
      return {};
    if (index >= max_batch_tasks)
      return invalid_input("a batch holds at most " + std::to_string(max_batch_tasks)
                     + " tasks; split it into several requests");
    if (t == json_tokens::tok::begin_object) {
      size_t start = in.offset() - 1;
      if (!skip_container(in, depth + 1))
        return invalid_input("the request body is " + in.error());
      items.push_back(body.substr(start, in.offset() - start));
      continue;
    }
    errors.push_back({index, std::string{"must be a JSON object (a task), got "} + kind_of(t)});
    items.emplace_back();  // keeps the indexes of later items
    if (t == json_tokens::tok::begin_array && !skip_container(in, depth + 1))
      return invalid_input("the request body is " + in.error());
  }
}

/// Unique ids, and dependencies inside the batch pointing backwards.
void check_references(const std::vector<task>& tasks, const std::vector<size_t>& index_of,
                      std::vector<batch_item_error>& errors) {
  std::map<std::string, size_t> position;  // id -> position in tasks
  for (size_t i = 0; i < tasks.size(); ++i)
    if (!tasks[i].id.empty() && !position.emplace(tasks[i].id, i).second)
      errors.push_back({index_of[i], "id " + tasks[i].id + " is also the id of tasks["
                                       + std::to_string(index_of[position[tasks[i].id]])
                                       + "]; ids in a batch must be unique"});
  for (size_t i = 0; i < tasks.size(); ++i)
    for (auto& d : tasks[i].dependencies)
      if (auto p = position.find(d); p != position.end() && p->second > i) {
        errors.push_back({index_of[i], "depends on tasks[" + std::to_string(index_of[p->second])
                                         + "], which comes later in the batch; list every task "
                                           "after the tasks it depends on"});
        break;
      }
}

} // namespace

batch_submission parse_batch_submission(std::string_view body) {
  batch_submission out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out.problem = invalid_input(std::string{"the request body is empty: "} + shape);
    return out;
  }
  json_tokens in{body};
  auto t = in.next();
  if (t == json_tokens::tok::error) {
    out.problem = invalid_input("the request body is " + in.error());
    return out;
  }
  if (t != json_tokens::tok::begin_object) {
    out.problem = invalid_input(std::string{"the request body must be a JSON object: "} + shape);
    return out;
  }
  std::vector<std::string_view> items;
  bool seen_tasks = false;
  for (;;) {
    t = in.next();
    if (t == json_tokens::tok::error) {
      out.problem = invalid_input("the request body is " + in.error());
      return out;
    }
    if (t == json_tokens::tok::end_object)
      break;
    auto key = in.text();
    if (key != "tasks" || seen_tasks) {
      out.problem = invalid_input(key == "tasks" ? std::string{"field 'tasks' is given twice"}
                                           : "unknown field '" + key + "' (accepted: tasks)");
      return out;
    }
    seen_tasks = true;
    if (out.problem = split_items(in, body, items, out.errors); !out.problem)
      return out;
  }
  if (in.next() != json_tokens::tok::end) {
    out.problem = invalid_input("the request body is " + in.error());
    return out;
  }
  if (!seen_tasks || items.empty()) {
    out.problem = invalid_input(std::string{seen_tasks ? "the batch is empty: " : "missing 'tasks': "}
                          + shape);
    return out;
  }
  std::vector<size_t> index_of;  // tasks[i] came from items[index_of[i]]
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty())
      continue;  // not an object: already reported
    auto parsed = parse_submission(items[i]);
    if (!parsed) {
      out.errors.push_back({i, parsed.message()});
      continue;
    }
    out.tasks.push_back(std::move(*parsed));
    index_of.push_back(i);
  }
  check_references(out.tasks, index_of, out.errors);
  std::stable_sort(out.errors.begin(), out.errors.end(),
                   [](const auto& a, const auto& b) { return a.index < b.index; });
  return out;
}

} // namespace orch
