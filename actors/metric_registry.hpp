// The orchestrator's counters, gauges and latency histograms, updated by any
// thread or actor with a call rather than a message (a request costs a few
// map updates under a mutex, not a message to an actor per figure), rendered
// and persisted by the metrics actor. It outlives the actors: a metrics actor
// that restarts after a failure finds every figure where it was.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/core/requests.hpp"

namespace orch {

class metric_registry {
public:
  metric_registry();
  ~metric_registry();
  metric_registry(const metric_registry&) = delete;
  metric_registry& operator=(const metric_registry&) = delete;

  void apply(const metric_update& u);
  void count(const std::string& name, const std::string& labels = {}, double by = 1) {
    apply(metric_update::count(name, labels, by));
  }
  void set(const std::string& name, const std::string& labels, double value) {
    apply(metric_update::set(name, labels, value));
  }
  void observe(const std::string& name, const std::string& labels, double value) {
    apply(metric_update::observe(name, labels, value));
  }

  /// Everything, in the Prometheus text format.
  std::string render() const;

  /// One series of a counter or gauge, as persisted in metric samples.
  struct series_value {
    std::string name;
    std::string labels;                      // `a="x",b="y"`
    double value = 0;
  };
  std::vector<series_value> counters_and_gauges() const;

private:
  struct figures;                            // and the mutex that guards them
  std::unique_ptr<figures> figures_;
};

} // namespace orch
