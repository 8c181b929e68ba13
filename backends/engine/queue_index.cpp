#include "backends/engine/queue_index.hpp"

#include "runtime/core/codec.hpp"
#include "runtime/core/node_labels.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

queue_index::ready_key queue_index::key_of(const queue_entry& e) {
  return {-static_cast<int64_t>(e.priority), e.enqueued_at, e.task_id};
}

void queue_index::put(const queue_entry& e) {
  erase(e.task_id);
  entries_.emplace(e.task_id, e);
  if (!e.claimed_by.empty())
    return;
  if (e.not_before == 0)
    ready_.insert(key_of(e));
  else
    delayed_.emplace(e.not_before, e.task_id);
}

void queue_index::erase(const std::string& task_id) {
  auto i = entries_.find(task_id);
  if (i == entries_.end())
    return;
  ready_.erase(key_of(i->second));
  delayed_.erase({i->second.not_before, task_id});
  entries_.erase(i);
}

const queue_entry* queue_index::find(const std::string& task_id) const {
  auto i = entries_.find(task_id);
  return i == entries_.end() ? nullptr : &i->second;
}

claim_plan queue_index::plan(const claim_request& req, const std::set<std::string>& reserved,
                             const task_loader& load) {
  // Delayed entries whose time has come join the ready set.
  while (!delayed_.empty() && delayed_.begin()->first <= req.now) {
    auto id = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    ready_.insert(key_of(entries_.at(id)));
  }
  claim_plan plan;
  auto it = ready_.begin();
  while (it != ready_.end() && plan.tasks.size() < req.limit) {
    auto id = std::get<2>(*it);
    if (reserved.count(id) || !labels_satisfied(entries_.at(id).node_labels, req.labels)) {
      ++it;
      continue;
    }
    task t;
    if (!load(id, t)) {
      it = ready_.erase(it);
      continue;
    }
    auto e = entries_.at(id);
    auto tr = claim_transition(t, e, req, {"scheduler:" + req.worker, req.now});
    plan.tasks.push_back({std::move(t), std::move(e), tr.events.front()});
    plan.batches.push_back(std::move(tr.batch));
    ++it;
  }
  if (!delayed_.empty())
    plan.next_ready = delayed_.begin()->first;
  return plan;
}

write_batch queue_index::renew_batch(const std::string& worker,
                                     const std::vector<std::string>& ids, micros lease_until,
                                     std::vector<std::string>& lost) const {
  write_batch b;
  for (auto& id : ids) {
    auto e = find(id);
    if (!e || e->claimed_by != worker) {
      lost.push_back(id);
      continue;
    }
    auto renewed = *e;
    renewed.lease_until = lease_until;
    b.ops.push_back({record_op::put, to_record(renewed)});
    // Only if the claim is still ours when the write happens.
    b.expect.push_back({precondition::field_in, record_kind::queue, id, "claimed_by", {worker}});
  }
  return b;
}

} // namespace orch
