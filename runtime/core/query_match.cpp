#include "runtime/core/query_match.hpp"

#include "runtime/core/field_decoder.hpp"

namespace orch {

namespace {

using tok = json_tokens::tok;

std::string_view time_field_name(record_kind kind) {
  return schema::visit_kind(kind, [](auto tag) {
    return schema::time_field_name<typename decltype(tag)::type>();
  });
}

/// A scalar token as filters compare it: strings unescaped, numbers and
/// booleans as written, null as "".
std::string scalar_text(json_tokens& in, tok t) {
  switch (t) {
    case tok::string: return in.text();
    case tok::integer:
    case tok::floating: return std::string{in.number_text()};
    case tok::boolean: return in.bool_value() ? "true" : "false";
    default: return {};
  }
}

bool same_value(const record_query& q, const std::string& actual) {
  if (actual == q.value)
    return true;
  // Status values are matched case-insensitively ("failed" finds "Failed").
  task_status a, b;
  return q.field == "status" && parse_status(q.value, a) && parse_status(actual, b) && a == b;
}

/// What one pass over a record found out about a query's field and time.
struct probe {
  bool field_seen = false;
  bool field_matches = false;
  micros time = 0;
};

bool read_probe(const record_query& q, std::string_view text, std::string_view time_name,
                probe& p) {
  json_tokens in{text};
  if (in.next() != tok::begin_object)
    return false;
  for (;;) {
    auto t = in.next();
    if (t != tok::key)
      return t == tok::end_object;
    auto name = in.has_escapes() ? in.text() : std::string{in.raw()};
    t = in.next();
    if (!q.field.empty() && name == q.field) {
      p.field_seen = true;
      if (t == tok::begin_array) {
        p.field_matches = false;
        for (t = in.next(); t != tok::end_array; t = in.next()) {
          if (t == tok::error)
            return false;
          if (t == tok::begin_object || t == tok::begin_array) {
            if (!schema::skip_value(in, t))
              return false;
            continue;
          }
          if (t == tok::null ? q.value == "null" : scalar_text(in, t) == q.value)
            p.field_matches = true;
        }
        continue;
      }
      if (t == tok::begin_object) {
        p.field_matches = false;
        if (!schema::skip_value(in, t))
          return false;
        continue;
      }
      p.field_matches = same_value(q, scalar_text(in, t));
      continue;
    }
    if (name == time_name && t == tok::string) {
      micros v = 0;
      p.time = parse_rfc3339(in.text(), v) ? v : 0;
      continue;
    }
    if (!schema::skip_value(in, t))
      return false;
  }
}

} // namespace

micros record_time(record_kind kind, std::string_view text) {
  record_query q;
  probe p;
  return read_probe(q, text, time_field_name(kind), p) ? p.time : 0;
}

bool matches(const record_query& q, std::string_view text) {
  probe p;
  if (!read_probe(q, text, time_field_name(q.kind), p))
    return false;
  if (!q.field.empty() && !(p.field_seen && p.field_matches))
    return false;
  if (q.since != 0 || q.until != 0) {
    if (p.time == 0)
      return false;
    if (q.since != 0 && p.time < q.since)
      return false;
    if (q.until != 0 && p.time >= q.until)
      return false;
  }
  return true;
}

} // namespace orch
