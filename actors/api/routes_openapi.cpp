// GET /openapi.json: an OpenAPI 3.1 description of the API, made from the
// route table itself (every path, method and the roles each needs), the
// record schemas generated from the one field list per kind
// (runtime/core/schema_json.hpp), and a line of documentation per route
// below. A route without its line is described as undocumented, which the
// e2e test refuses; a line without its route is never used.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/api/envelope.hpp"
#include "actors/api/route.hpp"
#include "actors/api/router.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/schema_json.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

struct query_doc {
  const char* name;
  const char* type;                          // string, integer, boolean
  const char* description;
};

struct route_doc {
  const char* summary;
  std::vector<query_doc> query = {};
  const char* body = nullptr;                // a schema in components, or nullptr
  const char* data = nullptr;                // the response's data: a schema, or nullptr (an object)
  int status = 200;
  const char* stream = nullptr;              // a stream's media type instead of JSON
};

json ref(const std::string& name) {
  return {{"$ref", "#/components/schemas/" + name}};
}

const std::vector<query_doc> paging{
  {"limit", "integer", "page size, 1 to 1000 (default 100)"},
  {"offset", "integer", "records to skip"},
  {"order", "string", "asc (oldest first, the default) or desc"},
  {"since", "string", "RFC 3339 time: records at or after it"},
  {"until", "string", "RFC 3339 time: records before it"},
};

std::vector<query_doc> with_paging(std::vector<query_doc> more) {
  more.insert(more.begin(), paging.begin(), paging.end());
  return more;
}

