#include "runtime/platform/process/open_files.hpp"

#include <mutex>

#include <sys/resource.h>

namespace orch {

namespace {

std::once_flag saved;
rlimit original{};

void save_original() {
  std::call_once(saved, [] {
    if (::getrlimit(RLIMIT_NOFILE, &original) != 0)
      original = {1024, 1024};
  });
}

} // namespace

rlimit inherited_open_files_limit() {
  save_original();
  return original;
}

size_t raise_open_files_limit() {
  save_original();
  rlimit lim = original;
  if (lim.rlim_cur < lim.rlim_max) {
    auto raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(lim.rlim_cur);
}

} // namespace orch
