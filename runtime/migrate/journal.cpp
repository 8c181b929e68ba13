#include "runtime/migrate/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"
#include "runtime/platform/files/posix_io.hpp"

namespace orch::migration {

using json = nlohmann::json;

namespace {

/// A string field of an object, or "" (the journal's lines are read without
/// trusting them: a damaged one is skipped, not a reason to stop).
std::string text_of(const json& j, const char* field) {
  auto i = j.find(field);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

void read_intent(const json& intent, journal_state& st) {
  record_kind kind;
  if (!intent.is_object() || !parse_record_kind(text_of(intent, "kind"), kind))
    return;
  if (auto keys = intent.find("keys"); keys != intent.end() && keys->is_array())
    for (auto& k : *keys)
      if (k.is_string())
        st.touched[kind].insert(k.get<std::string>());
  if (auto replaced = intent.find("replaced"); replaced != intent.end() && replaced->is_object())
    for (auto& [k, v] : replaced->items())
      if (v.is_string())
        st.replaced[kind].emplace(k, v.get<std::string>());  // the first (oldest) wins
}

void read_commit(const json& commit, journal_state& st) {
  record_kind kind;
  if (!commit.is_object() || !parse_record_kind(text_of(commit, "kind"), kind))
    return;
  st.last_committed[kind] = text_of(commit, "last");
  if (auto w = commit.find("written"); w != commit.end() && w->is_number_unsigned())
    st.written[kind] += w->get<uint64_t>();
}

} // namespace

result<journal_state> parse_journal(std::string_view text, const std::string& path) {
  journal_state st;
  st.exists = true;
  bool first = true;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      continue;  // a torn line from a crash: it was never acted on
    if (first) {
      auto h = j.find("header");
      if (h == j.end() || !h->is_object())
        return status{errc::invalid, path + " is not a migration journal (its first entry is "
                                            "not a header): move it away or pass --journal"};
      st.header = {text_of(*h, "from"), text_of(*h, "to"), text_of(*h, "source"),
                   text_of(*h, "target"), text_of(*h, "filter")};
      first = false;
      continue;
    }
    if (auto i = j.find("intent"); i != j.end())
      read_intent(*i, st);
    else if (auto c = j.find("commit"); c != j.end())
      read_commit(*c, st);
    else if (j.contains("done"))
      st.done = true;
    else if (j.contains("rolled_back"))
      st.rolled_back = true;
  }
  if (first)
    st.exists = false;  // empty file: nothing happened
  return st;
}

result<journal_state> read_journal(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0)
      return journal_state{};  // no journal: nothing happened yet
    return status{errc::io_error, "cannot read the migration journal " + path + ": "
                                    + std::strerror(errno)};
  }
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (in.bad())
    return status{errc::io_error, "cannot read the migration journal " + path + ": "
                                    + std::strerror(errno)};
  return parse_journal(text, path);
}

status journal_writer::failure(const std::string& what, int err) const {
  return {errc::io_error, "cannot " + what + " the migration journal " + path_ + ": "
                            + std::strerror(err)};
}

result<std::unique_ptr<journal_writer>> journal_writer::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return status{errc::io_error, "cannot open the migration journal " + path + ": "
                                    + std::strerror(errno)};
  std::unique_ptr<journal_writer> w{new journal_writer(fd, path)};
  // A crash (or a full disk) can leave a torn last line, which was never
  // acted on; the next entry must not be glued to it and lost with it.
  if (auto st = w->cut_torn_tail(); !st)
    return st;
  return w;
}

/// The length of the file up to and including its last newline.
result<off_t> journal_writer::complete_length() const {
  auto size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0)
    return failure("read", errno);
  char block[65536];
  for (off_t end = size; end > 0;) {
    auto len = static_cast<size_t>(std::min<off_t>(end, sizeof block));
    auto n = ::pread(fd_, block, len, end - static_cast<off_t>(len));
    if (n < 0 && errno == EINTR)
      continue;
    if (n != static_cast<ssize_t>(len))
      return n < 0 ? failure("read", errno)
                   : status{errc::io_error,
                            "cannot read the migration journal " + path_ + ": it shrank while read"};
    if (auto* nl = static_cast<const char*>(::memrchr(block, '\n', len)))
      return end - static_cast<off_t>(len) + (nl - block) + 1;
    end -= static_cast<off_t>(len);
  }
  return off_t{0};
}

status journal_writer::cut_torn_tail() {
  auto size = ::lseek(fd_, 0, SEEK_END);
  auto keep = complete_length();
  if (!keep)
    return keep.error();
  if (*keep != size && (::ftruncate(fd_, *keep) != 0 || ::fdatasync(fd_) != 0))
    return failure("cut the torn last line off", errno);
  return {};
}

journal_writer::~journal_writer() {
  if (fd_ >= 0)
    ::close(fd_);
}

status journal_writer::append(const std::string& line, bool sync) {
  auto text = line + "\n";
  std::lock_guard<std::mutex> guard{mutex_};
  size_t written = 0;
  if (auto ec = posix::write_all(fd_, text, written)) {
    // Leave no partial line behind (a full disk): the next entry, such as
    // the end of a rollback, must stay readable.
    if (written > 0) {
      auto size = ::lseek(fd_, 0, SEEK_END);
      if (size >= 0)
        (void) ::ftruncate(fd_, size - static_cast<off_t>(written));
    }
    return failure("write", ec.value());
  }
  if (sync && ::fdatasync(fd_) != 0)
    return failure("sync", errno);
  return {};
}

status journal_writer::header(const journal_header& h) {
  return append(json{{"header",
                      {{"from", h.from},
                       {"to", h.to},
                       {"source", h.source},
                       {"target", h.target},
                       {"filter", h.filter},
                       {"started", format_rfc3339(now_us())}}}}
                  .dump(-1, ' ', false, json::error_handler_t::replace));
}

status journal_writer::intent(record_kind kind, const std::vector<std::string>& keys,
                              const std::map<std::string, std::string>& replaced) {
  return append(json{{"intent", {{"kind", to_string(kind)}, {"keys", keys}, {"replaced", replaced}}}}
                  .dump(-1, ' ', false, json::error_handler_t::replace));
}

status journal_writer::commit(record_kind kind, const std::string& last, uint64_t written) {
  // Not synced: a lost commit mark only makes a resume compare that batch
  // again; the next intent's sync makes it durable anyway.
  return append(
    json{{"commit", {{"kind", to_string(kind)}, {"last", last}, {"written", written}}}}.dump(),
    false);
}

status journal_writer::done(const std::string& summary) {
  return append(json{{"done", {{"finished", format_rfc3339(now_us())}, {"summary", summary}}}}
                  .dump(-1, ' ', false, json::error_handler_t::replace));
}

status journal_writer::rolled_back(const std::string& why) {
  return append(json{{"rolled_back", {{"at", format_rfc3339(now_us())}, {"why", why}}}}
                  .dump(-1, ' ', false, json::error_handler_t::replace));
}

} // namespace orch::migration
