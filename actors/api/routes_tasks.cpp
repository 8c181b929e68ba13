// Tasks: list (paged, by status), submit one or a batch, read one, cancel,
// retry, and its events. Submissions and actions go to the scheduler,
// reads to the storage.
#include <optional>

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/listing.hpp"
#include "actors/api/route.hpp"
#include "actors/api/task_scope.hpp"
#include "runtime/core/batch_submission.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/submission.hpp"
#include "runtime/core/task_search.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

using nlohmann::json;

void list_tasks(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  if (auto& caller = calling_task(args); !caller.empty())
    if (auto i = req.query.find("parent"); i == req.query.end() || i->second != caller)
      return rp.deliver(json_error(403, "a running task's token lists only its own children: "
                                        "GET /tasks?parent=" + caller));
  record_query q;
  q.kind = record_kind::task;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  if (auto i = req.query.find("status"); i != req.query.end() && !i->second.empty()) {
    task_status s;
    if (!parse_status(i->second, s))
      return rp.deliver(json_error(400, "unknown status '" + i->second.substr(0, 40)
                                          + "' (expected one of Pending, Queued, Running, "
                                            "Completed, Failed, Cancelled)"));
    q.field = "status";
    q.value = to_string(s);
  }
  if (auto i = req.query.find("depends_on"); i != req.query.end() && !i->second.empty()) {
    // The dependants of a task (a graph's edges the other way).
    if (!q.field.empty())
      return rp.deliver(json_error(400, "give status= or depends_on=, not both (status: is a "
                                        "search term too: q=status:failed)"));
    if (!is_uuid(i->second))
      return rp.deliver(json_error(400, "depends_on '" + i->second.substr(0, 40)
                                          + "' is not a task id (a UUID)"));
    q.field = "dependencies";
    q.value = i->second;
  }
  if (auto i = req.query.find("parent"); i != req.query.end() && !i->second.empty()) {
    // A task's children carry the label parent=<id> (set from their field).
    if (!is_uuid(i->second))
      return rp.deliver(json_error(400, "parent '" + i->second.substr(0, 40)
                                          + "' is not a task id (a UUID)"));
    q.search = "label:parent=" + i->second;
  }
  if (auto i = req.query.find("q"); i != req.query.end() && !i->second.empty())
    q.search += (q.search.empty() ? "" : " ") + i->second;
  if (!q.search.empty()) {
    // Checked here so a bad search is refused before the storage is asked.
    if (auto s = apply_search(q); !s)
      return rp.deliver(json_error(400, s.message()));
  }
  list_records(ctx, rp, q, "tasks", ctx.peers->storage);
}

/// A running task's token submits its own children: `parent` is the task
/// (filled in when not given); another parent is refused.
std::optional<http_response> adopt(const route_args& args, task& t) {
  auto& caller = calling_task(args);
  if (caller.empty())
    return std::nullopt;
  if (t.parent.empty())
    make_child(t, caller);
  if (t.parent != caller)
    return json_error(403, "a running task's token submits only its own children: parent must be "
                             + caller + " (or left out)");
  return std::nullopt;
}

void submit(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto t = parse_submission(req.body);
  if (!t)
    return rp.deliver(json_error(400, t.message()));
  if (auto refused = adopt(args, *t))
    return rp.deliver(*refused);
  ctx.ask_scheduler(submit_atom_v, submit_request{std::move(*t), principal_of(args), {}})
    .then(guarded("gateway",
                  [=](const task& created) mutable { rp.deliver(json_ok(201, encode(created))); }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// POST /tasks/batch {"tasks": [...]}: up to max_batch_tasks tasks stored in
/// one durable commit, all or none; a refusal lists every bad item with its
/// index, so a client mends them all in one go.
void submit_batch(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto b = parse_batch_submission(req.body);
  if (!b.problem)
    return rp.deliver(json_error(400, b.problem.message()));
  if (!b.errors.empty()) {
    json errors = json::array();
    for (auto& e : b.errors)
      errors.push_back({{"index", e.index}, {"error", e.message}});
    auto total = b.tasks.size() + b.errors.size();
    json body{{"success", false},
              {"error", std::to_string(b.errors.size()) + " of the batch's " + std::to_string(total)
                          + " tasks are invalid (see 'errors'); nothing was stored"},
              {"errors", std::move(errors)}};
    return rp.deliver(http_response{400, "application/json", canonical(body)});
  }
  for (auto& t : b.tasks)
    if (auto refused = adopt(args, t))
      return rp.deliver(*refused);
  ctx.ask_scheduler(submit_atom_v, submit_batch_request{std::move(b.tasks), principal_of(args), {}})
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

void get_task(const context& ctx, const http_request&, const route_args& args, reply rp) {
  ctx.ask_storage(caf::get_atom_v, record_kind::task, args.id)
    .then(guarded("gateway",
                  [=](const record& r) mutable {
                    if (!calling_task(args).empty()) {
                      task t;
                      if (!decode(r.json, t) || !reaches(args, t))
                        return rp.deliver(not_own_child(calling_task(args), args.id));
                    }
                    rp.deliver(json_ok(200, r.json));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

template <class Atom>
void task_action(const context& ctx, const http_request&, const route_args& args, reply rp) {
  when_reached(ctx, args, {args.id}, rp, [=] {
    ctx.ask_scheduler(Atom{}, orch::task_action{args.id, principal_of(args)})
      .then(guarded("gateway", [=](const task& t) mutable { rp.deliver(json_ok(200, encode(t))); }),
            [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
  });
}

void task_events(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  record_query q;
  q.kind = record_kind::event;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  q.field = "task_id";
  q.value = args.id;
  when_reached(ctx, args, {args.id}, rp,
               [=] { list_records(ctx, rp, q, "events", ctx.peers->storage); });
}

} // namespace

std::vector<route> task_routes() {
  return {
    // The last `true`: a running task's token may call it, for its children.
    {"GET", {"tasks"}, list_tasks, readers, nullptr, false, false, true},
    {"POST", {"tasks"}, submit, operators, "task.submit", false, false, true},
    {"POST", {"tasks", "batch"}, submit_batch, operators, "task.submit_batch", false, false, true},
    {"GET", {"tasks", "{id}"}, get_task, readers, nullptr, false, false, true},
    {"POST", {"tasks", "{id}", "cancel"}, task_action<cancel_atom>, operators, "task.cancel", false,
     false, true},
    {"POST", {"tasks", "{id}", "retry"}, task_action<retry_atom>, operators, "task.retry", false,
     false, true},
    {"GET", {"tasks", "{id}", "events"}, task_events, readers, nullptr, false, false, true},
  };
}

} // namespace orch::api
