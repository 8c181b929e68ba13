#include "runtime/platform/http/cross_site_guard.hpp"

#include <algorithm>
#include <cctype>

namespace orch {

namespace {

std::string_view without_port(std::string_view host) {
  if (auto colon = host.find(':'); colon != std::string_view::npos)
    host = host.substr(0, colon);
  return host;
}

bool all_of_chars(std::string_view s, std::string_view chars) {
  return s.find_first_not_of(chars) == std::string_view::npos;
}

} // namespace

bool loopback_host(std::string_view host) {
  if (host.starts_with("[::1]"))
    return host.size() == 5 || host[5] == ':';
  host = without_port(host);
  return host == "localhost" || (host.starts_with("127.") && all_of_chars(host, "0123456789."));
}

bool rebindable_host(std::string_view host) {
  if (host.empty() || host[0] == '[')
    return false;
  std::string name{without_port(host)};
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "localhost" || name.ends_with(".localhost"))
    return false;
  if (all_of_chars(name, "0123456789."))
    return false;
  return name.find('.') != std::string::npos;
}

std::string cross_site_problem(const http_request& req) {
  if (rebindable_host(req.host))
    return "with authentication disabled this server answers requests for localhost or an IP "
           "address only (Host: " + req.host.substr(0, 80) + "); enable --auth to serve a name";
  if (!req.origin.empty()) {
    auto scheme_end = req.origin.find("://");
    auto rest = std::string_view{req.origin}.substr(scheme_end == std::string::npos ? 0
                                                                                     : scheme_end + 3);
    if (!loopback_host(rest))
      return "a request from the web page at " + req.origin.substr(0, 80)
             + " is refused: with authentication disabled only local clients may call this API";
  }
  return {};
}

} // namespace orch
