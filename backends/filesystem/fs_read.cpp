// Reads and queries, answered from the in-memory indexes and the files.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "backends/filesystem/fs_engine_impl.hpp"
#include "runtime/core/canonical_text.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/query_match.hpp"

namespace orch::fs {

// -- reading ------------------------------------------------------------------------

bool fs_engine::exists(record_kind k, const std::string& key) const {
  switch (k) {
    case record_kind::task: return tasks_.count(key) > 0;
    case record_kind::queue: return queue_.find(key) != nullptr;
    case record_kind::user:
    case record_kind::schedule:
    case record_kind::workflow: return names_of(k).count(key) > 0;
    case record_kind::audit: return audit_->index().count(key) > 0;
    case record_kind::metric: return metrics_->index().count(key) > 0;
    case record_kind::event: return events_->index().count(key) > 0;
  }
  return false;
}

std::string fs_engine::read_canonical(record_kind k, const std::string& key) {
  if (!exists(k, key))
    throw status_error{errc::not_found, not_found_message(k, key)};
  if (k == record_kind::queue)
    return encode(*queue_.find(key));
  // Committed but not yet written in place: the new version is this one.
  if (unpublished_)
    if (auto s = unpublished_->overlay.find({k, key}); s != unpublished_->overlay.end())
      return s->second.json;
  if (!is_file_kind(k))
    return log_of(k).read(key);
  auto path = file_of(k, key);
  auto text = fs::read_file(path);
  // Our files are pretty-printed canonical JSON: dropping the whitespace is
  // enough, and much cheaper than a parse and a dump (the full way stays for
  // files edited by hand).
  std::string out;
  if (canonical_from_text(text, out))
    return out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    throw status_error{errc::corrupted, path + " is no longer valid JSON (changed on disk "
                                                  "while the orchestrator runs?)"};
  return canonical(j);
}

record fs_engine::do_get(record_kind kind, const std::string& key) {
  if (!is_valid_key(kind, key))
    throw status_error{errc::invalid, "'" + key + "' is not a valid key for "
                                           + to_string(kind)};
  return {kind, key, read_canonical(kind, key)};
}

std::vector<std::pair<micros, std::string>> fs_engine::candidates(const record_query& q,
                                                                   bool& content_filter) {
  // Cheap filters come from the indexes; the rest of the filter needs the
  // record itself (content_filter stays set).
  std::vector<std::pair<micros, std::string>> cand;
  content_filter = !q.field.empty();
  auto in_range = [&](micros t) {
    return (q.since == 0 || t >= q.since) && (q.until == 0 || t < q.until);
  };
  switch (q.kind) {
    case record_kind::task: {
      const time_index* src = &tasks_by_time_;
      static const time_index empty;
      task_status s;
      if (q.field == "status" && parse_status(q.value, s)) {
        auto i = tasks_by_status_.find(s);
        src = i == tasks_by_status_.end() ? &empty : &i->second;
        content_filter = false;
      } else if (q.field == "status") {
        src = &empty;
      }
      if (q.field == "dependencies") {
        auto range = dependants_.equal_range(q.value);
        for (auto it = range.first; it != range.second; ++it) {
          auto& m = tasks_.at(it->second);
          if (in_range(m.created_at))
            cand.emplace_back(m.created_at, it->second);
        }
        std::sort(cand.begin(), cand.end());
        content_filter = false;
      } else {
        auto lo = q.since == 0 ? src->begin() : src->lower_bound(q.since);
        auto hi = q.until == 0 ? src->end() : src->lower_bound(q.until);
        for (auto it = lo; it != hi; ++it)
          cand.emplace_back(it->time, *it->id);
      }
      break;
    }
    case record_kind::queue:
      for (auto& [id, e] : queue_.entries())
        if ((q.since == 0 && q.until == 0) || (e.lease_until != 0 && in_range(e.lease_until)))
          cand.emplace_back(e.lease_until, id);
      std::sort(cand.begin(), cand.end());
      break;
    case record_kind::user:
    case record_kind::schedule:
    case record_kind::workflow:
      for (auto& name : names_of(q.kind))
        cand.emplace_back(0, name);
      content_filter = content_filter || q.since != 0 || q.until != 0;
      break;
    default: {
      auto& log = log_of(q.kind);
      if ((q.kind == record_kind::event && q.field == "task_id")
          || (q.kind == record_kind::audit && q.field == "target")) {
        for (auto& key : log.keys_of_task(q.value)) {
          auto t = log.index().at(key).time;
          if (in_range(t))
            cand.emplace_back(t, key);
        }
        content_filter = false;
      } else {
        for (auto& [key, loc] : log.index())
          if (in_range(loc.time))
            cand.emplace_back(loc.time, key);
      }
      std::sort(cand.begin(), cand.end());
      break;
    }
  }
  return cand;
}

record_page fs_engine::do_query(const record_query& query) {
  auto q = query;
  auto search = apply_search(q);
  if (!search)
    throw status_error{search.error()};
  bool content_filter = false;
  auto cand = candidates(q, content_filter);
  if (!q.search.empty()) {
    // From memory: the tasks' search fields, status and id.
    std::erase_if(cand, [&](const std::pair<micros, std::string>& c) {
      auto t = tasks_.find(c.second);
      return t == tasks_.end()
             || !search_matches(*search, c.second, t->second.status, search_docs_.at(&t->first));
    });
  }
  if (q.newest_first)
    std::reverse(cand.begin(), cand.end());
  record_page page;
  if (!content_filter) {
    page.total = cand.size();
    for (uint64_t i = q.offset; i < cand.size() && page.items.size() < q.limit; ++i)
      page.items.push_back({q.kind, cand[i].second, read_canonical(q.kind, cand[i].second)});
    return page;
  }
  for (auto& [t, key] : cand) {
    auto text = read_canonical(q.kind, key);
    if (!matches(q, text))
      continue;
    if (page.total >= q.offset && page.items.size() < q.limit)
      page.items.push_back({q.kind, key, std::move(text)});
    ++page.total;
  }
  return page;
}

std::vector<record> fs_engine::do_scan(record_kind kind, const std::string& after, uint32_t limit) {
  std::vector<record> out;
  auto take = [&](const std::string& key) {
    out.push_back({kind, key, read_canonical(kind, key)});
    return out.size() < limit;
  };
  auto walk = [&](const auto& container, auto key_of) {
    for (auto it = container.upper_bound(after); it != container.end(); ++it)
      if (!take(key_of(*it)))
        break;
  };
  if (limit == 0)
    return out;
  switch (kind) {
    case record_kind::task: walk(tasks_, [](auto& p) { return p.first; }); break;
    case record_kind::queue: walk(queue_.entries(), [](auto& p) { return p.first; }); break;
    case record_kind::user:
    case record_kind::schedule:
    case record_kind::workflow: walk(names_of(kind), [](auto& k) { return k; }); break;
    default: walk(log_of(kind).index(), [](auto& p) { return p.first; }); break;
  }
  return out;
}

uint64_t fs_engine::do_count(record_kind kind) {
  switch (kind) {
    case record_kind::task: return tasks_.size();
    case record_kind::queue: return queue_.entries().size();
    case record_kind::user:
    case record_kind::schedule:
    case record_kind::workflow: return names_of(kind).size();
    default: return log_of(kind).index().size();
  }
}

} // namespace orch::fs
