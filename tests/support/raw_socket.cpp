#include "tests/support/raw_socket.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace orch::test {

raw_socket::raw_socket(uint16_t port, int receive_buffer, const std::string& from) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ >= 0 && receive_buffer > 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  if (fd_ >= 0 && !from.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, from.c_str(), &local.sin_addr) != 1
        || ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error("cannot connect from " + from + ": " + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": "
                             + std::strerror(errno));
}

raw_socket::~raw_socket() {
  close();
}

void raw_socket::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

bool raw_socket::send_all(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

namespace {

/// Reads what is there; false once the stream ended (closed or reset).
bool read_some(int fd, raw_socket::received& r) {
  char buf[16384];
  auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n > 0) {
    r.bytes.append(buf, static_cast<size_t>(n));
    return true;
  }
  if (n == 0) {
    r.closed = true;
    return false;
  }
  if (errno == EAGAIN || errno == EINTR)
    return true;
  r.reset = errno == ECONNRESET;
  return false;
}

} // namespace

raw_socket::received raw_socket::read_until_close(std::chrono::milliseconds timeout) {
  received r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0 && !read_some(fd_, r))
      break;
  }
  return r;
}

raw_socket::received raw_socket::exchange(const std::string& bytes,
                                          std::chrono::milliseconds timeout) {
  received r;
  size_t sent = 0;
  bool sending = true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (sending && sent == bytes.size()) {
      ::shutdown(fd_, SHUT_WR);
      sending = false;
    }
    pollfd p{fd_, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    if (sending && (p.revents & POLLOUT)) {
      auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0)
        sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        sending = false;  // the server stopped taking it; its answer is still to be read
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && !read_some(fd_, r))
      break;
  }
  return r;
}

int status_of(const std::string& bytes) {
  if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12)
    return 0;
  return std::atoi(bytes.substr(9, 3).c_str());
}

} // namespace orch::test
