// The service itself: GET /health, GET /metrics, GET /audit (served by the
// audit actor), POST /admin/backup, and POST /debug/fail/{name} (fault
// injection for the supervision tests).
#include <set>
#include <variant>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/listing.hpp"
#include "actors/api/route.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

/// The backend and where it keeps its records; namespace and database on
/// the SurrealDB backends only.
json storage_json(const storage_info& info) {
  json j{{"backend", info.backend}, {"location", info.location}, {"shared", info.shared}};
  if (!info.ns.empty()) {
    j["namespace"] = info.ns;
    j["database"] = info.db;
  }
  return j;
}

json health_json(const context& ctx, const storage_info& info, const runtime_stats& s) {
  return {{"status", s.draining ? "draining" : "ok"},
          {"version", ctx.cfg->version},
          {"instance", s.instance},
          {"storage", storage_json(info)},
          {"running", s.running},
          {"slots", s.slots},
          {"attempts_started", s.started},
          {"attempts_finished", s.finished}};
}

void health(const context& ctx, const http_request&, const route_args&, reply rp) {
  auto quick = ctx.cfg->health_timeout;
  ctx.self->request(ctx.peers->storage, quick, info_atom_v)
    .then(guarded("gateway",
                  [=](const storage_info& info) mutable {
                    ctx.self->request(ctx.peers->scheduler, quick, stats_atom_v)
                      .then(guarded("gateway",
                                    [=](const runtime_stats& s) mutable {
                                      rp.deliver(json_ok(s.draining ? 503 : 200,
                                                         canonical(health_json(ctx, info, s))));
                                    }),
                            [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
                  }),
          [=](caf::error& e) mutable {
            rp.deliver(json_error(503, "storage is unavailable: " + error_text(e)));
          });
}

void metrics(const context& ctx, const http_request&, const route_args&, reply rp) {
  ctx.self->request(ctx.peers->metrics, ctx.cfg->health_timeout, render_atom_v)
    .then(guarded("gateway",
                  [=](const std::string& text) mutable {
                    rp.deliver(http_response{200, "text/plain; version=0.0.4", text});
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// GET /metrics/history?name=...: the persisted samples of one metric (every
/// --metrics-interval-s), oldest first unless order=desc, so charts keep
/// their history across restarts.
void metric_history(const context& ctx, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::metric;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  auto name = req.query.find("name");
  if (name == req.query.end() || name->second.empty())
    return rp.deliver(json_error(400, "name a metric: GET /metrics/history?name="
                                      "orchestrator_tasks_finished_total (see GET /metrics)"));
  q.field = "name";
  q.value = name->second;
  list_records(ctx, rp, q, "samples", ctx.peers->storage);
}

void audit(const context& ctx, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::audit;
  q.newest_first = true;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  for (const char* f : {"principal", "action", "target", "outcome"})
    if (auto i = req.query.find(f); i != req.query.end() && !i->second.empty()) {
      if (!q.field.empty())
        return rp.deliver(json_error(400, "filter the audit log by one of principal, action, "
                                          "target, outcome at a time"));
      q.field = f;
      q.value = i->second;
    }
  list_records(ctx, rp, q, "records", ctx.peers->audit);
}

/// The backup's name from {"name": "..."} ({} for one with the time), or
/// the 400 that refuses the body.
std::variant<std::string, http_response> backup_name(const context& ctx, const std::string& text) {
  auto body = json::parse(text, nullptr, false);
  if (body.is_object() && body.contains("to"))
    return json_error(400, "backups are written only under the server's --backup-dir ("
                             + ctx.cfg->backup_dir + "): send {\"name\": \"a-name\"}, not a path");
  std::string name;
  if (body.is_object() && body.contains("name") && body["name"].is_string())
    name = body["name"].get<std::string>();
  else if (body.is_object() && !body.contains("name") && body.size() == 0)
    name = "backup-" + format_rfc3339(now_us()).substr(0, 19);
  else
    return json_error(400, "send {\"name\": \"a-name\"} (letters, digits, '.', '_', '-'; or {} "
                           "for a name with the time)");
  for (auto& c : name)
    if (c == ':')
      c = '-';
  if (!is_valid_username(name) || name.find("..") != std::string::npos)
    return json_error(400, "invalid backup name '" + name.substr(0, 80)
                             + "': use up to 64 letters, digits, '.', '_' and '-', not starting "
                               "with '.'");
  return name;
}

/// POST /admin/backup {"name": "before-upgrade"}: a consistent copy of the
/// storage in <backup dir>/<name>, written by the storage actor while the
/// orchestrator keeps running. A name, not a path: the client cannot aim
/// the copy anywhere else on this machine's disk.
void backup(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto named = backup_name(ctx, req.body);
  if (auto* refusal = std::get_if<http_response>(&named))
    return rp.deliver(std::move(*refusal));
  auto name = std::get<std::string>(named);
  auto to = ctx.cfg->backup_dir + "/" + name;
  rp.audit_as(principal_of(args), "admin.backup", "backup:" + name);
  ctx.self->request(ctx.peers->storage, ctx.cfg->backup_timeout, backup_atom_v, to)
    .then(guarded("gateway",
                  [=](const std::string& path) mutable {
                    // A backup changes no record: its audit record is the
                    // audit actor's to store; answered once it is stored.
                    auth::change_context by{principal_of(args), now_us()};
                    auto answer = json_ok(200, canonical(json{{"path", path}, {"name", name},
                                                              {"directory", to}}));
                    ctx.self->request(ctx.peers->audit, ctx.cfg->storage_timeout, audit_atom_v,
                                      auth::audit_entry(by, "admin.backup", "backup:" + name, "ok",
                                                        path))
                      .then([=](bool) mutable { rp.deliver(answer); },
                            [=](caf::error&) mutable { rp.deliver(answer); });
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// POST /debug/fail/{name} (--fault-injection only): the component fails as
/// in a crash, after this answer has gone out (the gateway may be the one).
void fail_component(const context& ctx, const http_request&, const route_args& args, reply rp) {
  static const std::set<std::string> known{"gateway", "metrics", "events", "audit",
                                           "scheduler", "storage"};
  if (!known.count(args.name))
    return rp.deliver(json_error(404, "no component called '" + args.name
                                        + "' (gateway, metrics, events, audit, scheduler, "
                                          "storage)"));
  rp.deliver(json_ok(202, canonical(json{{"failed", args.name}})));
  ctx.cfg->fail_component(args.name);
}

} // namespace

std::vector<route> system_routes() {
  return {
    {"GET", {"health"}, health},
    {"GET", {"audit"}, audit, admins},
    {"GET", {"metrics"}, metrics, readers},
    {"GET", {"metrics", "history"}, metric_history, readers},
    {"POST", {"admin", "backup"}, backup, admins, "admin.backup"},
    {"POST", {"debug", "fail", "{name}"}, fail_component, admins, "debug.fail", true},
  };
}

} // namespace orch::api
