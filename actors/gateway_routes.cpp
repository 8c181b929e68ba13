// The REST API's handlers, one per route. Each validates what the client
// sent, asks the actor that knows, and answers with the JSON envelope.
#include "actors/gateway_routes.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "runtime/auth/user_changes.hpp"
#include "runtime/core/batch_submission.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
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

void submit(pointer self, const http_request& req, const route_args& args, reply rp) {
  auto t = parse_submission(req.body);
  if (!t)
    return void(rp.deliver(json_error(400, t.message())));
  self->request(self->state.scheduler, self->state.cfg.scheduler_timeout, submit_atom_v,
                submit_request{std::move(*t), principal_of(args)})
    .then(guarded("gateway",
                  [=](const task& created) mutable { rp.deliver(json_ok(201, encode(created))); }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// POST /tasks/batch {"tasks": [...]}: up to max_batch_tasks tasks stored in
/// one durable commit, all or none; a refusal lists every bad item with its
/// index, so a client mends them all in one go.
void submit_batch(pointer self, const http_request& req, const route_args& args, reply rp) {
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
                submit_batch_request{std::move(b.tasks), principal_of(args)})
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
void task_action_route(pointer self, const http_request&, const route_args& args, reply rp) {
  self->request(self->state.scheduler, self->state.cfg.scheduler_timeout, Atom{},
                task_action{args.id, principal_of(args)})
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

/// POST /admin/backup {"name": "before-upgrade"}: a consistent copy of the
/// storage in <backup dir>/<name>, written by the storage actor while the
/// orchestrator keeps running. A name, not a path: the client cannot aim
/// the copy anywhere else on this machine's disk.
void backup(pointer self, const http_request& req, const route_args& args, reply rp) {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_object() && body.contains("to"))
    return void(rp.deliver(json_error(
      400, "backups are written only under the server's --backup-dir ("
             + self->state.cfg.backup_dir + "): send {\"name\": \"a-name\"}, not a path")));
  std::string name;
  if (body.is_object() && body.contains("name") && body["name"].is_string())
    name = body["name"].get<std::string>();
  else if (body.is_object() && !body.contains("name") && body.size() == 0)
    name = "backup-" + format_rfc3339(now_us()).substr(0, 19);
  else
    return void(rp.deliver(json_error(400, "send {\"name\": \"a-name\"} (letters, digits, '.', "
                                           "'_', '-'; or {} for a name with the time)")));
  for (auto& c : name)
    if (c == ':')
      c = '-';
  if (!is_valid_username(name) || name.find("..") != std::string::npos)
    return void(rp.deliver(json_error(400, "invalid backup name '" + name.substr(0, 80)
                                             + "': use up to 64 letters, digits, '.', '_' and '-', "
                                               "not starting with '.'")));
  auto to = self->state.cfg.backup_dir + "/" + name;
  rp.audit_as(principal_of(args), "admin.backup", "backup:" + name);
  self->request(self->state.storage, self->state.cfg.backup_timeout, backup_atom_v, to)
    .then(guarded("gateway",
                  [=](const std::string& path) mutable {
                    auth::change_context ctx{principal_of(args), now_us()};
                    self->request(self->state.storage, self->state.cfg.storage_timeout,
                                  commit_atom_v,
                                  auth::audit_only(auth::audit_entry(ctx, "admin.backup",
                                                                     "backup:" + name, "ok", path)))
                      .then([](uint64_t) {}, [](caf::error&) {});
                    rp.deliver(json_ok(200, canonical(json{{"path", path}, {"name", name}, {"directory", to}})));
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

void reply::audit_as(std::string principal, std::string action, std::string target) {
  note_ = std::make_shared<audit_note>(audit_note{std::move(principal), std::move(action),
                                                  std::move(target)});
}

namespace {

/// Stores at most this many refusals per minute for each address whose
/// requests carry no valid token; beyond, they are counted in the log only.
constexpr uint32_t anonymous_audits_per_minute = 120;

bool keep_anonymous_audit(state& st, const std::string& principal) {
  if (principal.rfind("anonymous@", 0) != 0)
    return true;
  auto now = now_us();
  if (st.anonymous_audits.size() > 10000)
    st.anonymous_audits.clear();
  auto& [since, count] = st.anonymous_audits[principal];
  if (now - since > 60 * us_per_second) {
    if (count > anonymous_audits_per_minute)
      log_warn("gateway", std::to_string(count - anonymous_audits_per_minute) + " refusals of "
                            + principal + " in a minute were not audited one by one");
    since = now;
    count = 0;
  }
  return ++count <= anonymous_audits_per_minute;
}

} // namespace

void reply::deliver(http_response r) {
  if (note_ && r.status >= 400 && !keep_anonymous_audit(self_->state, note_->principal))
    note_.reset();
  if (note_ && r.status >= 400) {
    auto outcome = r.status == 401 || r.status == 403 || r.status == 429 ? "denied"
                   : r.status < 500                                       ? "invalid"
                                                                          : "failed";
    std::string why;
    if (auto body = json::parse(r.body, nullptr, false); body.is_object() && body.contains("error"))
      why = body["error"].is_string() ? body["error"].get<std::string>() : "";
    auth::change_context ctx{note_->principal, now_us()};
    auto a = auth::audit_entry(ctx, note_->action, note_->target, outcome,
                               std::to_string(r.status) + " " + why.substr(0, 300));
    // Best effort: the refusal goes out whether or not its record is stored
    // (when storage is what failed, it may not be).
    self_->request(self_->state.storage, self_->state.cfg.storage_timeout, commit_atom_v,
                   auth::audit_only(a))
      .then([](uint64_t) {},
            [](caf::error& e) { log_warn("gateway", "audit record not stored: " + error_text(e)); });
    note_.reset();
  }
  rp_.deliver(std::move(r));
}

std::string audit_target(const route& r, const route_args& args) {
  if (!args.id.empty())
    return "task:" + args.id;
  if (!args.user.empty())
    return "user:" + args.user + (args.token.empty() ? "" : "/token:" + args.token);
  if (!args.name.empty())
    return "component:" + args.name;
  std::string path;
  for (auto& p : r.pattern)
    path += "/" + std::string{p};
  return path;
}

http_response json_ok(int status, const std::string& data_json) {
  return {status, "application/json", "{\"success\":true,\"data\":" + data_json + "}"};
}

http_response from_error(const caf::error& e) {
  return json_error(status_for(error_code(e)), error_text(e));
}

const std::vector<route>& routes() {
  using auth::bit;
  using auth::role;
  constexpr auto admin = bit(role::admin);
  constexpr auto operators = admin | bit(role::operator_);
  constexpr auto readers = operators | bit(role::viewer);
  constexpr auto anyone = auth::any_role;
  // README "Roles and routes" lists this table; a test walks all of it.
  static const std::vector<route> table{
    {"GET", {"health"}, health},
    {"POST", {"auth", "login"}, login, public_route},
    {"POST", {"auth", "logout"}, logout, anyone, "auth.logout"},
    {"GET", {"auth", "me"}, me, anyone},
    {"POST", {"auth", "tokens"}, create_token, admin, "token.create"},
    {"GET", {"tasks"}, list_tasks, readers},
    {"POST", {"tasks"}, submit, operators, "task.submit"},
    {"POST", {"tasks", "batch"}, submit_batch, operators, "task.submit_batch"},
    {"GET", {"tasks", "{id}"}, get_task, readers},
    {"POST", {"tasks", "{id}", "cancel"}, task_action_route<cancel_atom>, operators, "task.cancel"},
    {"POST", {"tasks", "{id}", "retry"}, task_action_route<retry_atom>, operators, "task.retry"},
    {"GET", {"tasks", "{id}", "events"}, task_events, readers},
    {"GET", {"users"}, list_users, admin},
    {"POST", {"users"}, create_user, admin, "user.create"},
    {"GET", {"users", "{user}"}, get_user, admin},
    {"DELETE", {"users", "{user}"}, remove_user, admin, "user.remove"},
    {"POST", {"users", "{user}", "{name}"}, change_user, admin, "user.change"},
    {"DELETE", {"users", "{user}", "tokens", "{token}"}, revoke_token, admin, "token.revoke"},
    {"GET", {"audit"}, audit, admin},
    {"GET", {"metrics"}, metrics, readers},
    {"POST", {"admin", "backup"}, backup, admin, "admin.backup"},
    {"POST", {"debug", "fail", "{name}"}, fail_component, admin, "debug.fail", true},
  };
  return table;
}

} // namespace orch::gateway
