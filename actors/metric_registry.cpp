#include "actors/metric_registry.hpp"

#include <array>
#include <charconv>
#include <map>
#include <mutex>

#include "actors/metric_catalog.hpp"

namespace orch {

// Named, not anonymous: metric_registry::figures (a member type, so not
// file-local) holds histograms.
namespace metric_figures {

constexpr std::array<double, 12> bucket_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

struct histogram {
  std::array<uint64_t, bucket_bounds.size()> buckets{};
  uint64_t count = 0;
  double sum = 0;
};

} // namespace metric_figures

namespace {

using metric_figures::bucket_bounds;
using metric_figures::histogram;

using series = std::map<std::string, double>;  // labels -> value

std::string with_labels(const std::string& name, const std::string& labels,
                        const std::string& extra = {}) {
  std::string all = labels;
  if (!extra.empty())
    all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? name : name + "{" + all + "}";
}

/// The shortest text that reads back as the same double: 0.0005, not
/// 0.00050000000000000001 (what people write, and what promtool expects).
std::string number(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] =
    std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general);
  return ec == std::errc{} ? std::string(buf.data(), end) : std::string{"NaN"};
}

/// `# HELP` (when the catalogue describes it) and `# TYPE` of a family.
std::string family_header(const std::string& name, const char* type) {
  std::string out;
  if (auto help = metric_help(name); !help.empty())
    out += "# HELP " + name + " " + std::string{help} + "\n";
  return out + "# TYPE " + name + " " + type + "\n";
}

} // namespace

struct metric_registry::figures {
  std::mutex mutex;
  std::map<std::string, series> counters;
  std::map<std::string, series> gauges;
  std::map<std::string, std::map<std::string, histogram>> histograms;
};

metric_registry::metric_registry() : figures_(std::make_unique<figures>()) {}

metric_registry::~metric_registry() = default;

void metric_registry::apply(const metric_update& u) {
  auto& f = *figures_;
  std::lock_guard lock{f.mutex};
  switch (u.kind) {
    case metric_update::counter:
      f.counters[u.name][u.labels] += u.value;
      break;
    case metric_update::gauge:
      f.gauges[u.name][u.labels] = u.value;
      break;
    case metric_update::histogram: {
      auto& h = f.histograms[u.name][u.labels];
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

std::string metric_registry::render() const {
  auto& f = *figures_;
  std::lock_guard lock{f.mutex};
  std::string out;
  for (auto& [name, s] : f.counters) {
    out += family_header(name, "counter");
    for (auto& [labels, v] : s)
      out += with_labels(name, labels) + " " + number(v) + "\n";
  }
  for (auto& [name, s] : f.gauges) {
    out += family_header(name, "gauge");
    for (auto& [labels, v] : s)
      out += with_labels(name, labels) + " " + number(v) + "\n";
  }
  for (auto& [name, s] : f.histograms) {
    out += family_header(name, "histogram");
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

std::vector<metric_registry::series_value> metric_registry::counters_and_gauges() const {
  std::lock_guard lock{figures_->mutex};
  std::vector<series_value> out;
  for (auto* all : {&figures_->counters, &figures_->gauges})
    for (auto& [name, s] : *all)
      for (auto& [labels, v] : s)
        out.push_back({name, labels, v});
  return out;
}

} // namespace orch
