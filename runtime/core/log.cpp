#include "runtime/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "runtime/core/clock.hpp"

namespace orch {

namespace {

std::atomic<int> current_level{static_cast<int>(log_level::info)};
std::mutex out_mutex;
constexpr const char* names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

} // namespace

void set_log_level(log_level lvl) {
  current_level = static_cast<int>(lvl);
}

bool parse_log_level(std::string_view text, log_level& out) {
  if (text == "debug") out = log_level::debug;
  else if (text == "info") out = log_level::info;
  else if (text == "warn" || text == "warning") out = log_level::warn;
  else if (text == "error") out = log_level::error;
  else if (text == "off") out = log_level::off;
  else return false;
  return true;
}

bool log_enabled(log_level lvl) {
  return static_cast<int>(lvl) >= current_level.load(std::memory_order_relaxed);
}

void log(log_level lvl, std::string_view component, std::string_view message) {
  if (!log_enabled(lvl) || lvl == log_level::off)
    return;
  auto line = format_rfc3339(now_us()) + " " + names[static_cast<int>(lvl)] + " "
              + std::string{component} + ": " + std::string{message} + "\n";
  std::lock_guard<std::mutex> guard{out_mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace orch
