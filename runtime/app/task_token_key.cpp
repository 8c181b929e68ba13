#include "runtime/app/task_token_key.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/auth/task_tokens.hpp"
#include "runtime/auth/tokens.hpp"

namespace orch {

namespace {

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

/// A new key file, readable by its owner only; false if it exists already
/// (another instance made it first: read that one).
result<bool> create_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return false;
    return status{errc::io_error, "cannot create the task token key file " + path + ": "
                              + std::strerror(errno)};
  }
  auto text = auth::to_hex(auth::random_bytes(auth::task_token_key_bytes)) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok)
    return status{errc::io_error, "cannot write the task token key file " + path};
  return true;
}

} // namespace

result<std::string> load_task_token_key(const std::string& path) {
  if (path.empty())
    return auth::random_bytes(auth::task_token_key_bytes);
  if (auto made = create_key_file(path); !made)
    return made.error();
  std::ifstream in{path};
  if (!in)
    return status{errc::io_error, "cannot read the task token key file " + path};
  std::ostringstream text;
  text << in.rdbuf();
  auto key = trimmed(text.str());
  if (key.size() < auth::task_token_key_bytes)
    return status{errc::invalid,
                  "the task token key file " + path + " holds " + std::to_string(key.size())
                    + " characters; it needs at least 32 (e.g. `openssl rand -hex 32 > "
                    + path + "`, or remove it and one is made)"};
  return key;
}

} // namespace orch
