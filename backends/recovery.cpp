#include "backends/recovery.hpp"

#include "runtime/core/codec.hpp"
#include "backends/storage_client.hpp"

namespace orch {

namespace {

constexpr uint32_t page_size = 500;

precondition expect_revision(const task& t) {
  return {precondition::field_in, record_kind::task, t.id, "revision",
          {std::to_string(t.revision)}};
}

queue_entry entry_for(const task& t, micros now) {
  queue_entry e;
  e.task_id = t.id;
  e.priority = t.priority;
  e.enqueued_at = now;
  e.not_before = t.not_before;
  e.attempt = t.attempts;
  if (t.status == task_status::running) {
    e.claimed_by = lost_claim_holder;
    e.lease_until = now;
  }
  return e;
}

} // namespace

std::vector<std::string> reconcile_queue(caf::actor_system& sys, storage_actor storage) {
  storage_client db{sys, storage};
  std::vector<std::string> notes;
  auto now = now_us();
  auto apply = [&](write_batch b, const std::string& what) {
    // A conflict means the state changed meanwhile: nothing to repair.
    if (db.commit(b).ok())
      notes.push_back("repaired: " + what);
  };
  // Queue entries whose task is gone or finished, or whose Running task
  // never got its claim written.
  std::string after;
  for (;;) {
    auto page = db.scan(record_kind::queue, after, page_size);
    if (!page.ok() || page.value().empty())
      break;
    after = page.value().back().key;
    for (auto& r : page.value()) {
      queue_entry e;
      if (!decode(r.json, e))
        continue;
      auto got = db.get(record_kind::task, e.task_id);
      task t;
      write_batch b;
      if (!got.ok() && got.code() == errc::not_found) {
        b.ops.push_back({record_op::remove, {record_kind::queue, e.task_id, {}}});
        b.expect.push_back({precondition::absent, record_kind::task, e.task_id, {}, {}});
        apply(b, "removed the queue entry of missing task " + e.task_id);
      } else if (got.ok() && decode(got.value().json, t)) {
        if (is_terminal(t.status)) {
          b.ops.push_back({record_op::remove, {record_kind::queue, e.task_id, {}}});
          b.expect.push_back(expect_revision(t));
          apply(b, "removed the queue entry of " + std::string{to_string(t.status)} + " task "
                     + t.id);
        } else if (t.status == task_status::running && e.claimed_by.empty()) {
          b.ops.push_back({record_op::put, to_record(entry_for(t, now))});
          b.expect.push_back(expect_revision(t));
          b.expect.push_back({precondition::field_in, record_kind::queue, t.id, "claimed_by", {""}});
          apply(b, "marked the queue entry of Running task " + t.id
                     + " as claimed by a lost process");
        }
      }
    }
  }
  // Queued and Running tasks without a queue entry.
  for (auto status : {task_status::queued, task_status::running}) {
    record_query q;
    q.kind = record_kind::task;
    q.field = "status";
    q.value = to_string(status);
    q.limit = page_size;
    for (q.offset = 0;; q.offset += page_size) {
      auto page = db.query(q);
      if (!page.ok() || page.value().items.empty())
        break;
      for (auto& r : page.value().items) {
        task t;
        if (!decode(r.json, t))
          continue;
        if (db.get(record_kind::queue, t.id).code() != errc::not_found)
          continue;
        write_batch b;
        b.ops.push_back({record_op::put, to_record(entry_for(t, now))});
        b.expect.push_back(expect_revision(t));
        b.expect.push_back({precondition::absent, record_kind::queue, t.id, {}, {}});
        apply(b, "recreated the missing queue entry of " + std::string{to_string(status)}
                   + " task " + t.id);
      }
      if (page.value().items.size() < page_size)
        break;
    }
  }
  return notes;
}

} // namespace orch
