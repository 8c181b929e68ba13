// Task search (`GET /tasks?q=...`): the query language, parsed and checked,
// and what a task matches. Pure, so every backend answers a query the same
// way: the filesystem and RocksDB engines run `search_matches` on their
// candidates, the SurrealDB backend translates the parsed terms into its
// own conditions (backends/surrealdb/surreal_search.cpp) with the same
// meaning, and the storage conformance suite holds them to it.
//
// A query is terms separated by spaces, all of which must match:
//   build            a word of the task's name, command, arguments or script
//                    file starts with "build" (case-insensitive), or the
//                    task's id starts with it
//   name:build       a word of the name starts with it
//   cmd:rsync        a word of the command, arguments or script file
//   id:0193ab        the id starts with it
//   label:team=infra the task has that label; label:team, that label key
//   status:failed,cancelled
//   node:gpu-1  owner:alice
//   since:2026-12-01 until:2026-12-07T12:00:00Z   its creation time
// Quotes group a term: name:"nightly backup", "http://x" (a term whose
// text has a ':' must be quoted). A word is a run of letters and digits:
// every byte that is not an ASCII letter or digit and is ASCII separates.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

enum class search_field : uint8_t { any, id, name, command, label, status, node, owner };

struct search_term {
  search_field field = search_field::any;
  /// any: the term's text, ASCII-lowercased (the id prefix it may be);
  /// id: the prefix, lowercased; node, owner: the exact value;
  /// label: the key.
  std::string text;
  /// any, name, command: the term's words, ASCII-lowercased; each must
  /// start a word of the field(s).
  std::vector<std::string> words;
  bool has_value = false;                    // label: key=value (else: the key is present)
  std::string value;                         // label value
  std::vector<task_status> statuses;         // status: one of these
};

struct task_search {
  std::vector<search_term> terms;
  micros since = 0;                          // creation time, inclusive; 0: unbounded
  micros until = 0;                          // exclusive; 0: unbounded
};

/// The search term of the tasks still to end (Pending, Queued, Running).
inline constexpr std::string_view unfinished_search_term = "status:pending,queued,running";

inline constexpr size_t max_search_length = 1000;
inline constexpr size_t max_search_terms = 20;

/// Parses a query; refused with what is wrong and how to write it.
result<task_search> parse_task_search(std::string_view q);

/// Parses `q.search` (if set) and narrows q.since/q.until to its time range;
/// a search is for tasks only.
result<task_search> apply_search(record_query& q);

/// The words of `text` as searches see them, ASCII-lowercased.
std::vector<std::string> search_words(std::string_view text);

/// What a search reads of a task, kept small: the filesystem engine holds
/// one per task in memory.
struct search_doc {
  std::string name_words;                    // the name's words, lowercased, each followed by ' '
  std::string command_words;                 // the command's, arguments' and script file's
  std::map<std::string, std::string> labels;
  std::string node;
  std::string owner;
};

search_doc make_search_doc(const task& t);

/// What a search reads of a stored task: its id, status and search_doc,
/// decoded from its JSON without the rest (its output, its environment).
struct searchable_task {
  std::string id;
  task_status status = task_status::pending;
  search_doc doc;
};
status read_searchable(std::string_view task_json, searchable_task& out);

/// Does the task (its id, status and search_doc) match every term? The
/// time range is the caller's (it selects candidates by creation time).
bool search_matches(const task_search& s, std::string_view id, task_status status,
                    const search_doc& doc);

/// The same, read from a stored task's JSON; false if it is not one.
bool search_matches_json(const task_search& s, std::string_view task_json);

} // namespace orch
