// Reads, queries (through the index column families) and scans.
#include <algorithm>

#include "backends/rocksdb/rocks_engine_impl.hpp"
#include "runtime/core/query_match.hpp"

namespace orch::rocks {

// -- reading ------------------------------------------------------------------------

bool rocks_engine::read(cf_id id, const std::string& key, std::string& out) const {
  if (!has_cf(id))
    return false;
  auto st = db_->Get(rocksdb::ReadOptions{}, cf(id), key, &out);
  if (st.IsNotFound())
    return false;
  if (!st.ok())
    fail(st, std::string{"reading "} + cf_names[id]);
  return true;
}

record rocks_engine::do_get(record_kind kind, const std::string& key) {
  check_open();
  if (!is_valid_key(kind, key))
    throw status_error{errc::invalid, "'" + key + "' is not a valid key for "
                                           + to_string(kind)};
  record r{kind, key, {}};
  if (!read(cf_of(kind), prefix_ + key, r.json))
    throw status_error{errc::not_found, not_found_message(kind, key)};
  return r;
}

record_page rocks_engine::page_of(const record_query& q,
                                  std::vector<std::pair<micros, std::string>> cand,
                                  const record_filter* content_filter) {
  std::sort(cand.begin(), cand.end());
  if (q.newest_first)
    std::reverse(cand.begin(), cand.end());
  record_page page;
  for (auto& [t, key] : cand) {
    std::string text;
    if (!read(cf_of(q.kind), prefix_ + key, text))
      continue;
    if (content_filter && !(*content_filter)(text))
      continue;
    if (page.total >= q.offset && page.items.size() < q.limit)
      page.items.push_back({q.kind, key, std::move(text)});
    ++page.total;
  }
  return page;
}

record_page rocks_engine::page_by_index(const record_query& q, cf_id index, const std::string& lo,
                                        const std::string& hi, size_t key_offset,
                                        uint64_t known_total,
                                        const record_filter* content_filter) {
  record_page page;
  bool exact_total = !content_filter && known_total != time_max;
  uint64_t seen = 0;
  walk(index, lo, hi, q.newest_first, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    auto key = k.ToString().substr(key_offset);
    if (!content_filter) {
      if (seen >= q.offset && page.items.size() < q.limit) {
        std::string text;
        if (read(cf_of(q.kind), prefix_ + key, text))
          page.items.push_back({q.kind, key, std::move(text)});
      }
      ++seen;
      // With a known total, stop as soon as the page is full.
      return !(exact_total && page.items.size() >= q.limit);
    }
    std::string text;
    if (!read(cf_of(q.kind), prefix_ + key, text) || !(*content_filter)(text))
      return true;
    if (seen >= q.offset && page.items.size() < q.limit)
      page.items.push_back({q.kind, key, std::move(text)});
    ++seen;
    return true;
  });
  page.total = exact_total ? known_total : seen;
  return page;
}

record_page rocks_engine::do_query(const record_query& query) {
  check_open();
  auto q = query;
  auto search = apply_search(q);
  if (!search)
    throw status_error{search.error()};
  if (!q.search.empty())
    if (auto page = search_page(q, *search))
      return std::move(*page);
  // Without the index: the search reads each candidate task.
  record_filter filter{q, *search};
  const record_filter* searching = q.search.empty() ? nullptr : &filter;
  bool ranged = q.since != 0 || q.until != 0;
  auto lo_t = be64(time_key(q.since)), hi_t = be64(q.until == 0 ? time_max : time_key(q.until));
  auto kind_byte = std::string(1, static_cast<char>(q.kind));
  if (q.kind == record_kind::task && q.field == "status") {
    task_status s;
    if (!parse_status(q.value, s))
      return {};
    auto base = prefix_ + std::string(1, static_cast<char>(s));
    return page_by_index(q, cf_idx_status, base + lo_t, base + hi_t, base.size() + 8,
                         ranged ? time_max : status_counts_[static_cast<size_t>(s)], searching);
  }
  bool by_target = q.kind == record_kind::audit && q.field == "target" && audit_targets_indexed_;
  if ((q.kind == record_kind::task && q.field == "dependencies")
      || (q.kind == record_kind::event && q.field == "task_id") || by_target) {
    auto index = q.kind == record_kind::task ? cf_idx_deps : cf_idx_event_task;
    auto base = by_target ? audit_target_base(q.value) : prefix_ + q.value + std::string(1, '\0');
    std::vector<std::pair<micros, std::string>> cand;
    walk(index, base, base + std::string(1, '\xff'), false,
         [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
           cand.emplace_back(0, k.ToString().substr(base.size()));
           return true;
         });
    // Order by the record's time: read each (a task's dependants and an
    // event's task are small sets).
    std::vector<std::pair<micros, std::string>> timed;
    for (auto& [t, key] : cand) {
      std::string text;
      if (read(cf_of(q.kind), prefix_ + key, text)) {
        auto rt = record_time(q.kind, text);
        if ((q.since == 0 || rt >= q.since) && (q.until == 0 || rt < q.until))
          timed.emplace_back(rt, key);
      }
    }
    return page_of(q, std::move(timed), searching);
  }
  if (time_indexed(q.kind)) {
    auto base = prefix_ + kind_byte;
    return page_by_index(q, cf_idx_time, base + lo_t, base + hi_t, base.size() + 8,
                         ranged ? time_max : counts_[static_cast<size_t>(q.kind)],
                         q.field.empty() && !searching ? nullptr : &filter);
  }
  // Queue entries and users: small; read them all.
  std::vector<std::pair<micros, std::string>> cand;
  walk(cf_of(q.kind), prefix_, prefix_ + std::string(1, '\xff'), false,
       [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
         auto text = v.ToStringView();
         if (matches(q, text))
           cand.emplace_back(record_time(q.kind, text), k.ToString().substr(prefix_.size()));
         return true;
       });
  return page_of(q, std::move(cand), nullptr);
}

std::vector<record> rocks_engine::do_scan(record_kind kind, const std::string& after,
                                       uint32_t limit) {
  check_open();
  std::vector<record> out;
  if (limit == 0)
    return out;
  walk(cf_of(kind), prefix_ + after, prefix_ + std::string(1, '\xff'), false,
       [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
         auto key = k.ToString().substr(prefix_.size());
         if (key == after)
           return true;  // exclusive
         out.push_back({kind, key, v.ToString()});
         return out.size() < limit;
       });
  return out;
}

uint64_t rocks_engine::do_count(record_kind kind) {
  check_open();
  return counts_[static_cast<size_t>(kind)];
}

} // namespace orch::rocks
