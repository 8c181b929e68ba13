// The progress journal of a migration, kept beside the target: a JSON-lines
// file, synced after every entry but commit marks. It is what makes a migration resumable
// (the last key committed per kind) and undoable (every key it wrote, and the
// earlier version of every record it replaced).
//
//   {"header": {...}}                         what is migrated where
//   {"intent": {"kind", "keys", "replaced"}}  written before a batch goes out
//   {"commit": {"kind", "last", "written"}}   after the batch is durable (not
//                                             synced itself: the next entry's sync
//                                             covers it, and a lost one only
//                                             makes a resume compare the batch)
//   {"done": {...}} / {"rolled_back": {...}}  the end
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"

namespace orch::migration {

struct journal_header {
  std::string from;
  std::string to;
  std::string source;                        // description, no credentials
  std::string target;
  std::string filter;
};

/// What a journal file says.
struct journal_state {
  bool exists = false;
  bool done = false;
  bool rolled_back = false;
  journal_header header;
  std::map<record_kind, std::string> last_committed;     // resume after this key
  std::map<record_kind, uint64_t> written;               // records committed per kind
  std::map<record_kind, std::set<std::string>> touched;  // every key of every intent
  std::map<record_kind, std::map<std::string, std::string>> replaced;  // key -> earlier JSON
};

/// Reads a journal; a torn last line (a crash while appending) is ignored,
/// and so is any line that is not a journal entry. errc::invalid if the file
/// exists but is not a journal; io_error if it cannot be read.
result<journal_state> read_journal(const std::string& path);

/// The same for a journal's text (`path` names it in messages).
result<journal_state> parse_journal(std::string_view text, const std::string& path);

/// Appends to a journal. Every entry is written whole or not at all (a
/// failed write takes its partial line back). Thread-safe: the migration's
/// sink and its writer thread both append.
class journal_writer {
public:
  /// Opens for appending (creating it), after cutting off a torn last line.
  static result<std::unique_ptr<journal_writer>> open(const std::string& path);
  ~journal_writer();
  journal_writer(const journal_writer&) = delete;
  journal_writer& operator=(const journal_writer&) = delete;

  status header(const journal_header& h);
  status intent(record_kind kind, const std::vector<std::string>& keys,
                const std::map<std::string, std::string>& replaced);
  status commit(record_kind kind, const std::string& last, uint64_t written);
  status done(const std::string& summary);
  status rolled_back(const std::string& why);

private:
  journal_writer(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  status append(const std::string& line, bool sync = true);
  result<off_t> complete_length() const;
  status cut_torn_tail();
  status failure(const std::string& what, int err) const;
  std::mutex mutex_;
  int fd_ = -1;
  std::string path_;
};

} // namespace orch::migration
