#include "actors/gateway.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "runtime/core/codec.hpp"
#include "runtime/core/submission.hpp"
#include "runtime/core/ids.hpp"

namespace orch {

namespace {

constexpr auto scheduler_timeout = std::chrono::seconds(60);
constexpr auto storage_timeout = std::chrono::seconds(30);
constexpr uint32_t default_page = 100;
constexpr uint32_t max_page = 1000;

int status_for(errc code) {
  switch (code) {
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::invalid: return 400;
    case errc::unavailable:
    case errc::locked: return 503;
    default: return 500;
  }
}

http_response json_ok(int status, const std::string& data_json) {
  return {status, "application/json", "{\"success\":true,\"data\":" + data_json + "}"};
}

http_response from_error(const caf::error& e) {
  return json_error(status_for(error_code(e)), error_text(e));
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    if (next > pos)
      parts.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

/// "" if the id is acceptable, else the message for a 400.
std::string check_task_id(const std::string& id) {
  if (is_uuid(id))
    return {};
  auto shown = id.size() > 80 ? id.substr(0, 80) + "..." : id;
  return "invalid task id '" + shown
         + "': task ids are lower-case UUIDs such as 3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
}

/// Parses an unsigned query parameter; false with `err` set if malformed.
bool uint_param(const std::map<std::string, std::string>& q, const char* name, uint64_t lo,
                uint64_t hi, uint64_t& out, std::string& err) {
  auto i = q.find(name);
  if (i == q.end() || i->second.empty())
    return true;
  char* end = nullptr;
  errno = 0;
  auto v = std::strtoull(i->second.c_str(), &end, 10);
  if (*end != '\0' || errno != 0 || i->second[0] == '-' || v < lo || v > hi) {
    err = std::string{"query parameter '"} + name + "' must be a whole number between "
          + std::to_string(lo) + " and " + std::to_string(hi) + ", got '" + i->second + "'";
    return false;
  }
  out = v;
  return true;
}

bool time_param(const std::map<std::string, std::string>& q, const char* name, micros& out,
                std::string& err) {
  auto i = q.find(name);
  if (i == q.end() || i->second.empty())
    return true;
  if (!parse_rfc3339(i->second, out)) {
    err = std::string{"query parameter '"} + name
          + "' must be an RFC 3339 time such as 2026-01-02T03:04:05Z, got '" + i->second + "'";
    return false;
  }
  return true;
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

struct gateway_state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first handle member with it.
  gateway_state() = default;
  storage_actor storage;
  scheduler_actor scheduler;
  metrics_actor metrics;
  gateway_config cfg;
  static inline const char* name = "gateway";
};

using gateway_ptr = gateway_actor::stateful_pointer<gateway_state>;
using reply = caf::typed_response_promise<http_response>;

void list_records(gateway_ptr self, reply rp, record_query q, const char* items_name) {
  self->request(self->state.storage, storage_timeout, query_atom_v, q)
    .then([=](const record_page& page) mutable { rp.deliver(json_ok(200, page_json(page, items_name, q))); },
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// Common paging parameters: limit, offset, order, since, until.
bool paging(const http_request& req, record_query& q, std::string& err) {
  uint64_t limit = default_page, offset = 0;
  if (!uint_param(req.query, "limit", 1, max_page, limit, err)
      || !uint_param(req.query, "offset", 0, 1ull << 53, offset, err)
      || !time_param(req.query, "since", q.since, err)
      || !time_param(req.query, "until", q.until, err))
    return false;
  q.limit = static_cast<uint32_t>(limit);
  q.offset = offset;
  if (auto i = req.query.find("order"); i != req.query.end()) {
    if (i->second == "desc" || i->second == "newest")
      q.newest_first = true;
    else if (i->second != "asc" && i->second != "oldest" && !i->second.empty()) {
      err = "query parameter 'order' must be 'asc' or 'desc', got '" + i->second + "'";
      return false;
    }
  }
  return true;
}

void handle_list_tasks(gateway_ptr self, const http_request& req, reply rp) {
  record_query q;
  q.kind = record_kind::task;
  std::string err;
  if (!paging(req, q, err))
    return void(rp.deliver(json_error(400, err)));
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

void handle_submit(gateway_ptr self, const http_request& req, reply rp) {
  auto t = parse_submission(req.body);
  if (!t)
    return void(rp.deliver(json_error(400, t.message())));
  self->request(self->state.scheduler, scheduler_timeout, submit_atom_v, std::move(*t),
                "api:" + req.remote)
    .then([=](const task& created) mutable { rp.deliver(json_ok(201, encode(created))); },
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void handle_task_action(gateway_ptr self, const http_request& req, const std::string& id,
                        const std::string& action, reply rp) {
  auto on_task = [=](const task& t) mutable { rp.deliver(json_ok(200, encode(t))); };
  auto on_error = [=](caf::error& e) mutable { rp.deliver(from_error(e)); };
  auto principal = "api:" + req.remote;
  if (action == "cancel")
    self->request(self->state.scheduler, scheduler_timeout, cancel_atom_v, id, principal)
      .then(on_task, on_error);
  else
    self->request(self->state.scheduler, scheduler_timeout, retry_atom_v, id, principal)
      .then(on_task, on_error);
}

void handle_health(gateway_ptr self, reply rp) {
  auto& st = self->state;
  self->request(st.storage, std::chrono::seconds(5), info_atom_v)
    .then(
      [=](const storage_info& info) mutable {
        self->request(self->state.scheduler, std::chrono::seconds(5), stats_atom_v)
          .then(
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
              rp.deliver(json_ok(s.draining ? 503 : 200, data.dump()));
            },
            [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
      },
      [=](caf::error& e) mutable {
        rp.deliver(json_error(503, "storage is unavailable: " + error_text(e)));
      });
}

void handle_audit(gateway_ptr self, const http_request& req, reply rp) {
  record_query q;
  q.kind = record_kind::audit;
  q.newest_first = true;
  std::string err;
  if (!paging(req, q, err))
    return void(rp.deliver(json_error(400, err)));
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

bool is_loopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address.rfind("127.", 0) == 0
         || address.rfind("::ffff:127.", 0) == 0;
}

/// POST /admin/backup {"to": "/new/dir"}: a consistent copy of the storage,
/// written by the storage actor while the orchestrator keeps running. It
/// writes to this machine's disk, so only local clients may ask.
void handle_backup(gateway_ptr self, const http_request& req, reply rp) {
  if (!is_loopback(req.remote))
    return void(rp.deliver(json_error(403, "admin endpoints are only served to clients on this "
                                           "machine (127.0.0.1)")));
  auto body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("to") || !body["to"].is_string())
    return void(rp.deliver(json_error(400, "send {\"to\": \"/absolute/new/directory\"}")));
  auto to = body["to"].get<std::string>();
  if (to.empty() || to[0] != '/' || to.find('\0') != std::string::npos)
    return void(rp.deliver(json_error(400, "'to' must be an absolute directory path")));
  self->request(self->state.storage, std::chrono::minutes(30), backup_atom_v, to)
    .then([=](const std::string& path) mutable {
            rp.deliver(json_ok(200, canonical(json{{"path", path}})));
          },
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void route(gateway_ptr self, const http_request& req, reply rp) {
  auto parts = split_path(req.path);
  auto method_not_allowed = [&](const char* allowed) {
    auto r = json_error(405, "method " + req.method + " is not allowed on " + req.path
                               + " (allowed: " + allowed + ")");
    rp.deliver(r);
  };
  if (parts.size() == 1 && parts[0] == "health") {
    if (req.method != "GET")
      return method_not_allowed("GET");
    return handle_health(self, rp);
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (req.method != "GET")
      return method_not_allowed("GET");
    self->request(self->state.metrics, std::chrono::seconds(5), render_atom_v)
      .then([=](const std::string& text) mutable {
              rp.deliver(http_response{200, "text/plain; version=0.0.4", text});
            },
            [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
    return;
  }
  if (parts.size() == 2 && parts[0] == "admin" && parts[1] == "backup") {
    if (req.method != "POST")
      return method_not_allowed("POST");
    return handle_backup(self, req, rp);
  }
  if (parts.size() == 1 && parts[0] == "audit") {
    if (req.method != "GET")
      return method_not_allowed("GET");
    return handle_audit(self, req, rp);
  }
  if (!parts.empty() && parts[0] == "tasks") {
    if (parts.size() == 1) {
      if (req.method == "GET")
        return handle_list_tasks(self, req, rp);
      if (req.method == "POST")
        return handle_submit(self, req, rp);
      return method_not_allowed("GET, POST");
    }
    auto& id = parts[1];
    if (auto err = check_task_id(id); !err.empty())
      return void(rp.deliver(json_error(400, err)));
    if (parts.size() == 2) {
      if (req.method != "GET")
        return method_not_allowed("GET");
      self->request(self->state.storage, storage_timeout, caf::get_atom_v, record_kind::task, id)
        .then([=](const record& r) mutable { rp.deliver(json_ok(200, r.json)); },
              [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
      return;
    }
    if (parts.size() == 3 && (parts[2] == "cancel" || parts[2] == "retry")) {
      if (req.method != "POST")
        return method_not_allowed("POST");
      return handle_task_action(self, req, id, parts[2], rp);
    }
    if (parts.size() == 3 && parts[2] == "events") {
      if (req.method != "GET")
        return method_not_allowed("GET");
      record_query q;
      q.kind = record_kind::event;
      std::string err;
      if (!paging(req, q, err))
        return void(rp.deliver(json_error(400, err)));
      q.field = "task_id";
      q.value = id;
      return list_records(self, rp, q, "events");
    }
  }
  rp.deliver(json_error(404, "no such endpoint: " + req.method + " " + req.path
                               + " (see GET /health, GET|POST /tasks, GET /tasks/{id}, "
                                 "POST /tasks/{id}/cancel, POST /tasks/{id}/retry, "
                                 "GET /tasks/{id}/events, GET /audit, GET /metrics)"));
}

gateway_actor::behavior_type gateway_fn(gateway_ptr self, storage_actor storage,
                                        scheduler_actor scheduler, metrics_actor metrics,
                                        gateway_config cfg) {
  self->state.storage = std::move(storage);
  self->state.scheduler = std::move(scheduler);
  self->state.metrics = std::move(metrics);
  self->state.cfg = std::move(cfg);
  return {
    [=](http_atom, const http_request& req) -> caf::result<http_response> {
      auto rp = self->make_response_promise<http_response>();
      route(self, req, rp);
      return rp;
    },
  };
}

} // namespace

http_response json_error(int status, const std::string& message) {
  json body{{"success", false}, {"error", message}};
  return {status, "application/json", canonical(body)};
}

gateway_actor spawn_gateway(caf::actor_system& sys, storage_actor storage,
                            scheduler_actor scheduler, metrics_actor metrics,
                            gateway_config cfg) {
  return sys.spawn([=](gateway_ptr self) { return gateway_fn(self, storage, scheduler, metrics, cfg); });
}

} // namespace orch
