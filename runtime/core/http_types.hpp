// A parsed HTTP request and the response to it, as they travel between the
// Beast server (no CAF) and the API gateway actor (no Beast).
#pragma once

#include <map>
#include <string>
#include <utility>

namespace orch {

struct http_request {
  std::string method;                        // GET, POST, ...
  std::string path;                          // percent-decoded path, no query
  std::map<std::string, std::string> query;  // percent-decoded query parameters
  std::string body;
  std::string remote;                        // peer address, for audit
  std::string authorization;                 // the Authorization header, as sent
  std::string host;                          // the Host header
  std::string origin;                        // the Origin header (sent by browsers)
};

struct http_response {
  // A constructor, not an aggregate: `{status, type, body}` keeps working
  // without naming the headers.
  http_response(int s = 200, std::string type = "application/json", std::string text = {})
    : status(s), content_type(std::move(type)), body(std::move(text)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // more header fields (WWW-Authenticate, Retry-After)
};

} // namespace orch
