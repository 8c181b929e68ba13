// This machine's host name, for instance ids and worker names.
#pragma once

#include <string>

namespace orch {

/// gethostname(), or `fallback` when it fails or is empty.
std::string host_name(const std::string& fallback);

} // namespace orch
