// The process's limit on open file descriptors.
#pragma once

#include <cstddef>

#include <sys/resource.h>

namespace orch {

/// Raises the soft RLIMIT_NOFILE to the hard limit (an unprivileged process
/// may) and returns the soft limit now in force.
size_t raise_open_files_limit();

/// The limit as it was before any raise: what child processes get.
rlimit inherited_open_files_limit();

} // namespace orch