/// One line per route, by "METHOD /path" as the README writes it.
const std::map<std::string, route_doc>& docs() {
  static const std::map<std::string, route_doc> table{
    {"GET /health", {"Status, version, storage backend and location, running tasks and slots"}},
    {"GET /", {"The dashboard (HTML; it signs in through this API)", {}, nullptr, nullptr, 200,
               "text/html"}},
    {"GET /ui/{file}", {"The dashboard's script and style", {}, nullptr, nullptr, 200,
                        "text/plain"}},
    {"GET /openapi.json", {"This description of the API", {}, nullptr, "Object"}},
    {"GET /metrics", {"Prometheus metrics (text exposition format)", {}, nullptr, nullptr, 200,
                      "text/plain"}},
    {"GET /metrics/history",
     {"The persisted samples of one metric (every --metrics-interval-s), for charts",
      with_paging({{"name", "string", "the metric, e.g. orchestrator_tasks_finished_total"}}),
      nullptr, "SamplePage"}},
    {"GET /audit",
     {"The audit log, paged, filtered by one field",
      with_paging({{"principal", "string", "who acted"},
                   {"action", "string", "task.submit, user.create, ..."},
                   {"target", "string", "what it acted on"},
                   {"outcome", "string", "ok, denied, ..."}}),
      nullptr, "AuditPage"}},
    {"POST /admin/backup",
     {"A consistent backup of the storage under --backup-dir", {}, "BackupRequest"}},
    {"POST /debug/fail/{name}", {"Fault injection: make a component fail (--fault-injection)"}},
    {"GET /nodes", {"Worker nodes: name, address, labels, slots, running tasks, last heartbeat"}},
    {"GET /events",
     {"The live event stream (Server-Sent Events, or a WebSocket on Upgrade): every task "
      "state change and node event in commit order; resumable with Last-Event-ID or after=",
      {{"task", "string", "task ids, comma-separated"},
       {"status", "string", "statuses after the event, comma-separated"},
       {"kind", "string", "event kinds, comma-separated"},
       {"node", "string", "node names, comma-separated"},
       {"label", "string", "labels the task must have: team=infra,env=prod"},
       {"after", "string", "resume after this event id"}},
      nullptr, nullptr, 200, "text/event-stream"}},
    {"POST /auth/login", {"Sign in: a session token", {}, "Login", "Session"}},
    {"POST /auth/logout", {"End this session"}},
    {"GET /auth/me", {"Who this token is: user, roles, session"}},
    {"POST /auth/stream-ticket",
     {"A one-time ticket (60 s) that opens one stream: ?ticket= on GET /events or GET "
      "/tasks/{id}/output",
      {}, nullptr, "StreamTicket"}},
    {"POST /auth/tokens", {"A named API token for a user", {}, "TokenRequest", "Session", 201}},
    {"DELETE /users/{user}/tokens/{token}", {"Revoke a named token"}},
    {"GET /tasks",
     {"Tasks, searched, filtered and paged",
      with_paging({{"q", "string",
                    "search: words (prefix of a word of the name, command, arguments), id:, "
                    "name:, cmd:, label:k=v, status:, node:, owner:, since:, until:"},
                   {"status", "string", "Pending, Queued, Running, Completed, Failed or Cancelled"},
                   {"depends_on", "string", "a task id: the tasks that depend on it"},
                   {"parent", "string", "a task id: its children (tasks submitted with that parent)"}}),
      nullptr, "TaskPage"}},
    {"POST /tasks", {"Submit a task", {}, "TaskSubmission", "Task", 201}},
    {"POST /tasks/batch",
     {"Submit up to 1,000 tasks in one durable commit, all or none", {}, "TaskBatch",
      "TaskBatchResult", 201}},
    {"GET /tasks/{id}", {"One task", {}, nullptr, "Task"}},
    {"POST /tasks/{id}/cancel", {"Cancel a task (its process group is stopped)", {}, nullptr, "Task"}},
    {"POST /tasks/{id}/retry", {"Queue a Failed or Cancelled task again", {}, nullptr, "Task"}},
    {"GET /tasks/{id}/events", {"A task's events, oldest first", paging, nullptr, "EventPage"}},
    {"GET /tasks/{id}/output",
     {"A task's output as text (Range paging), or with follow=1 as a stream of each attempt's "
      "output as it is written",
      {{"stream", "string", "stdout (default) or stderr"},
       {"follow", "boolean", "1: stream it (Server-Sent Events or a WebSocket)"}},
      nullptr, nullptr, 200, "text/plain"}},
    {"GET /users", {"Users, paged", paging, nullptr, "UserPage"}},
    {"POST /users", {"Create a user", {}, "UserRequest", "User", 201}},
    {"GET /users/{user}", {"One user", {}, nullptr, "User"}},
    {"DELETE /users/{user}", {"Remove a user"}},
    {"POST /users/{user}/disable", {"Disable a user (its sessions end)", {}, nullptr, "User"}},
    {"POST /users/{user}/enable", {"Enable a user", {}, nullptr, "User"}},
    {"POST /users/{user}/password", {"Set a user's password (its sessions end)", {}, "Password", "User"}},
    {"POST /users/{user}/roles", {"Set a user's roles (its sessions end)", {}, "Roles", "User"}},
    {"GET /schedules", {"Recurring schedules with their next firings, paged", paging, nullptr,
                        "SchedulePage"}},
    {"POST /schedules",
     {"Create a recurring schedule: a cron expression in a time zone that creates a task at "
      "each firing, once however many orchestrators share the storage",
      {}, "ScheduleRequest", "Schedule", 201}},
    {"GET /schedules/{schedule}", {"One schedule and its next firings", {}, nullptr, "Schedule"}},
    {"PATCH /schedules/{schedule}",
     {"Change a schedule: pause or resume it, a new cron, zone, task or policy", {},
      "ScheduleChange", "Schedule"}},
    {"GET /workflows", {"Workflows, paged (each task's status: GET /workflows/{id})", paging,
                        nullptr, "WorkflowPage"}},
    {"POST /workflows",
     {"Submit a workflow: tasks with keys and the keys each comes after, validated as a whole "
      "(no cycle, every key known) and stored in one commit, all or none",
      {}, "WorkflowRequest", "WorkflowView", 201}},
    {"GET /workflows/{id}",
     {"A workflow with its status rolled up from its tasks' and each node's task and status", {},
      nullptr, "WorkflowView"}},
    {"POST /workflows/{id}/cancel",
     {"Cancel every task of the workflow not ended yet", {}, nullptr, "WorkflowView"}},
    {"POST /workflows/{id}/retry",
     {"Run the workflow's Failed and Cancelled tasks again (dependencies first); the Completed "
      "ones stay",
      {}, nullptr, "WorkflowView"}},
    {"GET /workflows/templates",
     {"The workflow templates of --workflow-templates: name, description, kind (workflow or "
      "script) and parameters",
      {}, nullptr, "TemplateList"}},
    {"POST /workflows/templates/{template}/run",
     {"Start a workflow from a template: its {{params.NAME}} filled with the values given "
      "(checked against the template's required, default and pattern), then as POST /workflows",
      {}, "TemplateRun", "WorkflowView", 201}},
    {"DELETE /schedules/{schedule}",
     {"Delete a schedule (the tasks it created stay)", {}, nullptr, "Schedule"}},
  };
  return table;
}

json page_schema(const char* items, const std::string& of) {
  return {{"type", "object"},
          {"properties",
           {{items, {{"type", "array"}, {"items", ref(of)}}},
            {"total", {{"type", "integer"}}},
            {"limit", {{"type", "integer"}}},
            {"offset", {{"type", "integer"}}}}}};
}

