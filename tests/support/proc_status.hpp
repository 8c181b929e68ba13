// A process's own figures from /proc/<pid>/, for tests and benchmarks that
// watch an orchestrator's memory and CPU.
#pragma once

#include <string>

#include <sys/types.h>

namespace orch::test {

/// A kB field of /proc/<pid>/status ("VmRSS", "VmHWM", ...), in KiB; -1 if
/// the process or the field is not there.
long proc_status_kib(pid_t pid, const std::string& field);

/// CPU time (user + system) the process has used so far, in seconds, from
/// /proc/<pid>/stat; -1 if it is not there.
double proc_cpu_seconds(pid_t pid);

} // namespace orch::test
