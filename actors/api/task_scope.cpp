#include "actors/api/task_scope.hpp"

#include <memory>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

/// Reads ids[next..] one after the other; then(), or the first refusal.
void check_from(const context& ctx, route_args args, std::shared_ptr<std::vector<std::string>> ids,
                size_t next, reply rp, std::function<void()> then) {
  if (next == ids->size())
    return then();
  auto id = (*ids)[next];
  ctx.ask_storage(caf::get_atom_v, record_kind::task, id)
    .then(guarded("gateway",
                  [=](const record& r) mutable {
                    task t;
                    if (auto st = decode(r.json, t); !st)
                      return rp.deliver(
                        json_error(500, "task " + id + " cannot be read: " + st.message()));
                    if (!reaches(args, t))
                      return rp.deliver(not_own_child(calling_task(args), id));
                    check_from(ctx, args, ids, next + 1, rp, then);
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

} // namespace

http_response not_own_child(const std::string& caller, const std::string& id) {
  return json_error(403, "task " + id + " is not a child of " + caller
                           + ": a running task's token (ORCHESTRATOR_TOKEN) reaches only the "
                             "task itself and the children it submitted");
}

bool reaches(const route_args& args, const task& t) {
  auto& caller = calling_task(args);
  return caller.empty() || t.id == caller || t.parent == caller;
}

void when_reached(const context& ctx, const route_args& args, std::vector<std::string> ids,
                  reply rp, std::function<void()> then) {
  if (calling_task(args).empty())
    return then();
  check_from(ctx, args, std::make_shared<std::vector<std::string>>(std::move(ids)), 0, rp,
             std::move(then));
}

} // namespace orch::api
