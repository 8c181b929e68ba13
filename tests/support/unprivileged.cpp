#include "tests/support/unprivileged.hpp"

#include <filesystem>

#include <unistd.h>

namespace orch::test {

namespace {

constexpr uid_t unprivileged_id = 65534;  // nobody / nogroup

} // namespace

std::vector<std::string> unprivileged_prefix() {
  if (::geteuid() != 0)
    return {};
  auto id = std::to_string(unprivileged_id);
  return {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"};
}

void unprivileged_owner(const std::string& path) {
  if (::geteuid() != 0)
    return;
  namespace stdfs = std::filesystem;
  (void) ::chown(path.c_str(), unprivileged_id, unprivileged_id);
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(path, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec))
    (void) ::lchown(it->path().c_str(), unprivileged_id, unprivileged_id);
}

} // namespace orch::test
