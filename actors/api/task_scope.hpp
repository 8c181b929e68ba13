// What a running task's own token (ORCHESTRATOR_TOKEN, principal::task_id)
// reaches: the task itself and its children, the tasks whose `parent` it
// is. The routes marked `task_tokens` check it here; every other route
// refuses such a token before its handler runs (authentication.cpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "actors/api/context.hpp"
#include "actors/api/reply.hpp"
#include "runtime/core/task.hpp"

namespace orch::api {

/// The task whose token made the request; "" for a user (or no authentication).
inline const std::string& calling_task(const route_args& args) {
  return args.who.task_id;
}

/// 403: a task's token reaches only the task's own children.
http_response not_own_child(const std::string& caller, const std::string& id);

/// Does the caller reach `t`: no task is calling, or `t` is the calling
/// task or one of its children?
bool reaches(const route_args& args, const task& t);

/// Runs `then` when no task is calling or every one of `ids` is reached
/// (read from storage to know); answers 403, 404 or 503 otherwise.
void when_reached(const context& ctx, const route_args& args, std::vector<std::string> ids,
                  reply rp, std::function<void()> then);

} // namespace orch::api
