// A row of the route table, and the route groups that add their rows to it
// (one routes_*.cpp each). README "Roles and routes" lists the table; a
// test walks all of it, and another checks the README lists exactly it.
#pragma once

#include <vector>

#include "actors/api/reply.hpp"
#include "runtime/auth/roles.hpp"

namespace orch::api {

using handler = void (*)(const context& ctx, const http_request& req, const route_args& args,
                         reply rp);

/// Every route but these needs a token when authentication is on.
constexpr auth::role_set public_route = 0;

// Who may call a route.
constexpr auth::role_set admins = auth::bit(auth::role::admin);
constexpr auth::role_set operators = admins | auth::bit(auth::role::operator_);
constexpr auth::role_set readers = operators | auth::bit(auth::role::viewer);
constexpr auth::role_set anyone = auth::any_role;

struct route {
  const char* method;
  path_pattern pattern;                      // path segments; "{id}" is a task id
  handler handle;
  auth::role_set allowed = public_route;     // roles that may call it
  const char* action = nullptr;              // audited when refused; nullptr: a read
  bool fault_injection = false;              // served only with --fault-injection
  /// A stream a browser opens (EventSource, WebSocket: no Authorization
  /// header): `?ticket=` from POST /auth/stream-ticket stands in for the
  /// bearer token, once.
  bool stream_ticket = false;
  /// A running task's token (ORCHESTRATOR_TOKEN) may call it, for the
  /// task's own children only (actors/api/task_scope.hpp checks which).
  bool task_tokens = false;
};

// The groups, in the order the table lists them.
std::vector<route> session_routes();         // routes_sessions.cpp: /auth/login, logout, me
std::vector<route> token_routes();           // routes_tokens.cpp: named API tokens
std::vector<route> task_routes();            // routes_tasks.cpp: /tasks...
std::vector<route> user_routes();            // routes_users.cpp: /users... (admin)
std::vector<route> schedule_routes();        // routes_schedules.cpp: /schedules...
std::vector<route> workflow_routes();        // routes_workflows.cpp: /workflows...
std::vector<route> system_routes();          // routes_system.cpp: health, metrics, audit, backup
std::vector<route> node_routes();            // routes_nodes.cpp: /nodes
std::vector<route> event_routes();           // routes_events.cpp: /events (a stream)
std::vector<route> output_routes();          // routes_output.cpp: /tasks/{id}/output
std::vector<route> openapi_routes();         // routes_openapi.cpp: /openapi.json
std::vector<route> dashboard_routes();       // routes_dashboard.cpp: / and /ui/{file}

/// Every group's rows: the table the gateway routes by (gateway.cpp).
const std::vector<route>& route_table();

/// The target named in a refused request's audit record.
std::string audit_target(const route& r, const route_args& args);

} // namespace orch::api
