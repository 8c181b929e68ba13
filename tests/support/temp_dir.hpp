// A directory under $TMPDIR that is removed (recursively) at scope exit.
#pragma once

#include <string>

namespace orch::test {

class temp_dir {
public:
  explicit temp_dir(const std::string& prefix = "orch-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// Whole file as a string ("" if it cannot be read).
std::string slurp(const std::string& path);

/// Writes (replaces) a file.
void write_text(const std::string& path, const std::string& text);

/// Entries of a directory (names), sorted; empty if it does not exist.
std::vector<std::string> dir_entries(const std::string& path);

} // namespace orch::test
