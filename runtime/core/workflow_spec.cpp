#include "runtime/core/workflow_spec.hpp"

#include <algorithm>
#include <deque>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/output_refs.hpp"
#include "runtime/core/submission.hpp"

namespace orch {

namespace {

using nlohmann::json;

status bad(std::string message) {
  return {errc::invalid, std::move(message)};
}

bool valid_key(const std::string& k) {
  return !k.empty() && k.size() <= 64
         && std::all_of(k.begin(), k.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '_' || c == '-' || c == '.';
            });
}

struct node {
  std::string key;
  std::vector<std::string> after;
  json task;
};

std::string where(size_t i, const std::string& key) {
  return "tasks[" + std::to_string(i) + "]" + (key.empty() ? "" : " (" + key + ")");
}

/// A node from its JSON: key, after, and the rest as its task.
result<node> read_node(const json& j, size_t i) {
  if (!j.is_object())
    return bad(where(i, "") + " must be an object: a task with its \"key\"");
  node n;
  auto key = j.find("key");
  if (key == j.end() || !key->is_string())
    return bad(where(i, "") + ": \"key\" is missing: the node's name, that others' \"after\" use");
  n.key = key->get<std::string>();
  if (!valid_key(n.key))
    return bad(where(i, "") + ": key '" + n.key.substr(0, 40)
               + "' must be 1-64 of A-Z a-z 0-9 . _ -");
  if (auto after = j.find("after"); after != j.end() && !after->is_null()) {
    if (!after->is_array())
      return bad(where(i, n.key) + ": \"after\" must be a list of keys");
    for (auto& a : *after) {
      if (!a.is_string())
        return bad(where(i, n.key) + ": \"after\" must be a list of keys");
      n.after.push_back(a.get<std::string>());
    }
  }
  if (j.contains("id"))
    return bad(where(i, n.key) + ": leave out 'id': each node's task gets its own");
  if (j.contains("dependencies"))
    return bad(where(i, n.key) + ": use \"after\" with the keys of other nodes, not "
               "'dependencies'");
  n.task = j;
  n.task.erase("key");
  n.task.erase("after");
  return n;
}

/// Some cycle among `left` (nodes no order could place), as "a -> b -> a":
/// a before b, b before a.
std::string a_cycle(const std::vector<node>& nodes, const std::map<std::string, size_t>& index,
                    const std::set<size_t>& left) {
  // Walk `after` edges from any node left: every node left has one into
  // the rest, so the walk comes back to a node it passed.
  std::vector<size_t> path;
  std::map<size_t, size_t> seen;
  size_t at = *left.begin();
  while (!seen.count(at)) {
    seen[at] = path.size();
    path.push_back(at);
    for (auto& a : nodes[at].after)
      if (auto next = index.at(a); left.count(next)) {
        at = next;
        break;
      }
  }
  // The walk went against the flow (from a node to one it comes after):
  // said the other way, each key runs before the next.
  std::string out = nodes[at].key;
  for (size_t p = path.size(); p-- > seen[at];)
    out += " -> " + nodes[path[p]].key;
  return out;
}

} // namespace

