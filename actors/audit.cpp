#include "actors/audit.hpp"

#include <map>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr const char* records_metric = "orchestrator_audit_records_total";
constexpr const char* unstored_metric = "orchestrator_audit_unstored_total";

/// A record waiting for its commit, and who waits for it.
struct waiting_record {
  audit_record rec;
  caf::typed_response_promise<bool> stored;
};

struct audit_state {
  audit_state() = default;  // not an aggregate (see the metrics actor's state)
  storage_actor storage;
  std::shared_ptr<metric_registry> figures;
  audit_config cfg;
  std::vector<waiting_record> waiting;       // for the next commit
  bool committing = false;
  // principal -> (start of its minute, refusals in it)
  std::map<std::string, std::pair<micros, uint32_t>> anonymous;
  static inline const char* name = "audit";
};

using audit_ptr = audit_actor::stateful_pointer<audit_state>;

std::string labels(const std::string& action, const std::string& outcome) {
  return "action=\"" + action + "\",outcome=\"" + outcome + "\"";
}

/// Within its address's budget? Only principals without a valid token
/// (auth::anonymous_principal) have one.
bool within_budget(audit_state& st, const std::string& principal) {
  if (!auth::is_anonymous(principal))
    return true;
  auto now = now_us();
  if (st.anonymous.size() > 10000)
    st.anonymous.clear();
  auto& [since, count] = st.anonymous[principal];
  if (now - since > 60 * us_per_second) {
    if (count > st.cfg.anonymous_per_minute)
      log_warn("audit", std::to_string(count - st.cfg.anonymous_per_minute) + " refusals of "
                          + principal + " in a minute were counted, not stored one by one");
    since = now;
    count = 0;
  }
  return ++count <= st.cfg.anonymous_per_minute;
}

/// Commits what is waiting, if no commit is out; what arrives meanwhile
/// goes into the next one.
void commit_waiting(audit_ptr self) {
  auto& st = self->state;
  if (st.committing || st.waiting.empty())
    return;
  write_batch b;
  for (auto& w : st.waiting)
    put(b, to_record(w.rec));
  auto batch = std::make_shared<std::vector<waiting_record>>(std::move(st.waiting));
  st.waiting.clear();
  st.committing = true;
  auto finish = [self, batch](bool stored) {
    auto& s = self->state;
    s.committing = false;
    for (auto& w : *batch) {
      if (stored)
        s.figures->count(records_metric, labels(w.rec.action, w.rec.outcome));
      w.stored.deliver(stored);
    }
    if (!stored)
      s.figures->count(unstored_metric, "reason=\"storage\"", static_cast<double>(batch->size()));
    commit_waiting(self);
  };
  self->request(st.storage, st.cfg.storage_timeout, commit_atom_v, std::move(b))
    .then(guarded("audit", [=](uint64_t) { finish(true); }),
          guarded("audit", [=](caf::error& e) {
            // The refusals were answered already; when storage is what
            // failed their records may not be stored, and that is said.
            log_warn("audit", std::to_string(batch->size())
                                + " audit record(s) not stored: " + error_text(e));
            finish(false);
          }));
}

audit_actor::behavior_type audit_fn(audit_ptr self, storage_actor storage,
                                    std::shared_ptr<metric_registry> figures, audit_config cfg) {
  self->state.storage = std::move(storage);
  self->state.figures = std::move(figures);
  self->state.cfg = cfg;
  return {
    guarded("audit", [=](audit_atom, audit_record& a) -> caf::result<bool> {
      auto& st = self->state;
      if (!within_budget(st, a.principal)) {
        st.figures->count(unstored_metric, "reason=\"anonymous_budget\"");
        return false;
      }
      if (st.waiting.size() >= st.cfg.max_waiting) {
        log_warn("audit", "audit records arrive faster than they are stored; " + a.action
                            + " by " + a.principal + " was not stored");
        st.figures->count(unstored_metric, "reason=\"backlog\"");
        return false;
      }
      auto rp = self->make_response_promise<bool>();
      st.waiting.push_back({std::move(a), rp});
      commit_waiting(self);
      return rp;
    }),
    [=](query_atom, record_query& q) -> caf::result<record_page> {
      if (q.kind != record_kind::audit)
        return make_error(errc::invalid, "the audit actor reads audit records only");
      return self->delegate(self->state.storage, query_atom_v, std::move(q));
    },
  };
}

} // namespace

audit_actor spawn_audit(caf::actor_system& sys, storage_actor storage,
                        std::shared_ptr<metric_registry> figures, audit_config cfg) {
  return sys.spawn([=](audit_ptr self) { return audit_fn(self, storage, figures, cfg); });
}

} // namespace orch
