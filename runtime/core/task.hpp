// The record kinds every backend stores (design brief, section 3). Plain
// structs: they travel in CAF messages (see runtime/messages/types.hpp for their
// inspect functions) and are stored as JSON (runtime/core/codec.hpp).
// Times are microseconds since the epoch; 0 means "not set".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/clock.hpp"

namespace orch {

enum class task_status : uint8_t { pending, queued, running, completed, failed, cancelled };

/// "Pending", "Queued", ... (the REST API's spelling).
const char* to_string(task_status s);

/// Case-insensitive; false if `text` names no status.
bool parse_status(std::string_view text, task_status& out);

/// Completed, Failed and Cancelled: nothing happens to the task any more.
bool is_terminal(task_status s);

/// Failed or Cancelled: what fails its dependants, cancels its children and
/// a workflow retry runs again.
inline bool ended_badly(task_status s) {
  return s == task_status::failed || s == task_status::cancelled;
}

struct task {
  std::string id;
  std::string name;
  std::string command;                       // program to run (argv[0]); or empty for a script
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string workdir;
  std::string script;                        // inline Nushell source
  std::string script_file;                   // path of a .nu file
  int32_t priority = 0;
  std::vector<std::string> dependencies;
  /// What a failed or cancelled dependency does to this task: "fail" (it
  /// fails too, without running; "" in records made before the field) or
  /// "run" (it runs once every dependency ended, however it ended).
  std::string on_dependency_failure;
  task_status status = task_status::pending;
  micros created_at = 0;
  micros started_at = 0;
  micros completed_at = 0;
  micros not_before = 0;                     // earliest start (run_at, retry backoff)
  micros run_at = 0;                         // asked: no first start before it (0: at once)
  uint32_t attempts = 0;                     // attempts started so far
  uint32_t max_retries = 0;                  // retries after the first attempt
  uint32_t timeout_s = 0;                    // 0: no timeout
  bool has_exit_code = false;
  int32_t exit_code = 0;
  std::string output;                        // stdout (bounded)
  std::string error_output;                  // stderr (bounded), "stderr" in JSON
  std::string error;                         // why the last attempt failed
  std::map<std::string, std::string> labels;
  std::string owner;
  /// The task that submitted this one (a running script fanning out), or "":
  /// listed under it (label parent=<id>), cancelled when it fails or is.
  std::string parent;
  uint64_t revision = 0;                     // bumped by every write (optimistic concurrency)
  /// Labels a node must have for the task to run there (runtime/core/node_labels.hpp).
  std::map<std::string, std::string> node_labels;
  std::string node;                          // the node that runs or ran the latest attempt
};

/// Its on_dependency_failure is "run": a failed dependency does not fail it.
inline bool runs_after_failure(const task& t) { return t.on_dependency_failure == "run"; }

struct queue_entry {
  std::string task_id;
  int32_t priority = 0;
  micros enqueued_at = 0;
  micros not_before = 0;
  uint32_t attempt = 0;                      // attempts started when it was enqueued
  std::string claimed_by;                    // empty: claimable
  micros lease_until = 0;
  /// The task's node_labels: a claim offering other labels passes it by.
  std::map<std::string, std::string> node_labels;
};

struct task_event {
  std::string id;                            // UUIDv7
  micros time = 0;
  std::string task_id;
  std::string kind;                          // created, queued, started, completed, ...
  std::string status;                        // task status after the event
  uint32_t attempt = 0;
  std::string details;
  std::string node;                          // `started`: the node the attempt runs on
};

struct audit_record {
  std::string id;                            // UUIDv7
  micros time = 0;
  std::string principal;
  std::string action;                        // task.submit, task.cancel, ...
  std::string target;
  std::string outcome;                       // ok, denied, failed
  std::string details;
};

struct metric_sample {
  std::string id;                            // UUIDv7
  micros time = 0;
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// A user of the API. `password_hash` is an Argon2id PHC string (its
/// parameters beside the hash); `sessions` holds the user's signed-in
/// sessions and named API tokens, id -> "<expires_us> <sha256 of the secret>
/// [<name>]" (runtime/auth/sessions.hpp), so no token is stored in clear and
/// every instance that shares the storage sees a revocation. `revision` is
/// bumped by every change: concurrent changes on two instances conflict
/// instead of one silently undoing the other.
struct user {
  std::string username;
  std::string password_hash;
  std::vector<std::string> roles;
  micros created_at = 0;
  bool disabled = false;
  std::map<std::string, std::string> sessions;
  uint64_t revision = 0;
  micros updated_at = 0;
};

/// A recurring schedule (POST /schedules): at each firing of `cron` in
/// `timezone` it creates one task from `task`, with an id derived from the
/// schedule and the firing time, so that several orchestrators sharing the
/// storage create it once (runtime/core/schedule_plan.hpp says when and what).
struct schedule {
  std::string name;                          // the key: 1-64 of A-Z a-z 0-9 . _ -
  std::string cron;                          // runtime/core/cron.hpp
  std::string timezone;                      // an IANA name
  std::string task;                          // the task each firing creates: a JSON object; or
  std::string workflow;                      // the workflow it creates (as POST /workflows)
  std::string overlap;                       // skip | queue | allow: while the last one runs
  std::string catch_up;                      // once | skip: firings missed while none ran
  bool paused = false;
  micros next_firing = 0;                    // the earliest firing not made yet
  micros last_firing = 0;                    // the time of the latest firing made
  std::string last_task;                     // the task it created (a task schedule)
  std::string last_workflow;                 // the workflow it created (a workflow schedule)
  uint64_t firings = 0;                      // tasks or workflows created so far
  uint64_t skipped = 0;                      // firings passed over (overlap, catch_up)
  std::string owner;
  micros created_at = 0;
  micros updated_at = 0;
  uint64_t revision = 0;
};

/// A workflow (POST /workflows): a graph of tasks stored together. Its tasks
/// are ordinary tasks whose dependencies are the ids of the nodes they come
/// after, labelled workflow=<id>; the workflow keeps which task is which
/// node. Its status is rolled up from its tasks' when it is read.
struct workflow {
  std::string id;                            // UUID
  std::string name;
  /// [{"key", "task_id", "after": [keys]}], dependencies before dependants.
  std::string nodes;
  std::string on_failure;                    // cancel-dependants or continue
  std::string owner;
  micros created_at = 0;
  uint64_t revision = 0;
};

} // namespace orch
