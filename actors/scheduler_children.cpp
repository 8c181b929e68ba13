// Child tasks: a task submitted with `parent` (a running script fanning out
// through the API) is labelled parent=<id>, so every backend's search finds
// a task's children. When a parent is cancelled or fails, its children that
// have not ended are cancelled, and theirs in turn; a Completed parent
// leaves its children to run (it may have meant them to outlive it).
#include "caf/all.hpp"

#include "actors/scheduler_impl.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/task_search.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

/// Children cancelled by one look; more are rare (a workflow has at most
/// 10,000 nodes) and their own parent's next end would not come, so it is said.
constexpr uint32_t children_page = 10'000;

} // namespace

void scheduler_impl::cancel_children(const std::string& parent_id, const std::string& principal) {
  record_query q;
  q.kind = record_kind::task;
  q.search = "label:parent=" + parent_id + " " + std::string{unfinished_search_term};
  q.limit = children_page;
  if (auto st = apply_search(q); !st)
    return log_error("scheduler", "looking up the children of " + parent_id + ": " + st.message());
  request(storage_, cfg_.storage_timeout, query_atom_v, q)
    .then(guarded("scheduler",
                  [=, this](const record_page& page) {
                    if (page.total > page.items.size())
                      log_warn("scheduler", "task " + parent_id + " has "
                                              + std::to_string(page.total)
                                              + " children still to end; cancelling the first "
                                              + std::to_string(page.items.size()));
                    // Through the cancel request, as a client's: its commit,
                    // its kill of a running attempt, its own children next.
                    for (auto& r : page.items)
                      caf::anon_send(caf::actor_cast<scheduler_actor>(this), cancel_atom_v,
                                     task_action{r.key, principal});
                  }),
          [=, this](caf::error& e) {
            log_warn("scheduler", "looking up the children of " + parent_id + " failed: "
                                    + error_text(e) + "; they go on running");
          });
}

/// A child stored just after its parent ended badly (the parent's look at
/// its children came first): cancelled now. Each commits before it reads
/// the other, so one of the two looks sees both.
void scheduler_impl::cancel_if_orphaned(const task& child) {
  request(storage_, cfg_.storage_timeout, caf::get_atom_v, record_kind::task, child.parent)
    .then(guarded("scheduler",
                  [=, this](const record& r) {
                    task parent;
                    if (!decode(r.json, parent))
                      return;
                    if (ended_badly(parent.status))
                      caf::anon_send(caf::actor_cast<scheduler_actor>(this), cancel_atom_v,
                                     task_action{child.id, self_principal()});
                  }),
          [](caf::error&) {
            // Gone or unreachable: the parent's own end looks at its children.
          });
}

} // namespace orch
