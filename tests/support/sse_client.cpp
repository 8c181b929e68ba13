#include "tests/support/sse_client.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>

#include "runtime/core/query_params.hpp"

namespace orch::test {

using clock_type = std::chrono::steady_clock;

sse_client::sse_client(uint16_t port, const std::string& target,
                       const std::map<std::string, std::string>& headers)
  : socket_(port) {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port)
                    + "\r\nAccept: text/event-stream\r\n";
  for (auto& [name, value] : headers)
    req += name + ": " + value + "\r\n";
  req += "\r\n";
  if (!socket_.send_all(req))
    throw std::runtime_error("cannot send the request");
}

bool sse_client::fill(clock_type::time_point deadline) {
  if (ended_)
    return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  if (left.count() <= 0)
    return false;
  pollfd p{socket_.fd(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
    return false;
  char buf[65536];
  auto n = ::recv(socket_.fd(), buf, sizeof buf, 0);
  if (n <= 0) {
    ended_ = true;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  if (!header_done_ && !parse_header())
    return true;
  dechunk();
  return true;
}

bool sse_client::parse_header() {
  auto end = raw_.find("\r\n\r\n");
  if (end == std::string::npos)
    return false;
  auto head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  header_done_ = true;
  auto first = head.find("\r\n");
  auto status_line = head.substr(0, first);
  if (status_line.size() >= 12)
    status_ = std::stoi(status_line.substr(9, 3));
  size_t pos = first == std::string::npos ? head.size() : first + 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string::npos)
      eol = head.size();
    auto line = head.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers_[name] = value;
    }
    pos = eol + 2;
  }
  chunked_ = header("transfer-encoding") == "chunked";
  return true;
}

void sse_client::dechunk() {
  if (!chunked_) {
    text_ += raw_;
    raw_.clear();
    return;
  }
  for (;;) {
    auto eol = raw_.find("\r\n");
    if (eol == std::string::npos)
      return;
    auto size = std::stoul(raw_.substr(0, eol), nullptr, 16);
    if (raw_.size() < eol + 2 + size + 2)
      return;
    if (size == 0) {
      ended_ = true;
      whole_ = true;
      raw_.clear();
      return;
    }
    text_ += raw_.substr(eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
  }
}

int sse_client::status(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (!header_done_ && fill(deadline)) {
  }
  return status_;
}

std::string sse_client::header(const std::string& name) const {
  auto i = headers_.find(name);
  return i == headers_.end() ? std::string{} : i->second;
}

std::string sse_client::body(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  status(timeout);
  // A non-stream answer has a Content-Length: read that much.
  auto length = header("content-length");
  size_t want = length.empty() ? 0 : std::stoul(length);
  while (text_.size() < want && fill(deadline)) {
  }
  return text_;
}

std::optional<sse_message> sse_client::next(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  status(timeout);
  for (;;) {
    auto end = text_.find("\n\n");
    while (end != std::string::npos) {
      auto block = text_.substr(0, end);
      text_.erase(0, end + 2);
      sse_message m;
      for (auto& line : split_nonempty(block, '\n')) {
        if (line.rfind(":", 0) == 0)
          comments_ += line + "\n";
        else if (line.rfind("id: ", 0) == 0)
          m.id = line.substr(4);
        else if (line.rfind("event: ", 0) == 0)
          m.event = line.substr(7);
        else if (line.rfind("data: ", 0) == 0)
          m.data += (m.data.empty() ? "" : "\n") + line.substr(6);
      }
      if (!m.data.empty())
        return m;
      end = text_.find("\n\n");
    }
    if (!fill(deadline))
      return std::nullopt;
  }
}

} // namespace orch::test
