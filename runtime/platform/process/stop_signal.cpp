#include "runtime/platform/process/stop_signal.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <stdexcept>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace orch {

stop_signal::stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
  event_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (signal_fd_ < 0 || event_fd_ < 0)
    throw std::runtime_error("cannot set up signal handling (signalfd/eventfd failed)");
}

stop_signal::~stop_signal() {
  if (signal_fd_ >= 0)
    ::close(signal_fd_);
  if (event_fd_ >= 0)
    ::close(event_fd_);
}

stop_signal::reason stop_signal::wait() {
  for (;;) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {event_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return {0, "waiting for signals failed"};
    }
    if (fds[1].revents & POLLIN) {
      std::lock_guard<std::mutex> g{mutex_};
      return {0, failure_};
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signal_fd_, &info, sizeof info) == sizeof info)
        return {static_cast<int>(info.ssi_signo), {}};
    }
  }
}

void stop_signal::fail(const std::string& what) {
  {
    std::lock_guard<std::mutex> g{mutex_};
    if (!failure_.empty())
      return;
    failure_ = what;
  }
  uint64_t one = 1;
  (void) ::write(event_fd_, &one, sizeof one);
}

} // namespace orch
