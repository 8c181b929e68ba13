#include "runtime/migrate/journal.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/model/clock.hpp"

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
  auto size = ::lseek(fd_, 0, SEEK_END);
  off_t keep = size;
  char c = '\n';
  while (keep > 0 && ::pread(fd_, &c, 1, keep - 1) == 1 && c != '\n')
    --keep;
  if (keep != size && (::ftruncate(fd_, keep) != 0 || ::fdatasync(fd_) != 0)) {
    auto err = errno;
    ::close(fd_);
    throw std::runtime_error("cannot cut the torn last line off the migration journal " + path
                             + ": " + std::strerror(err));
  }
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
      throw std::runtime_error("cannot write the migration journal " + path_ + ": "
                               + std::strerror(errno));
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
