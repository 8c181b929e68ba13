// Claims on the server backend, where several processes share the queue.
// A claim takes two steps: the atomic claim of the queue entries (one
// conditional UPDATE with a lease: two claimers never both get an entry),
// which also reads their tasks, then, per entry, the task's start as one
// batch with a precondition on the task's revision. An entry whose task
// changed meanwhile (cancelled) is given back.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "caf/all.hpp"


#include "backends/surrealdb/surreal_actor.hpp"
#include "backends/surrealdb/surreal_queue_layout.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/transitions.hpp"

namespace orch::surreal {

namespace {

/// The claim transaction's last result, {got: [entries], next: [µs]}.
const json& claim_reply(const query_outcome& o) {
  static const json none = json::object();
  return !o.results.empty() && o.results.back().is_object() ? o.results.back() : none;
}

std::vector<queue_entry> entries_of(const query_outcome& o) {
  std::vector<queue_entry> out;
  auto& reply = claim_reply(o);
  auto got = reply.find("got");
  if (got != reply.end() && got->is_array())
    for (auto& doc : *got) {
      queue_entry e;
      if (doc.is_object() && decode(to_record(record_kind::queue, doc).json, e))
        out.push_back(std::move(e));
    }
  return out;
}

/// The claimed entries' tasks, read in the claim transaction.
std::map<std::string, task> tasks_of(const query_outcome& o) {
  std::map<std::string, task> out;
  auto& reply = claim_reply(o);
  auto tasks = reply.find("tasks");
  if (tasks != reply.end() && tasks->is_array())
    for (auto& doc : *tasks) {
      task t;
      if (doc.is_object() && decode(to_record(record_kind::task, doc).json, t))
        out.emplace(t.id, std::move(t));
    }
  return out;
}

/// Step two: start each claimed task with one batch (in claim order); the
/// result goes out once every batch has answered.
void start_claimed(pointer self, const claim_request& req, std::vector<queue_entry> entries,
                   std::map<std::string, task> tasks, claim_result res,
                   caf::typed_response_promise<claim_result> rp) {
  struct gather {
    size_t left;
    claim_result res;
    std::vector<std::optional<claimed_task>> slots;
    caf::typed_response_promise<claim_result> rp;
  };
  auto g = std::make_shared<gather>(gather{entries.size(), std::move(res), {}, rp});
  g->slots.resize(entries.size());
  auto finish_one = [g] {
    if (--g->left > 0)
      return;
    for (auto& s : g->slots)  // keep the claim order
      if (s)
        g->res.tasks.push_back(std::move(*s));
    g->rp.deliver(std::move(g->res));
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    auto it = tasks.find(e.task_id);
    if (it == tasks.end() || it->second.status != task_status::queued) {
      // Its task is gone or no longer waiting: nothing to run.
      release(self, e.task_id, req.worker);
      finish_one();
      continue;
    }
    auto t = it->second;
    auto entry = e;
    // The start happens now, not when the claim was asked for: the task may
    // have been created in between (by this process or another), and its
    // history must not start before it was created.
    auto when = std::max({req.now, now_us(), t.created_at + 1});
    auto tr = claim_transition(t, entry, req, {"scheduler:" + req.worker, when});
    auto st = batch_statement(tr.batch);
    if (!st) {
      release(self, e.task_id, req.worker);
      finish_one();
      continue;
    }
    claimed_task ct{t, entry, tr.events.front()};
    run(self, std::move(*st), [self, g, i, ct, req, finish_one](query_outcome o) mutable {
      if (o.st) {
        if (self->state.feed)
          self->send(self->state.feed, publish_atom_v, std::vector<task_event>{ct.started_event});
        g->slots[i] = std::move(ct);
      } else {
        release(self, ct.claimed.id, req.worker);
      }
      finish_one();
    });
  }
}

} // namespace

void claim(pointer self, const claim_request& req, caf::typed_response_promise<claim_result> rp) {
  if (self->state.opts.read_only)
    return void(rp.deliver(refusal(self->state.opts)));
  run(self, claim_statement(req), [self, req, rp](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    claim_result res;
    auto& reply = claim_reply(o);
    auto next = reply.find("next");
    if (next != reply.end() && next->is_array() && !next->empty()
        && (*next)[0].is_number_integer())
      res.next_ready = (*next)[0].get<micros>();
    auto entries = entries_of(o);
    if (entries.empty())
      return void(rp.deliver(std::move(res)));
    start_claimed(self, req, std::move(entries), tasks_of(o), std::move(res), rp);
  });
}

void release(pointer self, const std::string& task_id, const std::string& worker) {
  run(self, release_statement(task_id, worker), [](query_outcome) {});
}

void renew(pointer self, const renew_request& req,
           caf::typed_response_promise<std::vector<std::string>> rp) {
  if (self->state.opts.read_only)
    return void(rp.deliver(refusal(self->state.opts)));
  if (req.task_ids.empty())
    return void(rp.deliver(std::vector<std::string>{}));
  run(self, renew_statement(req.worker, req.task_ids, req.until),
      [ids = req.task_ids, rp](query_outcome o) mutable {
        if (deliver_failure(rp, o))
          return;
        std::set<std::string> renewed;
        if (!o.results.empty() && o.results[0].is_array())
          for (auto& v : o.results[0])
            if (v.is_string())
              renewed.insert(v.get<std::string>());
        std::vector<std::string> lost;
        for (auto& id : ids)
          if (!renewed.count(id))
            lost.push_back(id);
        rp.deliver(std::move(lost));
      });
}

} // namespace orch::surreal
