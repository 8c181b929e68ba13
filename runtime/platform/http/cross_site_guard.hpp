// The guard of a server without authentication. With authentication off,
// anyone who can reach the loopback port may do everything: a web page in a
// local browser too, unless the requests a browser sends for another site
// are refused. Such a request names that site in Origin (cross-site
// request forgery) or, through DNS rebinding, in Host.
#pragma once

#include <string>
#include <string_view>

#include "runtime/core/http_types.hpp"

namespace orch {

/// "localhost", "127.x.y.z" or "[::1]", a port after them allowed.
bool loopback_host(std::string_view host);

/// A Host that DNS rebinding can put there: a domain name (a page's
/// hostname re-pointed at 127.0.0.1). IP literals and single-label names
/// cannot be an attacker's site, and localhost is this machine.
bool rebindable_host(std::string_view host);

/// "" when the request may be served without authentication, else the
/// message of its 403: what is refused and what to do.
std::string cross_site_problem(const http_request& req);

} // namespace orch
