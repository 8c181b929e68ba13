// A process's own figures from /proc/<pid>/status, for tests and benchmarks
// that watch an orchestrator's memory.
#pragma once

#include <string>

#include <sys/types.h>

namespace orch::test {

/// A kB field of /proc/<pid>/status ("VmRSS", "VmHWM", ...), in KiB; -1 if
/// the process or the field is not there.
long proc_status_kib(pid_t pid, const std::string& field);

} // namespace orch::test
