// Running a process as an unprivileged user, for tests of permission faults:
// root ignores file modes, so a test run as root (CI) drops to nobody.
#pragma once

#include <string>
#include <vector>

namespace orch::test {

/// The prefix that runs a command as nobody:nogroup when the test runs as
/// root (setpriv), else nothing (the test's own user is unprivileged).
std::vector<std::string> unprivileged_prefix();

/// Gives `path` and everything under it to that user (when root).
void unprivileged_owner(const std::string& path);

} // namespace orch::test
