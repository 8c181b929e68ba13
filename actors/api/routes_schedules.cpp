// Recurring schedules: list, read, create, change (pause, resume, a new
// cron...) and delete them. Each change is stored with its audit record in
// one commit and told to the schedules actor, which fires them
// (actors/schedules.hpp); the answer shows the schedule's next firings.
#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/listing.hpp"
#include "actors/api/record_read.hpp"
#include "actors/api/route.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/schedule_spec.hpp"
#include "runtime/core/workflow_spec.hpp"
#include "runtime/core/workflow_template.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

http_response no_such_schedule(const std::string& name) {
  return json_error(404, "schedule '" + name + "' does not exist (GET /schedules lists them)");
}

audit_record change_record(const route_args& args, const char* action, const std::string& name,
                           const std::string& details, micros now) {
  return auth::audit_entry({principal_of(args), now}, action, "schedule:" + name, "ok", details);
}

/// Commits `b`, tells the schedules actor, and answers with `shown`; a
/// conflict goes to `on_conflict`.
template <class OnConflict>
void store(const context& ctx, reply rp, write_batch b, const schedule& shown, int status,
           OnConflict on_conflict) {
  ctx.ask_storage(commit_atom_v, std::move(b))
    .then(guarded("gateway",
                  [=](uint64_t) mutable {
                    if (ctx.peers->schedules)
                      caf::anon_send(ctx.peers->schedules, schedule_changed_atom_v, shown.name);
                    rp.deliver(json_ok(status, schedule_view(shown)));
                  }),
          [=](caf::error& e) mutable {
            if (error_code(e) == errc::conflict)
              return on_conflict();
            rp.deliver(from_error(e));
          });
}

/// Reads the schedule named in the path, then calls f(schedule).
template <class F>
void with_schedule(const context& ctx, const route_args& args, reply rp, F f) {
  with_record<schedule>(ctx, args.schedule, rp, no_such_schedule(args.schedule), std::move(f));
}

void list_schedules(const context& ctx, const http_request& req, const route_args&, reply rp) {
  record_query q;
  q.kind = record_kind::schedule;
  if (auto st = paging_params(req.query, q); !st)
    return rp.deliver(json_error(400, st.message()));
  list_shown(ctx, rp, q, "schedules", [](const record& r) {
    schedule s;
    return decode(r.json, s) ? schedule_view(s) : std::string{};
  });
}

void get_schedule(const context& ctx, const http_request&, const route_args& args, reply rp) {
  with_schedule(ctx, args, rp, [=](schedule s) mutable { rp.deliver(json_ok(200, schedule_view(s))); });
}

/// A schedule whose workflow names a template: the template is here and
/// makes a valid workflow of its params (checked again at each firing, which
/// is skipped, saying why, if the template changed so that it no longer does).
status check_template(const context& ctx, const schedule& s) {
  if (!is_template_reference(s.workflow))
    return {};
  auto body = resolve_workflow(s.workflow, ctx.cfg->workflow_templates);
  if (!body)
    return {errc::invalid, "workflow: " + body.message()};
  if (auto w = parse_workflow(*body, 0); !w)
    return {errc::invalid, "workflow: what the template makes is not a valid workflow: "
                             + w.message()};
  return {};
}

void create_schedule(const context& ctx, const http_request& req, const route_args& args,
                     reply rp) {
  auto now = now_us();
  auto s = parse_new_schedule(req.body, now);
  if (!s)
    return rp.deliver(json_error(400, s.message()));
  if (auto st = check_template(ctx, *s); !st)
    return rp.deliver(json_error(400, st.message()));
  rp.audit_as(principal_of(args), audit_action::schedule_create, "schedule:" + s->name);
  s->owner = principal_of(args);
  write_batch b;
  b.expect.push_back({precondition::absent, record_kind::schedule, s->name, {}, {}});
  put(b, to_record(*s));
  put(b, to_record(change_record(args, audit_action::schedule_create, s->name,
                                 "cron '" + s->cron + "' in " + s->timezone, now)));
  store(ctx, rp, std::move(b), *s, 201, [=, name = s->name]() mutable {
    rp.deliver(json_error(409, "a schedule '" + name + "' exists already (PATCH changes it)"));
  });
}

/// A firing advances the schedule too: a change that meets one is made
/// again on what is stored now, a few times, before it gives up.
constexpr int change_tries = 5;

void try_change(const context& ctx, const route_args& args, reply rp, std::string body,
                int tries_left) {
  with_schedule(ctx, args, rp, [=](schedule s) mutable {
    auto now = now_us();
    auto revision = s.revision;
    bool was_paused = s.paused;
    auto workflow_before = s.workflow;
    if (auto st = apply_schedule_patch(s, body, now); !st)
      return rp.deliver(json_error(400, st.message()));
    // Only a new workflow is checked: a schedule whose template changed
    // under it can still be paused or moved.
    if (s.workflow != workflow_before)
      if (auto st = check_template(ctx, s); !st)
        return rp.deliver(json_error(400, st.message()));
    ++s.revision;
    write_batch b;
    b.expect.push_back(expect_revision(record_kind::schedule, s.name, revision));
    put(b, to_record(s));
    std::string what = s.paused == was_paused ? "changed" : s.paused ? "paused" : "resumed";
    put(b, to_record(change_record(args, audit_action::schedule_update, s.name, what, now)));
    store(ctx, rp, std::move(b), s, 200, [=]() mutable {
      if (tries_left > 1)
        return try_change(ctx, args, rp, body, tries_left - 1);
      rp.deliver(json_error(409, "schedule '" + args.schedule
                                   + "' kept changing meanwhile; read it and try again"));
    });
  });
}

void change_schedule(const context& ctx, const http_request& req, const route_args& args,
                     reply rp) {
  rp.audit_as(principal_of(args), audit_action::schedule_update, "schedule:" + args.schedule);
  try_change(ctx, args, rp, req.body, change_tries);
}

void delete_schedule(const context& ctx, const http_request&, const route_args& args, reply rp) {
  rp.audit_as(principal_of(args), audit_action::schedule_delete, "schedule:" + args.schedule);
  with_schedule(ctx, args, rp, [=](schedule s) mutable {
    auto now = now_us();
    // Whatever revision it has now: a firing that commits first stays one
    // (its task exists), one that comes later finds no schedule to advance.
    write_batch b;
    b.expect.push_back({precondition::present, record_kind::schedule, s.name, {}, {}});
    b.ops.push_back({record_op::remove, {record_kind::schedule, s.name, {}}});
    put(b, to_record(change_record(args, audit_action::schedule_delete, s.name,
                                   "after " + std::to_string(s.firings) + " firing(s)", now)));
    s.paused = true;  // shown without next firings: there are none
    store(ctx, rp, std::move(b), s, 200, [=]() mutable { rp.deliver(no_such_schedule(s.name)); });
  });
}

} // namespace

std::vector<route> schedule_routes() {
  return {
    {"GET", {"schedules"}, list_schedules, readers},
    {"POST", {"schedules"}, create_schedule, operators, audit_action::schedule_create},
    {"GET", {"schedules", "{schedule}"}, get_schedule, readers},
    {"PATCH", {"schedules", "{schedule}"}, change_schedule, operators, audit_action::schedule_update},
    {"DELETE", {"schedules", "{schedule}"}, delete_schedule, operators,
     audit_action::schedule_delete},
  };
}

} // namespace orch::api
