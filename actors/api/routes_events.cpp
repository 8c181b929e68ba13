// The live event stream: GET /events as Server-Sent Events (curl -N, or a
// browser's EventSource) or, asked with `Upgrade: websocket`, as a WebSocket
// (the platform makes the answer one), every task state change and node
// event as it commits, filtered, and resumable from the stored events with
// Last-Event-ID or ?after=.
#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/event_stream.hpp"
#include "actors/api/route.hpp"
#include "actors/api/task_scope.hpp"
#include "runtime/core/event_filter.hpp"

namespace orch::api {

namespace {

/// The most tasks a running task's token may follow in one stream: each is
/// read to check that it is the task's child.
constexpr size_t max_followed_children = 64;

void events(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto filter = parse_event_filter(req.query, req.last_event_id);
  if (!filter)
    return rp.deliver(json_error(400, filter.message()));
  if (!calling_task(args).empty()
      && (filter->tasks.empty() || filter->tasks.size() > max_followed_children))
    return rp.deliver(json_error(
      403, "a running task's token follows only its own children: name them with ?task= (1 to "
             + std::to_string(max_followed_children) + " ids)"));
  event_stream_config cfg;
  cfg.events = ctx.peers->events;
  cfg.storage = ctx.peers->storage;
  cfg.metrics = ctx.peers->metrics;
  cfg.filter = std::move(*filter);
  cfg.storage_timeout = ctx.cfg->storage_timeout;
  cfg.keepalive = ctx.cfg->stream_keepalive;
  auto* sys = &ctx.self->system();
  std::vector<std::string> followed{cfg.filter.tasks.begin(), cfg.filter.tasks.end()};
  when_reached(ctx, args, std::move(followed), rp, [=]() mutable {
    rp.deliver(event_stream_answer([sys, cfg](std::shared_ptr<http_stream> out) {
      spawn_event_stream(*sys, std::move(out), cfg);
    }));
  });
}

} // namespace

std::vector<route> event_routes() {
  return {
    {"GET", {"events"}, events, readers, nullptr, false, true, true},
  };
}

} // namespace orch::api
