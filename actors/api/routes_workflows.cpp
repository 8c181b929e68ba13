// Workflows: a graph of tasks submitted as one (validated whole, stored in
// one commit with the workflow's record, all or none), listed, read with its
// status rolled up from its tasks', cancelled as one, and retried (the
// nodes that did not complete run again, the completed ones stay).
#include <memory>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/listing.hpp"
#include "actors/api/record_read.hpp"
#include "actors/api/route.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/task_search.hpp"
#include "runtime/core/workflow_spec.hpp"
#include "runtime/core/workflow_template.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

constexpr uint32_t task_page = 1000;

using tasks_by_id = std::map<std::string, task>;

/// The workflow's tasks (found by their workflow label, a page at a time),
/// then done(tasks) or failed(error).
template <class Done>
void read_tasks(const context& ctx, reply rp, std::string workflow_id,
                std::shared_ptr<tasks_by_id> got, uint64_t offset, Done done) {
  record_query q;
  q.kind = record_kind::task;
  q.search = "label:workflow=" + workflow_id;
  q.limit = task_page;
  q.offset = offset;
  if (auto st = apply_search(q); !st)
    return rp.deliver(internal_error("the workflow's search: " + st.message()));
  ctx.ask_storage(query_atom_v, q)
    .then(guarded("gateway",
                  [=](const record_page& page) mutable {
                    for (auto& r : page.items) {
                      task t;
                      if (decode(r.json, t))
                        got->emplace(t.id, std::move(t));
                    }
                    auto next = offset + page.items.size();
                    if (!page.items.empty() && next < page.total)
                      return read_tasks(ctx, rp, workflow_id, got, next, done);
                    done(*got);
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// Reads the workflow named by the path, then f(workflow).
template <class F>
void with_workflow(const context& ctx, const route_args& args, reply rp, F f) {
  with_record<workflow>(ctx, args.id, rp,
                        json_error(404, "workflow " + args.id
                                          + " does not exist (GET /workflows lists them)"),
                        std::move(f));
}

void show(const context& ctx, reply rp, const workflow& w, int status) {
  read_tasks(ctx, rp, w.id, std::make_shared<tasks_by_id>(), 0,
             [=](const tasks_by_id& tasks) mutable {
               rp.deliver(json_ok(status, workflow_view(w, tasks)));
             });
}

/// Checks a POST /workflows body as a whole and stores it all or none.
void submit_workflow_body(const context& ctx, std::string_view body, const route_args& args,
                          reply rp) {
  auto now = now_us();
  auto plan = parse_workflow(body, now);
  if (!plan)
    return rp.deliver(json_error(400, plan.message()));
  auto& wf = plan->wf;
  wf.owner = principal_of(args);
  rp.audit_as(principal_of(args), audit_action::workflow_submit, "workflow:" + wf.id);
  auto with = workflow_record_batch(wf);
  put(with, to_record(auth::audit_entry({principal_of(args), now}, audit_action::workflow_submit,
                                        "workflow:" + wf.id, "ok",
                                        std::to_string(plan->tasks.size()) + " tasks"
                                          + (wf.name.empty() ? "" : ", " + wf.name))));
  ctx.ask_scheduler(submit_atom_v,
                    submit_batch_request{std::move(plan->tasks), principal_of(args), std::move(with)})
    .then(guarded("gateway",
                  [=](const std::vector<task>& created) mutable {
                    tasks_by_id tasks;
                    for (auto& t : created)
                      tasks.emplace(t.id, t);
                    rp.deliver(json_ok(201, workflow_view(wf, tasks)));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

void submit_workflow(const context& ctx, const http_request& req, const route_args& args,
                     reply rp) {
  submit_workflow_body(ctx, req.body, args, rp);
}

std::string no_templates_text() {
  return "this orchestrator has no workflow templates: start it with --workflow-templates DIR "
         "(e.g. config/workflows)";
}

void list_templates(const context& ctx, const http_request&, const route_args&, reply rp) {
  if (ctx.cfg->workflow_templates.empty())
    return rp.deliver(json_ok(200, R"({"templates":[],"total":0})"));
  auto all = load_workflow_templates(ctx.cfg->workflow_templates);
  if (!all)
    return rp.deliver(json_error(500, all.message()));
  std::string items;
  for (auto& t : *all)
    items += (items.empty() ? "" : ",") + template_summary(t);
  rp.deliver(json_ok(200, "{\"templates\":[" + items + "],\"total\":"
                            + std::to_string(all->size()) + "}"));
}

/// POST /workflows/templates/{template}/run {"params": {...}}: the template's
/// graph with the values filled in, then as POST /workflows.
void run_template(const context& ctx, const http_request& req, const route_args& args,
                  reply rp) {
  rp.audit_as(principal_of(args), audit_action::workflow_submit,
              "workflow-template:" + args.template_name);
  if (ctx.cfg->workflow_templates.empty())
    return rp.deliver(json_error(404, no_templates_text()));
  auto t = load_workflow_template(ctx.cfg->workflow_templates, args.template_name);
  if (!t)
    return rp.deliver(t.code() == errc::not_found ? json_error(404, t.message())
                                                  : json_error(500, t.message() + "; fix the file"));
  std::string params;
  if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return rp.deliver(json_error(400, "send {\"params\": {\"NAME\": \"value\", ...}}"));
    for (auto& [k, v] : body.items())
      if (k != "params")
        return rp.deliver(json_error(400, "unknown field '" + k.substr(0, 40)
                                            + "' (send {\"params\": {...}})"));
    if (auto p = body.find("params"); p != body.end() && !p->is_null())
      params = p->dump();
  }
  auto made = instantiate_template(*t, params);
  if (!made)
    return rp.deliver(json_error(400, "template '" + t->name + "': " + made.message()));
  submit_workflow_body(ctx, *made, args, rp);
}

void list_workflows(const context& ctx, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::workflow;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  list_shown(ctx, rp, q, "workflows", [](const record& r) { return r.json; });
}

void get_workflow(const context& ctx, const http_request&, const route_args& args, reply rp) {
  with_workflow(ctx, args, rp, [=](workflow w) mutable { show(ctx, rp, w, 200); });
}

/// Cancels every task of the workflow not ended yet, then shows it.
void cancel_workflow(const context& ctx, const http_request&, const route_args& args, reply rp) {
  rp.audit_as(principal_of(args), audit_action::workflow_cancel, "workflow:" + args.id);
  with_workflow(ctx, args, rp, [=](workflow w) mutable {
    read_tasks(ctx, rp, w.id, std::make_shared<tasks_by_id>(), 0,
               [=](const tasks_by_id& tasks) mutable {
                 std::vector<std::string> open;
                 for (auto& [id, t] : tasks)
                   if (!is_terminal(t.status))
                     open.push_back(id);
                 if (open.empty())
                   return show(ctx, rp, w, 200);
                 auto left = std::make_shared<size_t>(open.size());
                 auto one_done = [=]() mutable {
                   if (--*left == 0)
                     show(ctx, rp, w, 200);
                 };
                 for (auto& id : open)
                   ctx.ask_scheduler(cancel_atom_v, task_action{id, principal_of(args)})
                     .then([=](const task&) mutable { one_done(); },
                           // Ended meanwhile (a dependency's failure ended it): fine.
                           [=](caf::error&) mutable { one_done(); });
               });
  });
}

/// Retries ids[next..] one after another, in the workflow's order (a node's
/// dependencies before it), so that a dependant is queued again only once
/// what it waits for is: it then waits (Pending) instead of failing again.
void retry_in_order(const context& ctx, reply rp, const route_args& args, workflow w,
                    std::shared_ptr<std::vector<std::string>> ids, size_t next) {
  if (next == ids->size())
    return show(ctx, rp, w, 200);
  ctx.ask_scheduler(retry_atom_v, task_action{(*ids)[next], principal_of(args)})
    .then([=](const task&) mutable { retry_in_order(ctx, rp, args, w, ids, next + 1); },
          [=](caf::error& e) mutable {
            rp.deliver(json_error(409, "retrying task " + (*ids)[next] + " of the workflow: "
                                         + error_text(e) + " (" + std::to_string(next)
                                         + " of its tasks were queued again before it)"));
          });
}

/// Runs the Failed and Cancelled nodes again (with those that failed
/// because a dependency did); the Completed ones stay.
void retry_workflow(const context& ctx, const http_request&, const route_args& args, reply rp) {
  rp.audit_as(principal_of(args), audit_action::workflow_retry, "workflow:" + args.id);
  with_workflow(ctx, args, rp, [=](workflow w) mutable {
    read_tasks(ctx, rp, w.id, std::make_shared<tasks_by_id>(), 0,
               [=](const tasks_by_id& tasks) mutable {
                 auto ids = std::make_shared<std::vector<std::string>>();
                 for (auto& id : workflow_task_ids(w))
                   if (auto t = tasks.find(id); t != tasks.end() && ended_badly(t->second.status))
                     ids->push_back(id);
                 if (ids->empty())
                   return rp.deliver(json_error(409, "workflow " + w.id
                                                       + " has no Failed or Cancelled task to run "
                                                         "again"));
                 retry_in_order(ctx, rp, args, w, ids, 0);
               });
  });
}

} // namespace

std::vector<route> workflow_routes() {
  return {
    {"GET", {"workflows"}, list_workflows, readers},
    {"POST", {"workflows"}, submit_workflow, operators, audit_action::workflow_submit},
    {"GET", {"workflows", "templates"}, list_templates, readers},
    {"POST", {"workflows", "templates", "{template}", "run"}, run_template, operators,
     audit_action::workflow_submit},
    {"GET", {"workflows", "{id}"}, get_workflow, readers},
    {"POST", {"workflows", "{id}", "cancel"}, cancel_workflow, operators,
     audit_action::workflow_cancel},
    {"POST", {"workflows", "{id}", "retry"}, retry_workflow, operators, audit_action::workflow_retry},
  };
}

} // namespace orch::api
