// A parsed HTTP request and the response to it, as they travel between the
// Beast server (no CAF) and the API gateway actor (no Beast).
#pragma once

#include <map>
#include <string>

namespace orch {

struct http_request {
  std::string method;                        // GET, POST, ...
  std::string path;                          // percent-decoded path, no query
  std::map<std::string, std::string> query;  // percent-decoded query parameters
  std::string body;
  std::string remote;                        // peer address, for audit
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

} // namespace orch
