// A workflow as POST /workflows takes it, checked as a whole before anything
// is stored, and as GET /workflows/{id} shows it: its status rolled up from
// its tasks'.
//
//   {"name": "release", "on_failure": "cancel-dependants",
//    "tasks": [{"key": "fetch", "command": "git", "args": ["pull"]},
//              {"key": "build", "after": ["fetch"], "command": "make"}]}
//
// Each node is a task as POST /tasks takes it, plus its `key` and the keys it
// comes `after`; its task's dependencies are those nodes' task ids, so the
// scheduler runs the graph as it runs any dependencies (a task completing
// wakes only its dependants).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// Nodes a workflow may have at most.
inline constexpr size_t max_workflow_nodes = 10'000;

struct workflow_plan {
  workflow wf;                               // id, name, nodes, on_failure, created_at
  std::vector<task> tasks;                   // dependencies before dependants, ids given
};

/// The workflow and its tasks, or errc::invalid naming the node and what is
/// wrong: a missing, malformed or doubled key, an `after` naming no node, a
/// cycle (its keys in order), a task POST /tasks would refuse. `id`: the
/// workflow's id (a schedule's firing derives it); "" for a new one.
result<workflow_plan> parse_workflow(std::string_view body, micros now, const std::string& id = {});

/// The workflow's record, put only if no workflow has its id yet: what a
/// workflow's tasks are committed with (POST /workflows, a schedule's firing).
write_batch workflow_record_batch(const workflow& wf);

/// The whole from its parts: Completed when every task is; Failed or
/// Cancelled once none is still to run and one ended so; Queued while none
/// has started; else Running.
std::string rolled_up_status(const std::vector<task_status>& statuses);

/// The workflow's record with "status", "counts" (tasks by status) and
/// "tasks": [{key, id, status, after}], from its tasks as read (by id; a
/// task not found counts as missing).
std::string workflow_view(const workflow& w, const std::map<std::string, task>& tasks);

/// The task ids of a workflow's nodes, in its order.
std::vector<std::string> workflow_task_ids(const workflow& w);

} // namespace orch
