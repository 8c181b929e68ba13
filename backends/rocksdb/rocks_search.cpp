// The task search index (runtime/core/task_search.hpp): the words of each
// task's name and command line, its labels and its owner, each a key
//   prefix | 0x02 | term | 0 | be64(created_at) | task id
// in idx_task_deps (behind a byte no task id starts with, as audit targets
// share idx_event_task), written with the task in the same batch. Terms:
// 'n' + a name word, 'c' + a command word, 'l' + key + 0 + value, 'o' +
// owner. These fields do not change once a task is stored, so a state
// change writes no index entry; only a put that changes them does.
//
// A search reads each term's key range (a word's range holds every word
// that starts with it), intersects the tasks, and reads only the page's
// records; the node (which changes with each attempt), and a large term
// beside a small one, are checked on the records of the tasks left.
#include <algorithm>
#include <array>
#include <cstring>
#include <functional>

#include "backends/rocksdb/rocks_engine_impl.hpp"

namespace orch::rocks {

namespace {

/// be64(created_at) + the task's id (a UUID, 36 characters): a fixed size,
/// so a term's million matches are one allocation, not a million; unsigned,
/// so they sort as RocksDB's keys do (by time, then id).
using candidate = std::array<unsigned char, 44>;
using candidates = std::vector<candidate>;  // sorted

bool to_candidate(std::string_view bytes, candidate& out) {
  if (bytes.size() != out.size())
    return false;
  std::memcpy(out.data(), bytes.data(), out.size());
  return true;
}

std::string id_of(const candidate& c) {
  return std::string(reinterpret_cast<const char*>(c.data()) + 8, 36);
}

bool indexable(const std::string& s) {
  return s.find('\0') == std::string::npos;
}

void add_word_terms(std::set<std::string>& out, char tag, const std::string& words) {
  size_t start = 0;
  for (size_t end = words.find(' '); end != std::string::npos; end = words.find(' ', start)) {
    if (end > start)
      out.insert(tag + words.substr(start, end - start));
    start = end + 1;
  }
}

candidates intersect(const candidates& a, const candidates& b) {
  candidates out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

candidates unite(const candidates& a, const candidates& b) {
  candidates out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void sort_unique(candidates& c) {
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
}

} // namespace

std::set<std::string> rocks_engine::search_keys(const std::string& id,
                                                const staged_record& s) const {
  std::set<std::string> terms;
  add_word_terms(terms, 'n', s.search.name_words);
  add_word_terms(terms, 'c', s.search.command_words);
  for (auto& [k, v] : s.search.labels)
    if (indexable(k) && indexable(v))
      terms.insert('l' + k + std::string(1, '\0') + v);
  if (!s.search.owner.empty() && indexable(s.search.owner))
    terms.insert('o' + s.search.owner);
  std::set<std::string> keys;
  auto tail = std::string(1, '\0') + be64(time_key(s.meta.created_at)) + id;
  for (auto& t : terms)
    keys.insert(search_base() + t + tail);
  return keys;
}

void rocks_engine::search_entries(rocksdb::WriteBatch& wb, const std::string& id,
                                  const staged_record* before, const staged_record* after) {
  // A state change leaves every indexed field as it was: nothing to write,
  // and no keys to build (the common case, on every claim and completion).
  if (before && after && before->meta.created_at == after->meta.created_at
      && before->search.name_words == after->search.name_words
      && before->search.command_words == after->search.command_words
      && before->search.labels == after->search.labels
      && before->search.owner == after->search.owner)
    return;
  std::set<std::string> gone, kept;
  if (before)
    gone = search_keys(id, *before);
  if (after)
    kept = search_keys(id, *after);
  for (auto& k : gone)
    if (!kept.count(k))
      wb.Delete(cf(cf_idx_deps), k);
  for (auto& k : kept)
    if (!gone.count(k))
      wb.Put(cf(cf_idx_deps), k, rocksdb::Slice{});
}

void rocks_engine::index_task_search() {
  auto indexed = build_index(record_kind::task, meta_search_indexed_key(),
                             [&](rocksdb::WriteBatch& wb, const std::string& k,
                                 const staged_record& s) { search_entries(wb, k, nullptr, &s); });
  tasks_search_indexed_ = true;
  if (indexed > 0)
    notes_.push_back("indexed " + std::to_string(indexed)
                     + " tasks for search (once, for databases from before that index)");
}

std::optional<record_page> rocks_engine::search_page(const record_query& q,
                                                     const task_search& s) {
  if (!tasks_search_indexed_ || (!q.field.empty() && q.field != "status"))
    return std::nullopt;
  auto lo = be64(time_key(q.since));
  auto hi = q.until == 0 ? be64(time_max) : be64(time_key(q.until));
  auto in_range = [&](std::string_view created) { return created >= lo && created < hi; };
  // Each reader gives its term's tasks, or nothing if there are more than
  // `cap` entries to read (0: no cap).
  using reader = std::function<std::optional<candidates>(size_t cap)>;

  // The candidates `take(key, value, out)` makes of the keys in [begin, end)
  // of a column family, sorted; nothing if there are more than `cap` keys.
  auto collect = [this](cf_id family, std::string begin, std::string end, auto take) -> reader {
    return [=, this](size_t cap) -> std::optional<candidates> {
      candidates out;
      size_t seen = 0;
      walk(family, begin, end, false, [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
        if (cap != 0 && ++seen > cap)
          return false;
        candidate c;
        if (take(key.ToStringView(), value, c))
          out.push_back(c);
        return true;
      });
      if (cap != 0 && seen > cap)
        return std::nullopt;
      sort_unique(out);
      return out;
    };
  };
  // The tasks of the keys in [begin, end): after the term's end (at once if
  // `exact`, else at the next 0 byte) come be64(created) and the id.
  auto range = [&](std::string begin, std::string end, bool exact) {
    auto term_end = begin.size();
    return collect(cf_idx_deps, begin, end,
                   [=](std::string_view k, const rocksdb::Slice&, candidate& c) {
                     auto sep = exact ? term_end - 1 : k.find('\0', term_end);
                     if (sep == std::string_view::npos || k.size() < sep + 9)
                       return false;
                     auto rest = k.substr(sep + 1);
                     return in_range(rest.substr(0, 8)) && to_candidate(rest, c);
                   });
  };
  auto id_prefix = [&](const std::string& p) {
    return collect(cf_tasks, prefix_ + p, prefix_ + p + '\xff',
                   [=, this](std::string_view k, const rocksdb::Slice& value, candidate& c) {
                     auto created =
                       be64(time_key(record_time(record_kind::task, value.ToStringView())));
                     return in_range(created)
                            && to_candidate(created + std::string{k.substr(prefix_.size())}, c);
                   });
  };
  // Several readers' tasks, intersected or united; nothing if one has too many.
  auto combine = [](std::vector<reader> parts, bool all) -> reader {
    return [=](size_t cap) -> std::optional<candidates> {
      std::optional<candidates> out;
      for (auto& part : parts) {
        auto c = part(cap);
        if (!c)
          return std::nullopt;
        out = !out ? std::move(*c) : all ? intersect(*out, *c) : unite(*out, *c);
      }
      return out.value_or(candidates{});
    };
  };
  auto statuses = [&](const std::vector<task_status>& sts) {
    std::vector<reader> each;
    for (auto st : sts) {
      auto base = prefix_ + std::string(1, static_cast<char>(st));
      each.push_back(collect(cf_idx_status, base + lo, base + hi,
                             [n = base.size()](std::string_view k, const rocksdb::Slice&,
                                               candidate& c) { return to_candidate(k.substr(n), c); }));
    }
    return combine(each, false);
  };
  auto zero = std::string(1, '\0'), one = std::string(1, '\1');
  auto word = [&](char tag, const std::string& w) {
    auto begin = search_base() + tag + w;
    return range(begin, begin + '\xff', false);
  };
  auto words = [&](const std::vector<std::string>& ws, bool name, bool command) {
    std::vector<reader> each;
    for (auto& w : ws) {
      if (name && command)
        each.push_back(combine({word('n', w), word('c', w)}, false));
      else
        each.push_back(word(name ? 'n' : 'c', w));
    }
    return combine(each, true);
  };

  std::vector<reader> readers;
  bool verify = false;
  for (auto& t : s.terms) {
    switch (t.field) {
      case search_field::any:
        readers.push_back(combine({words(t.words, true, true), id_prefix(t.text)}, false));
        break;
      case search_field::id: readers.push_back(id_prefix(t.text)); break;
      case search_field::name: readers.push_back(words(t.words, true, false)); break;
      case search_field::command: readers.push_back(words(t.words, false, true)); break;
      case search_field::label: {
        if (!indexable(t.text) || !indexable(t.value))
          return std::nullopt;
        auto base = search_base() + 'l' + t.text + zero;
        if (t.has_value)
          readers.push_back(range(base + t.value + zero, base + t.value + one, true));
        else
          readers.push_back(range(base, search_base() + 'l' + t.text + one, false));
        break;
      }
      case search_field::status: readers.push_back(statuses(t.statuses)); break;
      case search_field::owner: {
        if (!indexable(t.text))
          return std::nullopt;
        auto base = search_base() + 'o' + t.text;
        readers.push_back(range(base + zero, base + one, true));
        break;
      }
      case search_field::node: verify = true; break;  // changes with each attempt: not indexed
    }
  }
  if (readers.empty())
    return std::nullopt;  // only node: terms: the time index and the records answer it
  if (q.field == "status") {
    task_status st;
    if (!parse_status(q.value, st))
      return record_page{};
    readers.push_back(statuses({st}));
  }
  // First every term up to a few thousand tasks: those that fit are
  // intersected, and the larger ones are checked on the records of the
  // tasks left (a rare word beside a common one reads the rare one's few).
  // Only if every term is large are they all read whole.
  constexpr size_t small_term = 4096;
  std::optional<candidates> found;
  std::vector<reader*> large;
  for (auto& r : readers) {
    if (found && found->empty())
      return record_page{};
    if (auto c = r(small_term))
      found = found ? intersect(*found, *c) : std::move(*c);
    else
      large.push_back(&r);
  }
  if (found && !large.empty())
    verify = true;
  if (!found)
    for (auto* r : large)
      found = found ? intersect(*found, *(*r)(0)) : *(*r)(0);

  auto& cand = *found;
  if (q.newest_first)
    std::reverse(cand.begin(), cand.end());
  record_page page;
  for (auto& c : cand) {
    bool in_page = page.total >= q.offset && page.items.size() < q.limit;
    if (!verify && !in_page) {
      ++page.total;
      continue;
    }
    std::string text;
    if (!read(cf_tasks, prefix_ + id_of(c), text))
      continue;
    if (verify && !search_matches_json(s, text))
      continue;
    if (page.total >= q.offset && page.items.size() < q.limit)
      page.items.push_back({record_kind::task, id_of(c), std::move(text)});
    ++page.total;
  }
  return page;
}

} // namespace orch::rocks
