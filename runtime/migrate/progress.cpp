#include "runtime/migrate/progress.hpp"

#include <cstdio>

#include <unistd.h>

namespace orch::migration {

namespace {

template <class Counts>
uint64_t sum(const Counts& counts) {
  uint64_t n = 0;
  for (auto& c : counts)
    n += c.load();
  return n;
}

} // namespace

uint64_t counters::read_total() const {
  return sum(read);
}

uint64_t counters::written_total() const {
  return sum(written);
}

uint64_t counters::skipped_total() const {
  return sum(skipped);
}

uint64_t counters::grand_total() const {
  uint64_t n = 0;
  for (auto t : total)
    n += t;
  return n;
}

progress_reporter::progress_reporter(const counters& c, const std::string& mode)
  : c_(c), start_(std::chrono::steady_clock::now()) {
  enabled_ = mode != "none";
  bar_ = mode == "bar" || (mode == "auto" && ::isatty(STDERR_FILENO));
  if (enabled_)
    thread_ = std::thread([this] { run(); });
}

progress_reporter::~progress_reporter() {
  stop();
}

void progress_reporter::stop() {
  {
    std::lock_guard<std::mutex> g{m_};
    if (stop_)
      return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    print(true);
  }
}

void progress_reporter::run() {
  auto interval = bar_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
  std::unique_lock<std::mutex> g{m_};
  while (!cv_.wait_for(g, interval, [&] { return stop_; }))
    print(false);
}

void progress_reporter::print(bool final) {
  auto done = c_.read_total();
  auto total = std::max(c_.grand_total(), done);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? done / secs : 0;
  double pct = total ? 100.0 * done / total : 100.0;
  std::string eta = "-";
  if (rate > 0 && total > done)
    eta = std::to_string(static_cast<long>((total - done) / rate)) + " s";
  int kind = c_.current_kind.load();
  const char* name = kind >= 0 ? to_string(static_cast<record_kind>(kind)) : "";
  if (bar_) {
    constexpr int width = 30;
    int filled = static_cast<int>(pct / 100 * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%% %llu/%llu records  %.0f records/s  ETA %s  %-12s%s",
                 bar.c_str(), pct, static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total), rate, eta.c_str(), name,
                 final ? "\n" : "");
  } else {
    std::fprintf(stderr, "progress: %llu/%llu records (%.0f%%), %.0f records/s, ETA %s%s%s\n",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 pct, rate, eta.c_str(), *name ? ", now " : "", name);
  }
  std::fflush(stderr);
}

} // namespace orch::migration