json object_of(std::initializer_list<std::pair<const char*, json>> props,
               std::vector<std::string> required = {}) {
  json p = json::object();
  for (auto& [k, v] : props)
    p[k] = v;
  json out{{"type", "object"}, {"properties", p}};
  if (!required.empty())
    out["required"] = required;
  return out;
}

json components() {
  json str{{"type", "string"}};
  json roles{{"type", "array"}, {"items", {{"type", "string"}, {"enum", {"admin", "operator", "viewer", "worker"}}}}};
  json s;
  s["Task"] = record_json_schema(record_kind::task);
  s["TaskSubmission"] = task_submission_schema();
  s["TaskEvent"] = record_json_schema(record_kind::event);
  s["AuditRecord"] = record_json_schema(record_kind::audit);
  s["TaskPage"] = page_schema("tasks", "Task");
  s["EventPage"] = page_schema("events", "TaskEvent");
  s["AuditPage"] = page_schema("records", "AuditRecord");
  s["UserPage"] = page_schema("users", "User");
  s["MetricSample"] = record_json_schema(record_kind::metric);
  s["SamplePage"] = page_schema("samples", "MetricSample");
  s["TaskBatch"] = object_of({{"tasks", {{"type", "array"}, {"items", ref("TaskSubmission")}, {"maxItems", 1000}}}}, {"tasks"});
  s["TaskBatchResult"] = object_of({{"count", {{"type", "integer"}}}, {"tasks", {{"type", "array"}, {"items", ref("Task")}}}});
  s["User"] = object_of({{"username", str}, {"roles", roles}, {"disabled", {{"type", "boolean"}}},
                         {"created_at", {{"type", "string"}, {"format", "date-time"}}}});
  s["UserRequest"] = object_of({{"username", str}, {"password", str}, {"roles", roles}},
                               {"username", "password"});
  s["Password"] = object_of({{"password", str}}, {"password"});
  s["Roles"] = object_of({{"roles", roles}}, {"roles"});
  s["Login"] = object_of({{"username", str}, {"password", str}}, {"username", "password"});
  s["Session"] = object_of({{"token", str}, {"expires_at", {{"type", "string"}, {"format", "date-time"}}}, {"roles", roles}});
  s["TokenRequest"] = object_of({{"name", str}, {"user", str}, {"ttl_s", {{"type", "integer"}, {"minimum", 0}}}}, {"name"});
  s["StreamTicket"] = object_of({{"ticket", str}, {"expires_in", {{"type", "integer"}}}, {"use", str}});
  s["BackupRequest"] = object_of({{"name", str}});
  s["Schedule"] = record_json_schema(record_kind::schedule);
  s["Schedule"]["properties"]["next_firings"] = {
    {"type", "array"}, {"items", {{"type", "string"}, {"format", "date-time"}}}};
  s["SchedulePage"] = page_schema("schedules", "Schedule");
  s["Workflow"] = record_json_schema(record_kind::workflow);
  s["WorkflowPage"] = page_schema("workflows", "Workflow");
  s["WorkflowRequest"] = object_of(
    {{"name", str},
     {"on_failure", {{"type", "string"}, {"enum", {"cancel-dependants", "continue"}}}},
     {"tasks",
      {{"type", "array"},
       {"minItems", 1},
       {"maxItems", 10000},
       {"items",
        {{"type", "object"},
         {"description", "a task as POST /tasks takes it (without id and dependencies), with "
                         "its key and the keys of the nodes it comes after"},
         {"properties", {{"key", str}, {"after", {{"type", "array"}, {"items", str}}}}},
         {"required", {"key"}}}}}}},
    {"tasks"});
  s["TemplateRun"] = object_of(
    {{"params", {{"type", "object"},
                 {"additionalProperties", {{"type", {"string", "number", "boolean"}}}}}}});
  s["TemplateList"] = object_of(
    {{"templates",
      {{"type", "array"},
       {"items", object_of({{"name", str},
                            {"description", str},
                            {"kind", {{"type", "string"}, {"enum", {"workflow", "script"}}}},
                            {"params", {{"type", "object"}}}})}}},
     {"total", {{"type", "integer"}}}});
  s["WorkflowView"] = object_of(
    {{"id", str}, {"name", str}, {"on_failure", str}, {"owner", str},
     {"status", {{"type", "string"}, {"enum", {"Queued", "Running", "Completed", "Failed", "Cancelled", "Damaged"}}}},
     {"counts", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}},
     {"tasks", {{"type", "array"},
                {"items", object_of({{"key", str}, {"id", str}, {"status", str},
                                     {"after", {{"type", "array"}, {"items", str}}}})}}}});
  json overlap{{"type", "string"}, {"enum", {"skip", "queue", "allow"}}};
  json catch_up{{"type", "string"}, {"enum", {"once", "skip"}}};
  json change_props = {{"cron", str}, {"timezone", str}, {"task", ref("TaskSubmission")},
                       {"overlap", overlap}, {"catch_up", catch_up},
                       {"paused", {{"type", "boolean"}}}};
  s["ScheduleChange"] = {{"type", "object"}, {"properties", change_props}};
  change_props["name"] = str;
  s["ScheduleRequest"] = {{"type", "object"},
                          {"properties", change_props},
                          {"required", {"name", "cron", "task"}}};
  s["Object"] = {{"type", "object"}};
  s["Error"] = object_of({{"success", {{"type", "boolean"}, {"const", false}}}, {"error", str}},
                         {"success", "error"});
  return {{"schemas", s},
          {"securitySchemes",
           {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                        {"description", "a session token from POST /auth/login, or a named token"}}},
            {"streamTicket", {{"type", "apiKey"}, {"in", "query"}, {"name", "ticket"},
                              {"description", "a one-time ticket from POST /auth/stream-ticket"}}}}}};
}

