#include "actors/metrics.hpp"

#include <array>
#include <map>
#include <sstream>

#include "caf/all.hpp"

#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"

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
  std::chrono::seconds interval{60};
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

metrics_actor::behavior_type metrics_fn(metrics_actor::stateful_pointer<metrics_state> self,
                                        storage_actor storage, std::chrono::seconds interval) {
  self->state.storage = std::move(storage);
  self->state.interval = interval;
  if (interval.count() > 0)
    self->delayed_send(self, interval, caf::tick_atom_v);
  return {
    [=](incr_atom, const std::string& name, const std::string& labels, double by) {
      self->state.counters[name][labels] += by;
    },
    [=](gauge_atom, const std::string& name, const std::string& labels, double value) {
      self->state.gauges[name][labels] = value;
    },
    [=](observe_atom, const std::string& name, const std::string& labels, double value) {
      auto& h = self->state.histograms[name][labels];
      for (size_t i = 0; i < bucket_bounds.size(); ++i)
        if (value <= bucket_bounds[i]) {
          ++h.buckets[i];
          break;
        }
      ++h.count;
      h.sum += value;
    },
    [=](render_atom) { return render(self->state); },
    [=](caf::tick_atom) {
      auto& st = self->state;
      self->delayed_send(self, st.interval, caf::tick_atom_v);
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
      self->request(st.storage, caf::infinite, commit_atom_v, std::move(b))
        .then([](uint64_t) {},
              [](caf::error& e) {
                log_warn("metrics", "could not persist a metrics snapshot: " + error_text(e));
              });
    },
  };
}

} // namespace

metrics_actor spawn_metrics(caf::actor_system& sys, storage_actor storage,
                            std::chrono::seconds interval) {
  // Arguments are bound in a lambda: CAF 0.17's spawn would try to convert the
  // self pointer into a typed handle parameter (a hard error).
  return sys.spawn([=](metrics_actor::stateful_pointer<metrics_state> self) {
    return metrics_fn(self, storage, interval);
  });
}

} // namespace orch
