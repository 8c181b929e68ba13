#include "actors/metrics.hpp"

#include <map>

#include "caf/all.hpp"

#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

struct metrics_state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first handle member with it.
  metrics_state() = default;
  storage_actor storage;
  std::shared_ptr<metric_registry> registry;
  metrics_config cfg;
  static inline const char* name = "metrics";
};

/// Labels text `a="x",b="y"` to a map (for persisted samples).
std::map<std::string, std::string> parse_labels(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto eq = text.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= text.size() || text[eq + 1] != '"')
      break;
    auto end = text.find('"', eq + 2);
    if (end == std::string::npos)
      break;
    out[text.substr(pos, eq - pos)] = text.substr(eq + 2, end - eq - 2);
    pos = end + 1;
    if (pos < text.size() && text[pos] == ',')
      ++pos;
  }
  return out;
}

constexpr auto queue_depth_timeout = std::chrono::seconds(2);

/// ... and every `interval` it persists a snapshot of its counters and gauges.
using metrics_impl_actor = metrics_actor::extend<caf::reacts_to<snapshot_atom>>;

using metrics_ptr = metrics_impl_actor::stateful_pointer<metrics_state>;

void persist_snapshot(metrics_ptr self) {
  auto& st = self->state;
  write_batch b;
  auto now = now_us();
  for (auto& v : st.registry->counters_and_gauges()) {
    metric_sample m;
    m.id = new_uuid_v7(now);
    m.time = now;
    m.name = v.name;
    m.labels = parse_labels(v.labels);
    if (!st.cfg.instance.empty())
      m.labels["instance"] = st.cfg.instance;
    m.value = v.value;
    b.ops.push_back({record_op::put, to_record(m)});
  }
  if (b.ops.empty())
    return;
  self->request(st.storage, st.cfg.storage_timeout, commit_atom_v, std::move(b))
    .then([](uint64_t) {},
          [](caf::error& e) {
            log_warn("metrics", "could not persist a metrics snapshot: " + error_text(e));
          });
}

/// Sets orchestrator_queue_depth from the storage, then calls `then`: the
/// depth is the storage's to say (on shared storage, every instance's), a
/// count the backends keep, not a scan. If it cannot say, the last value stays.
template <class F>
void refresh_queue_depth(metrics_ptr self, F then) {
  auto registry = self->state.registry;
  self->request(self->state.storage, queue_depth_timeout, count_atom_v, record_kind::queue)
    .then(
      [registry, then](uint64_t depth) mutable {
        registry->set("orchestrator_queue_depth", {}, static_cast<double>(depth));
        then();
      },
      [then](caf::error&) mutable { then(); });
}

metrics_impl_actor::behavior_type metrics_fn(metrics_ptr self, storage_actor storage,
                                             std::shared_ptr<metric_registry> registry,
                                             metrics_config cfg) {
  self->state.storage = std::move(storage);
  self->state.registry = std::move(registry);
  self->state.cfg = cfg;
  if (cfg.interval.count() > 0)
    self->delayed_send(self, cfg.interval, snapshot_atom_v);
  return {
    guarded("metrics", [=](const metric_update& u) { self->state.registry->apply(u); }),
    guarded("metrics",
            [=](render_atom) -> caf::result<std::string> {
              // The queue's depth is asked at each scrape.
              auto rp = self->make_response_promise<std::string>();
              refresh_queue_depth(self, [rp, registry = self->state.registry]() mutable {
                rp.deliver(registry->render());
              });
              return rp;
            }),
    guarded("metrics",
            [=](snapshot_atom) {
              self->delayed_send(self, self->state.cfg.interval, snapshot_atom_v);
              // The persisted sample (what charts draw) is today's depth,
              // not the last scrape's.
              refresh_queue_depth(self, [self] { persist_snapshot(self); });
            }),
  };
}

} // namespace

metrics_actor spawn_metrics(caf::actor_system& sys, storage_actor storage,
                            std::shared_ptr<metric_registry> registry, metrics_config cfg) {
  // Arguments are bound in a lambda: CAF 0.17's spawn would try to convert the
  // self pointer into a typed handle parameter (a hard error).
  return sys.spawn([=](metrics_ptr self) { return metrics_fn(self, storage, registry, cfg); });
}

} // namespace orch
