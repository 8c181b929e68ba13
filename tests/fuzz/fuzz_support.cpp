#include "tests/fuzz/fuzz_target.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

namespace fuzz {

void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

namespace {

std::string make_scratch() {
  std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string tmpl = base + "/orch-fuzz-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    fail("cannot create a scratch directory under " + base);
  return tmpl;
}

struct scratch {
  std::string path = make_scratch();
  pid_t owner = ::getpid();
  ~scratch() {
    std::error_code ec;
    if (::getpid() == owner)  // not in a forked child
      std::filesystem::remove_all(path, ec);
  }
};

} // namespace

const std::string& scratch_dir() {
  static scratch s;
  return s.path;
}

} // namespace fuzz
