// The REST API's handlers, one per route. Each validates what the client
// sent, asks the actor that knows, and answers with the JSON envelope.
#include "actors/gateway_routes.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "runtime/core/batch_submission.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/submission.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::gateway {

namespace {

int status_for(errc code) {
  switch (code) {
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::invalid: return 400;
    case errc::unavailable:
    case errc::locked:
    // Storage could not write (permissions, a folder gone, a device error):
    // nothing was written, and the same request succeeds once it is fixed.
    case errc::io_error: return 503;
    case errc::no_space: return 507;  // Insufficient Storage
    default: return 500;
  }
}

std::string page_json(const record_page& page, const char* items_name, const record_query& q) {
  std::string out = "{\"";
  out += items_name;
  out += "\":[";
  for (size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0)
      out += ',';
    out += page.items[i].json;
  }
  out += "],\"total\":" + std::to_string(page.total) + ",\"limit\":" + std::to_string(q.limit)
         + ",\"offset\":" + std::to_string(q.offset) + "}";
  return out;
}

void list_records(pointer self, reply rp, record_query q, const char* items_name) {
  self->request(self->state.storage, self->state.cfg.storage_timeout, query_atom_v, q)
    .then(guarded("gateway",
                  [=](const record_page& page) mutable {
                    rp.deliver(json_ok(200, page_json(page, items_name, q)));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}


std::string principal_of(const http_request& req) {
  return "api:" + req.remote;
}

bool is_loopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address.rfind("127.", 0) == 0
         || address.rfind("::ffff:127.", 0) == 0;
}

// -- handlers ----------------------------------------------------------------------------

void health(pointer self, const http_request&, const route_args&, reply rp) {
  self->request(self->state.storage, self->state.cfg.health_timeout, info_atom_v)
    .then(
      guarded("gateway",
              [=](const storage_info& info) mutable {
                self->request(self->state.scheduler, self->state.cfg.health_timeout, stats_atom_v)
                  .then(guarded("gateway",
                                [=](const runtime_stats& s) mutable {
                                  json data{{"status", s.draining ? "draining" : "ok"},
                                            {"version", self->state.cfg.version},
                                            {"instance", s.instance},
                                            {"storage",
                                             {{"backend", info.backend},
                                              {"location", info.location},
                                              {"shared", info.shared}}},
                                            {"running", s.running},
                                            {"slots", s.slots},
                                            {"attempts_started", s.started},
                                            {"attempts_finished", s.finished}};
                                  rp.deliver(json_ok(s.draining ? 503 : 200, canonical(data)));
                                }),
                        [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
              }),
      [=](caf::error& e) mutable {
        rp.deliver(json_error(503, "storage is unavailable: " + error_text(e)));
      });
}

void metrics(pointer self, const http_request&, const route_args&, reply rp) {
  self->request(self->state.metrics, self->state.cfg.health_timeout, render_atom_v)
    .then(guarded("gateway",
                  [=](const std::string& text) mutable {
                    rp.deliver(http_response{200, "text/plain; version=0.0.4", text});
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void list_tasks(pointer self, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::task;
  if (auto st = paging_params(req.query, q); !st)
    return void(rp.deliver(json_error(400, st.message())));
  if (auto i = req.query.find("status"); i != req.query.end() && !i->second.empty()) {
    task_status s;
    if (!parse_status(i->second, s))
      return void(rp.deliver(json_error(400, "unknown status '" + i->second
                                                 + "' (expected one of Pending, Queued, Running, "
                                                   "Completed, Failed, Cancelled)")));
    q.field = "status";
    q.value = to_string(s);
  }
  list_records(self, rp, q, "tasks");
}

void submit(pointer self, const http_request& req, const route_args&, reply rp) {
  auto t = parse_submission(req.body);
  if (!t)
    return void(rp.deliver(json_error(400, t.message())));
  self->request(self->state.scheduler, self->state.cfg.scheduler_timeout, submit_atom_v,
                submit_request{std::move(*t), principal_of(req)})
    .then(guarded("gateway",
                  [=](const task& created) mutable { rp.deliver(json_ok(201, encode(created))); }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// POST /tasks/batch {"tasks": [...]}: up to max_batch_tasks tasks stored in
/// one durable commit, all or none; a refusal lists every bad item with its
/// index, so a client mends them all in one go.
void submit_batch(pointer self, const http_request& req, const route_args&, reply rp) {
  auto b = parse_batch_submission(req.body);
  if (!b.problem)
    return void(rp.deliver(json_error(400, b.problem.message())));
  if (!b.errors.empty()) {
    json errors = json::array();
    for (auto& e : b.errors)
      errors.push_back({{"index", e.index}, {"error", e.message}});
    auto total = b.tasks.size() + b.errors.size();
    json body{{"success", false},
              {"error", std::to_string(b.errors.size()) + " of the batch's " + std::to_string(total)
                          + " tasks are invalid (see 'errors'); nothing was stored"},
              {"errors", std::move(errors)}};
    return void(rp.deliver(http_response{400, "application/json", canonical(body)}));
  }
  self->request(self->state.scheduler, self->state.cfg.scheduler_timeout, submit_atom_v,
                submit_batch_request{std::move(b.tasks), principal_of(req)})
    .then(guarded("gateway",
                  [=](const std::vector<task>& created) mutable {
                    std::string data = "{\"count\":" + std::to_string(created.size())
                                       + ",\"tasks\":[";
                    for (size_t i = 0; i < created.size(); ++i)
                      data += (i > 0 ? "," : "") + encode(created[i]);
                    rp.deliver(json_ok(201, data + "]}"));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void get_task(pointer self, const http_request&, const route_args& args, reply rp) {
  self->request(self->state.storage, self->state.cfg.storage_timeout, caf::get_atom_v,
                record_kind::task, args.id)
    .then(guarded("gateway", [=](const record& r) mutable { rp.deliver(json_ok(200, r.json)); }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

template <class Atom>
void task_action_route(pointer self, const http_request& req, const route_args& args, reply rp) {
  self->request(self->state.scheduler, self->state.cfg.scheduler_timeout, Atom{},
                task_action{args.id, principal_of(req)})
    .then(guarded("gateway", [=](const task& t) mutable { rp.deliver(json_ok(200, encode(t))); }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void task_events(pointer self, const http_request& req, const route_args& args, reply rp) {
  record_query q;
  q.kind = record_kind::event;
  if (auto st = paging_params(req.query, q); !st)
    return void(rp.deliver(json_error(400, st.message())));
  q.field = "task_id";
  q.value = args.id;
  list_records(self, rp, q, "events");
}

void audit(pointer self, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::audit;
  q.newest_first = true;
  if (auto st = paging_params(req.query, q); !st)
    return void(rp.deliver(json_error(400, st.message())));
  for (const char* f : {"principal", "action", "target", "outcome"})
    if (auto i = req.query.find(f); i != req.query.end() && !i->second.empty()) {
      if (!q.field.empty())
        return void(rp.deliver(json_error(400, "filter the audit log by one of principal, action, "
                                               "target, outcome at a time")));
      q.field = f;
      q.value = i->second;
    }
  list_records(self, rp, q, "records");
}

/// POST /admin/backup {"to": "/new/dir"}: a consistent copy of the storage,
/// written by the storage actor while the orchestrator keeps running. It
/// writes to this machine's disk, so only local clients may ask.
void backup(pointer self, const http_request& req, const route_args&, reply rp) {
  if (!is_loopback(req.remote))
    return void(rp.deliver(json_error(403, "admin endpoints are only served to clients on this "
                                           "machine (127.0.0.1)")));
  auto body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("to") || !body["to"].is_string())
    return void(rp.deliver(json_error(400, "send {\"to\": \"/absolute/new/directory\"}")));
  auto to = body["to"].get<std::string>();
  if (to.empty() || to[0] != '/' || to.find('\0') != std::string::npos)
    return void(rp.deliver(json_error(400, "'to' must be an absolute directory path")));
  self->request(self->state.storage, self->state.cfg.backup_timeout, backup_atom_v, to)
    .then(guarded("gateway",
                  [=](const std::string& path) mutable {
                    rp.deliver(json_ok(200, canonical(json{{"path", path}})));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// POST /debug/fail/{name} (--fault-injection only): the component fails as
/// in a crash, after this answer has gone out (the gateway may be the one).
void fail_component(pointer self, const http_request&, const route_args& args, reply rp) {
  static const std::set<std::string> known{"gateway", "metrics", "events", "scheduler", "storage"};
  if (!known.count(args.name))
    return void(rp.deliver(json_error(404, "no component called '" + args.name
                                             + "' (gateway, metrics, events, scheduler, storage)")));
  rp.deliver(json_ok(202, canonical(json{{"failed", args.name}})));
  self->state.cfg.fail_component(args.name);
}

} // namespace

http_response json_ok(int status, const std::string& data_json) {
  return {status, "application/json", "{\"success\":true,\"data\":" + data_json + "}"};
}

http_response from_error(const caf::error& e) {
  return json_error(status_for(error_code(e)), error_text(e));
}

const std::vector<route>& routes() {
  static const std::vector<route> table{
    {"GET", {"health"}, health},
    {"GET", {"tasks"}, list_tasks},
    {"POST", {"tasks"}, submit},
    {"POST", {"tasks", "batch"}, submit_batch},
    {"GET", {"tasks", "{id}"}, get_task},
    {"POST", {"tasks", "{id}", "cancel"}, task_action_route<cancel_atom>},
    {"POST", {"tasks", "{id}", "retry"}, task_action_route<retry_atom>},
    {"GET", {"tasks", "{id}", "events"}, task_events},
    {"GET", {"audit"}, audit},
    {"GET", {"metrics"}, metrics},
    {"POST", {"admin", "backup"}, backup},
    {"POST", {"debug", "fail", "{name}"}, fail_component, true},
  };
  return table;
}

} // namespace orch::gateway
