#include "tests/support/tcp_relay.hpp"

#include <stdexcept>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace orch::test {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

/// Moves what is readable on `from` to `to`; false when either end is done.
bool pump(int from, int to) {
  char buf[65536];
  auto n = ::read(from, buf, sizeof buf);
  if (n <= 0)
    return false;
  for (ssize_t sent = 0; sent < n;) {
    auto w = ::send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
    if (w <= 0)
      return false;
    sent += w;
  }
  return true;
}

} // namespace

tcp_relay::tcp_relay(uint16_t target) : target_(target) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = loopback(0);
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
      || ::listen(listener_, 16) != 0 || ::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("tcp_relay: cannot listen on 127.0.0.1");
  socklen_t len = sizeof a;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

tcp_relay::~tcp_relay() {
  stopping_ = true;
  [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
  thread_.join();
  close_all();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_relay::cut() {
  refusing_ = true;
  cut_now_ = true;
  [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
}

void tcp_relay::restore() {
  refusing_ = false;
}

void tcp_relay::close_all() {
  for (auto& p : pairs_) {
    ::close(p.client);
    ::close(p.server);
  }
  pairs_.clear();
}

void tcp_relay::run() {
  while (!stopping_) {
    if (cut_now_.exchange(false))
      close_all();
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (auto& p : pairs_) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) <= 0)
      continue;
    if (fds[0].revents) {
      char buf[64];
      [[maybe_unused]] auto n = ::read(wake_[0], buf, sizeof buf);
      continue;  // look at cut_now_ and stopping_ first
    }
    if (fds[1].revents) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0 && refusing_) {
        ::close(client);
      } else if (client >= 0) {
        int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto a = loopback(target_);
        if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          pairs_.push_back({client, server});
          ++relayed_;
        } else {
          ::close(server);
          ::close(client);
        }
      }
    }
    std::vector<pair> kept;
    for (size_t i = 0; i < pairs_.size(); ++i) {
      auto& c = fds[2 + 2 * i];
      auto& s = fds[3 + 2 * i];
      bool open = true;
      if (c.revents)
        open = pump(pairs_[i].client, pairs_[i].server);
      if (open && s.revents)
        open = pump(pairs_[i].server, pairs_[i].client);
      if (open) {
        kept.push_back(pairs_[i]);
      } else {
        ::close(pairs_[i].client);
        ::close(pairs_[i].server);
      }
    }
    pairs_ = std::move(kept);
  }
}

} // namespace orch::test