result<workflow_plan> parse_workflow(std::string_view body, micros now, const std::string& id) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return bad("the body is not valid JSON");
  if (!j.is_object())
    return bad("send {\"name\": \"...\", \"tasks\": [{\"key\": \"fetch\", \"command\": ...}, "
               "{\"key\": \"build\", \"after\": [\"fetch\"], ...}]}");
  for (auto& [k, v] : j.items())
    if (k != "name" && k != "tasks" && k != "on_failure")
      return bad("unknown field '" + k.substr(0, 40) + "' (a workflow has name, tasks, on_failure)");
  workflow_plan plan;
  auto& wf = plan.wf;
  if (auto name = j.find("name"); name != j.end() && !name->is_null()) {
    if (!name->is_string())
      return bad("field 'name' must be a string");
    wf.name = name->get<std::string>();
  }
  wf.on_failure = "cancel-dependants";
  if (auto f = j.find("on_failure"); f != j.end() && !f->is_null()) {
    if (!f->is_string() || (*f != "cancel-dependants" && *f != "continue"))
      return bad("field 'on_failure' must be cancel-dependants (a node whose dependency failed "
                 "or was cancelled fails without running) or continue (it runs once its "
                 "dependencies ended, however)");
    wf.on_failure = f->get<std::string>();
  }
  auto tasks = j.find("tasks");
  if (tasks == j.end() || !tasks->is_array() || tasks->empty())
    return bad("field 'tasks' must be a non-empty list of tasks, each with a \"key\"");
  if (tasks->size() > max_workflow_nodes)
    return bad("a workflow has at most " + std::to_string(max_workflow_nodes) + " tasks, got "
               + std::to_string(tasks->size()));
  std::vector<node> nodes;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < tasks->size(); ++i) {
    auto n = read_node((*tasks)[i], i);
    if (!n)
      return n.error();
    if (auto [it, fresh] = index.emplace(n->key, i); !fresh)
      return bad(where(i, n->key) + ": key '" + n->key + "' is used by " + where(it->second, "")
                 + " too");
    nodes.push_back(std::move(*n));
  }
  for (size_t i = 0; i < nodes.size(); ++i)
    for (auto& a : nodes[i].after) {
      if (!index.count(a))
        return bad(where(i, nodes[i].key) + ": after names '" + a.substr(0, 40)
                   + "', which is no key of this workflow");
      if (a == nodes[i].key)
        return bad(where(i, nodes[i].key) + " comes after itself: a cycle");
    }
  // Kahn's order: dependencies before dependants; in the given order where
  // the graph leaves a choice. What it cannot place is on a cycle.
  std::vector<size_t> waiting_on(nodes.size());
  std::vector<std::vector<size_t>> dependants(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<std::string> distinct(nodes[i].after.begin(), nodes[i].after.end());
    waiting_on[i] = distinct.size();
    for (auto& a : distinct)
      dependants[index[a]].push_back(i);
  }
  std::deque<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (waiting_on[i] == 0)
      ready.push_back(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    auto i = ready.front();
    ready.pop_front();
    order.push_back(i);
    for (auto d : dependants[i])
      if (--waiting_on[d] == 0)
        ready.push_back(d);
  }
  if (order.size() != nodes.size()) {
    std::set<size_t> left;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (waiting_on[i] > 0)
        left.insert(i);
    return bad("the tasks form a cycle: " + a_cycle(nodes, index, left)
               + " (each must come after the ones before it, never after itself)");
  }
  wf.id = id.empty() ? new_uuid_v4() : id;
  wf.created_at = now;
  std::map<std::string, std::string> id_of;
  json shown = json::array();
  for (auto i : order) {
    auto& n = nodes[i];
    auto t = parse_submission(canonical(n.task));
    if (!t)
      return bad(where(i, n.key) + ": " + t.message());
    if (auto why = misplaced_reference_problem(*t); !why.empty())
      return bad(where(i, n.key) + ": " + why);
    for (auto& ref : output_references(*t))
      if (std::find(n.after.begin(), n.after.end(), ref) == n.after.end())
        return bad(where(i, n.key) + ": {{tasks." + ref.substr(0, 64) + ".output}} names '"
                   + ref.substr(0, 64) + "', which this node does not come after (add it to "
                   "\"after\")");
    t->id = new_uuid_v4();
    id_of[n.key] = t->id;
    // The workflow's on_failure is each node's default; a node may say otherwise.
    if (wf.on_failure == "continue" && !n.task.contains("on_dependency_failure"))
      t->on_dependency_failure = "run";
    for (auto& a : n.after)
      if (std::find(t->dependencies.begin(), t->dependencies.end(), id_of[a])
          == t->dependencies.end())
        t->dependencies.push_back(id_of[a]);
    t->labels["workflow"] = wf.id;
    t->labels["workflow_key"] = n.key;
    if (t->name.empty())
      t->name = (wf.name.empty() ? std::string{"workflow"} : wf.name) + "/" + n.key;
    shown.push_back({{"key", n.key}, {"task_id", t->id}, {"after", n.after}});
    plan.tasks.push_back(std::move(*t));
  }
  wf.nodes = canonical(shown);
  return plan;
}

write_batch workflow_record_batch(const workflow& wf) {
  write_batch b;
  b.expect.push_back({precondition::absent, record_kind::workflow, wf.id, {}, {}});
  put(b, to_record(wf));
  return b;
}

std::string rolled_up_status(const std::vector<task_status>& statuses) {
  size_t completed = 0, failed = 0, cancelled = 0, started = 0, running = 0;
  for (auto s : statuses) {
    completed += s == task_status::completed;
    failed += s == task_status::failed;
    cancelled += s == task_status::cancelled;
    running += s == task_status::running;
    started += s != task_status::pending && s != task_status::queued;
  }
  if (completed == statuses.size())
    return "Completed";
  if (completed + failed + cancelled == statuses.size())
    return failed > 0 ? "Failed" : "Cancelled";
  if (running > 0 || started > 0)
    return "Running";
  return "Queued";
}

std::vector<std::string> workflow_task_ids(const workflow& w) {
  std::vector<std::string> out;
  auto nodes = json::parse(w.nodes.empty() ? "[]" : w.nodes, nullptr, false);
  if (nodes.is_array())
    for (auto& n : nodes)
      if (n.is_object() && n.contains("task_id") && n["task_id"].is_string())
        out.push_back(n["task_id"].get<std::string>());
  return out;
}

std::string workflow_view(const workflow& w, const std::map<std::string, task>& tasks) {
  auto j = json::parse(encode(w));
  j.erase("nodes");
  auto nodes = json::parse(w.nodes.empty() ? "[]" : w.nodes, nullptr, false);
  json shown = json::array();
  json counts = json::object();
  std::vector<task_status> statuses;
  if (nodes.is_array())
    for (auto& n : nodes) {
      auto id = n.value("task_id", std::string{});
      auto t = tasks.find(id);
      std::string status = t == tasks.end() ? "missing" : to_string(t->second.status);
      if (t != tasks.end())
        statuses.push_back(t->second.status);
      counts[status] = counts.value(status, 0) + 1;
      shown.push_back({{"key", n.value("key", std::string{})},
                       {"id", id},
                       {"status", status},
                       {"after", n.value("after", json::array())}});
    }
  j["status"] = statuses.size() == shown.size() ? rolled_up_status(statuses) : "Damaged";
  j["counts"] = counts;
  j["tasks"] = shown;
  return canonical(j);
}

} // namespace orch