json envelope(const char* data) {
  return object_of({{"success", {{"type", "boolean"}, {"const", true}}},
                    {"data", data ? ref(data) : json{{"type", "object"}}}},
                   {"success", "data"});
}

json operation(const route& r, const std::string& key) {
  auto d = docs().find(key);
  static const route_doc undocumented{"(undocumented)"};
  auto& doc = d == docs().end() ? undocumented : d->second;
  json op{{"summary", doc.summary}, {"operationId", key}};
  json params = json::array();
  for (auto seg : r.pattern)
    if (seg.size() > 2 && seg.front() == '{')
      params.push_back({{"name", std::string{seg.substr(1, seg.size() - 2)}},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
  for (auto& q : doc.query)
    params.push_back({{"name", q.name}, {"in", "query"}, {"description", q.description},
                      {"schema", {{"type", q.type}}}});
  if (!params.empty())
    op["parameters"] = params;
  if (doc.body)
    op["requestBody"] = {{"required", true},
                         {"content", {{"application/json", {{"schema", ref(doc.body)}}}}}};
  json ok{{"description", "success"}};
  ok["content"] = doc.stream ? json{{doc.stream, {{"schema", {{"type", "string"}}}}}}
                             : json{{"application/json", {{"schema", envelope(doc.data)}}}};
  json err{{"description", "what is wrong, and what to do"},
           {"content", {{"application/json", {{"schema", ref("Error")}}}}}};
  op["responses"] = {{std::to_string(doc.status), ok}, {"default", err}};
  auto roles = auth::role_names(r.allowed);
  op["x-roles"] = roles;
  if (r.allowed == public_route) {
    op["security"] = json::array();
  } else {
    json sec = json::array({{{"bearer", json::array()}}});
    if (r.stream_ticket)
      sec.push_back({{"streamTicket", json::array()}});
    op["security"] = sec;
  }
  op["description"] = r.allowed == public_route
                        ? std::string{"No token needed."}
                        : "Roles: " + auth::describe(r.allowed) + ".";
  return op;
}

void openapi(const context& ctx, const http_request&, const route_args&, reply rp) {
  json paths = json::object();
  bool faults = static_cast<bool>(ctx.cfg->fail_component);
  for (auto& r : route_table()) {
    if (r.fault_injection && !faults)
      continue;
    auto path = path_text(r.pattern);
    std::string method = r.method;
    auto key = method + " " + path;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    paths[path][method] = operation(r, key);
  }
  json doc{{"openapi", "3.1.0"},
           {"info",
            {{"title", "orchestrator"},
             {"version", ctx.cfg->version},
             {"description",
              "A task orchestrator: submit commands and Nushell scripts with priority, retries, "
              "timeouts and dependencies; every answer is {\"success\": true, \"data\": ...} "
              "or {\"success\": false, \"error\": \"...\"}."}}},
           {"paths", paths},
           {"components", components()}};
  rp.deliver(http_response{200, "application/json", canonical(doc)});
}

} // namespace

std::vector<route> openapi_routes() {
  return {
    {"GET", {"openapi.json"}, openapi, public_route},
  };
}

} // namespace orch::api
