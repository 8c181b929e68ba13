#include "runtime/migrate/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"

namespace orch::migration {

using json = nlohmann::json;

journal_state read_journal(const std::string& path) {
  journal_state st;
  std::ifstream in{path};
  if (!in)
    return st;
  st.exists = true;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      continue;  // a torn line from a crash: it was never acted on
    if (first) {
      if (!j.contains("header"))
        throw std::runtime_error(path + " is not a migration journal");
      auto& h = j["header"];
      st.header = {h.value("from", ""), h.value("to", ""), h.value("source", ""),
                   h.value("target", ""), h.value("filter", "")};
      first = false;
      continue;
    }
    record_kind kind;
    if (auto i = j.find("intent"); i != j.end()) {
      if (!parse_record_kind(i->value("kind", ""), kind))
        continue;
      for (auto& k : (*i)["keys"])
        st.touched[kind].insert(k.get<std::string>());
      for (auto& [k, v] : (*i)["replaced"].items())
        st.replaced[kind].emplace(k, v.get<std::string>());  // the first (oldest) wins
    } else if (auto c = j.find("commit"); c != j.end()) {
      if (!parse_record_kind(c->value("kind", ""), kind))
        continue;
      st.last_committed[kind] = c->value("last", "");
      st.written[kind] += c->value("written", uint64_t{0});
    } else if (j.contains("done")) {
      st.done = true;
    } else if (j.contains("rolled_back")) {
      st.rolled_back = true;
    }
  }
  if (first)
    st.exists = false;  // empty file: nothing happened
  return st;
}

journal_writer::journal_writer(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot open the migration journal " + path + ": "
                             + std::strerror(errno));
  // A crash (or a full disk) can leave a torn last line, which was never
  // acted on; the next entry must not be glued to it and lost with it.
  try {
    cut_torn_tail();
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

/// The length of the file up to and including its last newline.
off_t journal_writer::complete_length() const {
  auto size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0)
    throw std::runtime_error("cannot read the migration journal " + path_ + ": "
                             + std::strerror(errno));
  char block[65536];
  for (off_t end = size; end > 0;) {
    auto len = static_cast<size_t>(std::min<off_t>(end, sizeof block));
    auto n = ::pread(fd_, block, len, end - static_cast<off_t>(len));
    if (n < 0 && errno == EINTR)
      continue;
    if (n != static_cast<ssize_t>(len))
      throw std::runtime_error("cannot read the migration journal " + path_ + ": "
                               + (n < 0 ? std::strerror(errno) : "it shrank while read"));
    if (auto* nl = static_cast<const char*>(::memrchr(block, '\n', len)))
      return end - static_cast<off_t>(len) + (nl - block) + 1;
    end -= static_cast<off_t>(len);
  }
  return 0;
}

void journal_writer::cut_torn_tail() {
  auto size = ::lseek(fd_, 0, SEEK_END);
  auto keep = complete_length();
  if (keep != size && (::ftruncate(fd_, keep) != 0 || ::fdatasync(fd_) != 0))
    throw std::runtime_error("cannot cut the torn last line off the migration journal " + path_
                             + ": " + std::strerror(errno));
}

journal_writer::~journal_writer() {
  if (fd_ >= 0)
    ::close(fd_);
}

void journal_writer::append(const std::string& line, bool sync) {
  auto text = line + "\n";
  std::lock_guard<std::mutex> guard{mutex_};
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = errno;
      // Leave no partial line behind (a full disk): the next entry, such as
      // the end of a rollback, must stay readable.
      if (done > 0) {
        auto size = ::lseek(fd_, 0, SEEK_END);
        if (size >= 0)
          (void) ::ftruncate(fd_, size - static_cast<off_t>(done));
      }
      throw std::runtime_error("cannot write the migration journal " + path_ + ": "
                               + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fdatasync(fd_) != 0)
    throw std::runtime_error("cannot sync the migration journal " + path_ + ": "
                             + std::strerror(errno));
}

void journal_writer::header(const journal_header& h) {
  append(json{{"header",
               {{"from", h.from},
                {"to", h.to},
                {"source", h.source},
                {"target", h.target},
                {"filter", h.filter},
                {"started", format_rfc3339(now_us())}}}}
           .dump());
}

void journal_writer::intent(record_kind kind, const std::vector<std::string>& keys,
                            const std::map<std::string, std::string>& replaced) {
  append(json{{"intent", {{"kind", to_string(kind)}, {"keys", keys}, {"replaced", replaced}}}}
           .dump());
}

void journal_writer::commit(record_kind kind, const std::string& last, uint64_t written) {
  // Not synced: a lost commit mark only makes a resume compare that batch
  // again; the next intent's sync makes it durable anyway.
  append(json{{"commit", {{"kind", to_string(kind)}, {"last", last}, {"written", written}}}}.dump(),
         false);
}

void journal_writer::done(const std::string& summary) {
  append(json{{"done", {{"finished", format_rfc3339(now_us())}, {"summary", summary}}}}.dump());
}

void journal_writer::rolled_back(const std::string& why) {
  append(json{{"rolled_back", {{"at", format_rfc3339(now_us())}, {"why", why}}}}.dump());
}

} // namespace orch::migration
