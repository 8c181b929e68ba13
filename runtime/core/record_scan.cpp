#include "runtime/core/record_scan.hpp"

#include "runtime/core/field_decoder.hpp"

namespace orch {

namespace {

using schema::fields_named;
using tok = json_tokens::tok;

/// Decodes the fields an index needs (and checks all the others).
template <class T>
status scan_as(std::string_view text, T& x, const schema::field_set& keep) {
  schema::decode_rules rules;
  rules.keep = &keep;
  return schema::decode_object(text, x, rules);
}

/// Records keyed by an "id" and indexed by their "time" alone.
template <class T>
status scan_id_and_time(std::string_view text, record_summary& out) {
  static const auto keep = fields_named<T>({"id", "time"});
  T x;
  auto st = scan_as(text, x, keep);
  out.key = std::move(x.id);
  out.time = x.time;
  return st;
}

/// Records listed by their creation time (users, schedules, workflows).
template <class T>
status scan_name_and_created(std::string_view text, record_summary& out) {
  using of = schema::of<T>;
  static const auto keep = fields_named<T>({of::key_name, "created_at"});
  T x;
  auto st = scan_as(text, x, keep);
  out.key = std::move(x.*of::key);
  out.time = out.created_at = x.created_at;
  return st;
}

} // namespace

status scan_record(record_kind kind, std::string_view text, record_summary& out) {
  out = record_summary{};
  switch (kind) {
    case record_kind::task: {
      static const auto keep =
        fields_named<task>({"id", "status", "created_at", "revision", "dependencies", "name",
                            "command", "args", "script_file", "labels", "node", "owner"});
      task t;
      auto st = scan_as(text, t, keep);
      out.key = std::move(t.id);
      out.time = out.created_at = t.created_at;
      out.status = t.status;
      out.revision = t.revision;
      out.dependencies = std::move(t.dependencies);
      out.search = make_search_doc(t);
      return st;
    }
    case record_kind::queue: {
      auto st = schema::decode_object(text, out.entry);
      out.key = out.task_id = out.entry.task_id;
      out.time = out.entry.lease_until;
      return st;
    }
    case record_kind::event: {
      static const auto keep = fields_named<task_event>({"id", "time", "task_id"});
      task_event e;
      auto st = scan_as(text, e, keep);
      out.key = std::move(e.id);
      out.time = e.time;
      out.task_id = std::move(e.task_id);
      return st;
    }
    case record_kind::audit: {
      // The target groups audit records as the task groups events.
      static const auto keep = fields_named<audit_record>({"id", "time", "target"});
      audit_record a;
      auto st = scan_as(text, a, keep);
      out.key = std::move(a.id);
      out.time = a.time;
      out.task_id = std::move(a.target);
      return st;
    }
    case record_kind::metric:
      return scan_id_and_time<metric_sample>(text, out);
    case record_kind::schedule:
      return scan_name_and_created<schedule>(text, out);
    case record_kind::workflow:
      return scan_name_and_created<workflow>(text, out);
    case record_kind::user:
      return scan_name_and_created<user>(text, out);
  }
  return {errc::invalid, "unknown record kind"};
}

bool scan_field(std::string_view text, const std::string& field, std::string& value) {
  json_tokens in{text};
  if (in.next() != tok::begin_object)
    return false;
  value.clear();
  for (;;) {
    auto t = in.next();
    if (t != tok::key)
      return t == tok::end_object;
    bool wanted = (in.has_escapes() ? in.text() : std::string{in.raw()}) == field;
    t = in.next();
    if (!wanted) {
      if (!schema::skip_value(in, t))
        return false;
      continue;
    }
    switch (t) {
      case tok::string: value = in.text(); break;
      case tok::integer:
      case tok::floating: value = std::string{in.number_text()}; break;
      case tok::boolean: value = in.bool_value() ? "true" : "false"; break;
      case tok::null: value.clear(); break;
      default:
        // Arrays and objects are not compared by preconditions.
        if (!schema::skip_value(in, t))
          return false;
        break;
    }
  }
}

} // namespace orch
