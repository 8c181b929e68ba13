#include "actors/metrics.hpp"

#include <array>
#include <map>
#include <sstream>

#include "caf/all.hpp"

#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch {

namespace {

constexpr std::array<double, 12> bucket_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

struct histogram {
  std::array<uint64_t, bucket_bounds.size()> buckets{};
  uint64_t count = 0;
  double sum = 0;
};

using series = std::map<std::string, double>;  // labels -> value

struct metrics_state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first handle member with it.
  metrics_state() = default;
  storage_actor storage;
  metrics_config cfg;
  std::map<std::string, series> counters;
  std::map<std::string, series> gauges;
  std::map<std::string, std::map<std::string, histogram>> histograms;
  static inline const char* name = "metrics";
};

std::string with_labels(const std::string& name, const std::string& labels,
                        const std::string& extra = {}) {
  std::string all = labels;
  if (!extra.empty())
    all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? name : name + "{" + all + "}";
}

std::string number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

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

std::string render(const metrics_state& st) {
  std::string out;
  for (auto& [name, s] : st.counters) {
    out += "# TYPE " + name + " counter\n";
    for (auto& [labels, v] : s)
      out += with_labels(name, labels) + " " + number(v) + "\n";
  }
  for (auto& [name, s] : st.gauges) {
    out += "# TYPE " + name + " gauge\n";
    for (auto& [labels, v] : s)
      out += with_labels(name, labels) + " " + number(v) + "\n";
  }
  for (auto& [name, s] : st.histograms) {
    out += "# TYPE " + name + " histogram\n";
    for (auto& [labels, h] : s) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < bucket_bounds.size(); ++i) {
        cumulative += h.buckets[i];
        out += with_labels(name + "_bucket", labels, "le=\"" + number(bucket_bounds[i]) + "\"")
               + " " + std::to_string(cumulative) + "\n";
      }
      out += with_labels(name + "_bucket", labels, "le=\"+Inf\"") + " "
             + std::to_string(h.count) + "\n";
      out += with_labels(name + "_sum", labels) + " " + number(h.sum) + "\n";
      out += with_labels(name + "_count", labels) + " " + std::to_string(h.count) + "\n";
    }
  }
  return out;
}

/// ... and every `interval` it persists a snapshot of its counters and gauges.
using metrics_impl_actor = metrics_actor::extend<caf::reacts_to<snapshot_atom>>;

using metrics_ptr = metrics_impl_actor::stateful_pointer<metrics_state>;

void apply(metrics_state& st, const metric_update& u) {
  switch (u.kind) {
    case metric_update::counter:
      st.counters[u.name][u.labels] += u.value;
      break;
    case metric_update::gauge:
      st.gauges[u.name][u.labels] = u.value;
      break;
    case metric_update::histogram: {
      auto& h = st.histograms[u.name][u.labels];
      for (size_t i = 0; i < bucket_bounds.size(); ++i)
        if (u.value <= bucket_bounds[i]) {
          ++h.buckets[i];
          break;
        }
      ++h.count;
      h.sum += u.value;
      break;
    }
  }
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (auto& [k, v] : labels)
    out += (out.empty() ? "" : ",") + k + "=\"" + v + "\"";
  return out;
}

/// Counters from the newest snapshot in storage: a restart after a failure
/// goes on from about where the failed actor was.
void restore_counters(metrics_ptr self) {
  record_query q;
  q.kind = record_kind::metric;
  q.newest_first = true;
  q.limit = 1000;
  self->request(self->state.storage, self->state.cfg.storage_timeout, query_atom_v, q)
    .then(guarded("metrics",
                  [=](const record_page& page) {
                    micros newest = 0;
                    for (auto& r : page.items) {
                      metric_sample m;
                      if (!decode(r.json, m))
                        continue;
                      if (newest == 0)
                        newest = m.time;
                      if (m.time != newest || m.name.size() < 6
                          || m.name.compare(m.name.size() - 6, 6, "_total") != 0)
                        continue;
                      // What this incarnation counted already comes on top.
                      self->state.counters[m.name][labels_text(m.labels)] += m.value;
                    }
                  }),
          [](caf::error& e) {
            log_warn("metrics", "counters start at 0: the last snapshot could not be read ("
                                  + error_text(e) + ")");
          });
}

void persist_snapshot(metrics_ptr self) {
  auto& st = self->state;
  write_batch b;
  auto now = now_us();
  auto snapshot = [&](const std::map<std::string, series>& all) {
    for (auto& [name, s] : all)
      for (auto& [labels, v] : s) {
        metric_sample m;
        m.id = new_uuid_v7(now);
        m.time = now;
        m.name = name;
        m.labels = parse_labels(labels);
        m.value = v;
        b.ops.push_back({record_op::put, to_record(m)});
      }
  };
  snapshot(st.counters);
  snapshot(st.gauges);
  if (b.ops.empty())
    return;
  self->request(st.storage, st.cfg.storage_timeout, commit_atom_v, std::move(b))
    .then([](uint64_t) {},
          [](caf::error& e) {
            log_warn("metrics", "could not persist a metrics snapshot: " + error_text(e));
          });
}

metrics_impl_actor::behavior_type metrics_fn(metrics_ptr self, storage_actor storage,
                                             metrics_config cfg) {
  self->state.storage = std::move(storage);
  self->state.cfg = cfg;
  if (cfg.interval.count() > 0)
    self->delayed_send(self, cfg.interval, snapshot_atom_v);
  if (cfg.restore_counters)
    restore_counters(self);
  return {
    guarded("metrics", [=](const metric_update& u) { apply(self->state, u); }),
    guarded("metrics", [=](render_atom) -> caf::result<std::string> { return render(self->state); }),
    guarded("metrics",
            [=](snapshot_atom) {
              self->delayed_send(self, self->state.cfg.interval, snapshot_atom_v);
              persist_snapshot(self);
            }),
  };
}

} // namespace

metrics_actor spawn_metrics(caf::actor_system& sys, storage_actor storage, metrics_config cfg) {
  // Arguments are bound in a lambda: CAF 0.17's spawn would try to convert the
  // self pointer into a typed handle parameter (a hard error).
  return sys.spawn([=](metrics_ptr self) { return metrics_fn(self, storage, cfg); });
}

} // namespace orch
