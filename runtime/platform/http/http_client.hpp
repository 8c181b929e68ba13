// A small synchronous HTTP/1.1 client (Boost.Beast), keep-alive, reconnecting
// when the server closed the connection: for the command-line tools that talk
// to a running orchestrator, and for tests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace orch {

struct http_result {
  int status = 0;                            // 0: no response (connection failed)
  std::string body;
  std::string content_type;
  std::string error;                         // transport error, if status == 0
  std::map<std::string, std::string> headers;  // by lower-case name

  /// Body parsed as JSON (discarded value if it is not JSON).
  nlohmann::json json() const;
};

class http_client {
public:
  http_client(std::string host, uint16_t port);
  ~http_client();

  http_result get(const std::string& target) { return request("GET", target, ""); }
  http_result post(const std::string& target, const std::string& body) {
    return request("POST", target, body);
  }
  http_result request(const std::string& method, const std::string& target,
                      const std::string& body);

  /// Sends `Authorization: Bearer <token>` with every request ("": none).
  void set_bearer(std::string token);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sends raw bytes on a fresh connection and returns everything the server
/// sends back until it closes or `timeout_ms` passes.
std::string raw_exchange(const std::string& host, uint16_t port, const std::string& bytes,
                         int timeout_ms = 5000);

} // namespace orch
