// A task's output: GET /tasks/{id}/output, its stdout (or ?stream=stderr)
// as text with Range paging (the live output so far while it runs on this
// orchestrator's slots), or with ?follow=1 a stream (SSE, or a WebSocket)
// of each attempt's output as it is written, then the task's outcome.
#include <set>

#include "caf/all.hpp"

#include "actors/api/envelope.hpp"
#include "actors/api/output_stream.hpp"
#include "actors/api/route.hpp"
#include "actors/api/task_scope.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/output_text.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

namespace {

struct output_params {
  bool follow = false;
  output_stream which = output_stream::out;
};

result<output_params> parse_output_params(const std::map<std::string, std::string>& query) {
  output_params p;
  for (auto& [name, value] : query) {
    if (name == "follow") {
      if (value == "1" || value == "true")
        p.follow = true;
      else if (value != "0" && value != "false")
        return invalid_input("follow must be 1 or 0 (true or false)");
    } else if (name == "stream") {
      if (value == "stderr")
        p.which = output_stream::err;
      else if (value != "stdout")
        return invalid_input("stream must be stdout or stderr");
    } else {
      return invalid_input("unknown parameter '" + name.substr(0, 64)
                           + "' (GET /tasks/{id}/output takes follow and stream)");
    }
  }
  if (p.follow && query.count("stream"))
    return invalid_input("stream= is for the stored text; a follower gets both streams, each "
                         "piece named by its stream");
  return p;
}

/// `text` whole (200) or the Range asked for (206; 416 if it cannot be).
http_response text_answer(const std::string& text, const std::string& range, const task& t) {
  auto r = parse_byte_range(range, text.size());
  if (!r) {
    auto resp = json_error(416, r.message());
    resp.headers["Content-Range"] = "bytes */" + std::to_string(text.size());
    return resp;
  }
  http_response resp{200, "text/plain; charset=utf-8"};
  resp.headers["Accept-Ranges"] = "bytes";
  // A client paging through a running task's output knows to come back.
  resp.headers["X-Task-Status"] = to_string(t.status);
  if (!*r) {
    resp.body = text;
    return resp;
  }
  auto [first, last] = **r;
  resp.status = 206;
  resp.body = text.substr(first, last - first + 1);
  resp.headers["Content-Range"] = "bytes " + std::to_string(first) + "-" + std::to_string(last)
                                  + "/" + std::to_string(text.size());
  return resp;
}

void follow(const context& ctx, const task& t, reply rp) {
  output_stream_config cfg;
  cfg.task_id = t.id;
  cfg.scheduler = ctx.peers->scheduler;
  cfg.storage = ctx.peers->storage;
  cfg.events = ctx.peers->events;
  cfg.storage_timeout = ctx.cfg->storage_timeout;
  cfg.keepalive = ctx.cfg->stream_keepalive;
  auto* sys = &ctx.self->system();
  rp.deliver(event_stream_answer([sys, cfg = std::move(cfg)](std::shared_ptr<http_stream> out) {
    spawn_output_stream(*sys, std::move(out), cfg);
  }));
}

void task_output(const context& ctx, const http_request& req, const route_args& args, reply rp) {
  auto params = parse_output_params(req.query);
  if (!params)
    return rp.deliver(json_error(400, params.message()));
  auto p = *params;
  auto range = req.range;
  ctx.ask_storage(caf::get_atom_v, record_kind::task, args.id)
    .then(
      guarded("gateway",
              [=](const record& r) mutable {
                task t;
                if (auto ok = decode(r.json, t); !ok)
                  return rp.deliver(internal_error("task " + args.id + ": " + ok.message()));
                if (!reaches(args, t))
                  return rp.deliver(not_own_child(calling_task(args), t.id));
                if (p.follow)
                  return follow(ctx, t, rp);
                auto stored = p.which == output_stream::out ? t.output : t.error_output;
                if (t.status != task_status::running)
                  return rp.deliver(text_answer(stored, range, t));
                // Running here: what it has written so far.
                ctx.ask_scheduler(output_atom_v, t.id)
                  .then(
                    [=](const output_tap& tap) mutable {
                      rp.deliver(text_answer(tap.live ? tap.live->text(p.which) : stored, range, t));
                    },
                    [=](caf::error&) mutable { rp.deliver(text_answer(stored, range, t)); });
              }),
      [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

} // namespace

std::vector<route> output_routes() {
  return {
    {"GET", {"tasks", "{id}", "output"}, task_output, readers, nullptr, false, true, true},
  };
}

} // namespace orch::api
