// Reaching the orchestrator that holds a data directory, for the commands
// that work through its REST API while it runs (backup, user).
#pragma once

#include <memory>
#include <string>

#include "backends/engine/storage_settings.hpp"
#include "runtime/core/status.hpp"

namespace orch {

class http_client;

/// The address an orchestrator serving on this data wrote at start
/// (<data-dir>/orchestrator.url), or "" when there is none.
std::string admin_url_file(const storage_settings& s);

/// A client for `url` (http://host:port; default: the address in the data
/// dir's orchestrator.url) that sends `token` when there is one.
result<std::unique_ptr<http_client>> running_orchestrator(const storage_settings& s,
                                                          const std::string& url,
                                                          const std::string& token);

/// The `error` of a JSON envelope, or the body as it is.
std::string api_error(const std::string& body);

} // namespace orch
