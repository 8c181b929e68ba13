#include "runtime/core/record_scan.hpp"

#include <limits>

#include "runtime/core/json_tokens.hpp"
#include "runtime/core/ids.hpp"

namespace orch {

namespace {

using tok = json_tokens::tok;

enum class ftype : uint8_t { str, i32, u32, u64, num, boolean, time, strarr, strmap, status };

struct field_spec {
  std::string_view name;
  ftype type;
};

// The fields of each kind and their types: the same rules as the decoders in
// runtime/model/codec.cpp.
const std::vector<field_spec>& schema(record_kind k) {
  static const std::vector<field_spec> task_fields{
    {"id", ftype::str},           {"name", ftype::str},         {"command", ftype::str},
    {"args", ftype::strarr},      {"env", ftype::strmap},       {"workdir", ftype::str},
    {"script", ftype::str},       {"script_file", ftype::str},  {"priority", ftype::i32},
    {"dependencies", ftype::strarr}, {"status", ftype::status}, {"created_at", ftype::time},
    {"started_at", ftype::time},  {"completed_at", ftype::time}, {"not_before", ftype::time},
    {"attempts", ftype::u32},     {"max_retries", ftype::u32},  {"timeout_s", ftype::u32},
    {"exit_code", ftype::i32},    {"output", ftype::str},       {"stderr", ftype::str},
    {"error", ftype::str},        {"labels", ftype::strmap},    {"owner", ftype::str},
    {"revision", ftype::u64}};
  static const std::vector<field_spec> queue_fields{
    {"task_id", ftype::str},     {"priority", ftype::i32}, {"enqueued_at", ftype::time},
    {"not_before", ftype::time}, {"attempt", ftype::u32},  {"claimed_by", ftype::str},
    {"lease_until", ftype::time}};
  static const std::vector<field_spec> event_fields{
    {"id", ftype::str},     {"time", ftype::time},   {"task_id", ftype::str},
    {"kind", ftype::str},   {"status", ftype::str},  {"attempt", ftype::u32},
    {"details", ftype::str}};
  static const std::vector<field_spec> audit_fields{
    {"id", ftype::str},     {"time", ftype::time},  {"principal", ftype::str},
    {"action", ftype::str}, {"target", ftype::str}, {"outcome", ftype::str},
    {"details", ftype::str}};
  static const std::vector<field_spec> metric_fields{
    {"id", ftype::str}, {"time", ftype::time}, {"name", ftype::str},
    {"labels", ftype::strmap}, {"value", ftype::num}};
  static const std::vector<field_spec> user_fields{
    {"username", ftype::str},     {"password_hash", ftype::str}, {"roles", ftype::strarr},
    {"created_at", ftype::time}, {"disabled", ftype::boolean}};
  switch (k) {
    case record_kind::task: return task_fields;
    case record_kind::queue: return queue_fields;
    case record_kind::event: return event_fields;
    case record_kind::audit: return audit_fields;
    case record_kind::metric: return metric_fields;
    case record_kind::user: return user_fields;
  }
  return task_fields;
}

const char* expected(ftype t) {
  switch (t) {
    case ftype::str: return "a string";
    case ftype::i32:
    case ftype::u32:
    case ftype::u64: return "an integer";
    case ftype::num: return "a number";
    case ftype::boolean: return "true or false";
    case ftype::time: return "an RFC 3339 time string";
    case ftype::strarr: return "an array of strings";
    case ftype::strmap: return "an object of strings";
    case ftype::status: return "one of Pending, Queued, Running, Completed, Failed, Cancelled";
  }
  return "valid";
}

const char* type_of(tok t) {
  switch (t) {
    case tok::begin_object: return "object";
    case tok::begin_array: return "array";
    case tok::string: return "string";
    case tok::integer: return "integer";
    case tok::floating: return "a fractional number";
    case tok::boolean: return "boolean";
    case tok::null: return "null";
    default: return "something else";
  }
}

/// Skips the rest of a value whose first token was `t`; false on an error.
bool skip_value(json_tokens& in, tok t) {
  if (t == tok::error)
    return false;
  if (t != tok::begin_object && t != tok::begin_array)
    return true;
  auto depth = in.depth();
  while (in.depth() >= depth) {
    if (in.next() == tok::error)
      return false;
  }
  return true;
}

/// Reads a string array (after its '['); adds the elements to `out` if given.
std::string read_strings(json_tokens& in, std::string_view field, std::vector<std::string>* out) {
  for (size_t i = 0;; ++i) {
    auto t = in.next();
    if (t == tok::end_array)
      return {};
    if (t == tok::error)
      return in.error();
    if (t != tok::string)
      return "field '" + std::string{field} + "' must be an array of strings, but element "
             + std::to_string(i) + " is " + type_of(t);
    if (out)
      out->push_back(in.text());
  }
}

std::string read_string_map(json_tokens& in, std::string_view field) {
  for (;;) {
    auto t = in.next();
    if (t == tok::end_object)
      return {};
    if (t == tok::error)
      return in.error();
    auto name = in.text();
    t = in.next();
    if (t == tok::error)
      return in.error();
    if (t != tok::string)
      return "field '" + std::string{field} + "' must map names to strings, but '" + name
             + "' is " + type_of(t);
  }
}

std::string check_integer(json_tokens& in, std::string_view field, ftype type, int64_t& value) {
  auto m = in.magnitude();
  bool neg = in.negative();
  bool ok;
  switch (type) {
    case ftype::i32:
      ok = neg ? m <= uint64_t{1} << 31 : m <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
      break;
    case ftype::u32: ok = !neg && m <= std::numeric_limits<uint32_t>::max(); break;
    default: ok = !neg && m <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()); break;
  }
  if (!ok)
    return "field '" + std::string{field} + "' is out of range";
  value = neg ? -static_cast<int64_t>(m) : static_cast<int64_t>(m);
  return {};
}

} // namespace

std::string scan_record(record_kind kind, std::string_view text, record_summary& out) {
  out = record_summary{};
  json_tokens in{text};
  auto t = in.next();
  if (t == tok::error)
    return in.error();
  if (t != tok::begin_object)
    return std::string{"a "} + to_string(kind) + " record must be a JSON object, got "
           + type_of(t);
  auto& fields = schema(kind);
  for (;;) {
    t = in.next();
    if (t == tok::end_object)
      break;
    if (t == tok::error)
      return in.error();
    std::string unescaped;
    std::string_view name = in.raw();
    if (in.has_escapes())
      name = unescaped = in.text();
    const field_spec* spec = nullptr;
    for (auto& f : fields)
      if (f.name == name) {
        spec = &f;
        break;
      }
    t = in.next();
    if (!spec) {  // unknown fields are allowed
      if (!skip_value(in, t))
        return in.error();
      continue;
    }
    if (t == tok::error)
      return in.error();
    if (t == tok::null)
      continue;  // null means unset
    auto wrong = [&] {
      return "field '" + std::string{name} + "' must be " + expected(spec->type) + ", got "
             + type_of(t);
    };
    switch (spec->type) {
      case ftype::strarr: {
        if (t != tok::begin_array)
          return wrong();
        bool deps = kind == record_kind::task && name == "dependencies";
        if (auto err = read_strings(in, name, deps ? &out.dependencies : nullptr); !err.empty())
          return err;
        continue;
      }
      case ftype::strmap:
        if (t != tok::begin_object)
          return wrong();
        if (auto err = read_string_map(in, name); !err.empty())
          return err;
        continue;
      case ftype::i32:
      case ftype::u32:
      case ftype::u64: {
        if (t != tok::integer)
          return wrong();
        int64_t v = 0;
        if (auto err = check_integer(in, name, spec->type, v); !err.empty())
          return err;
        if (kind == record_kind::task && name == "revision")
          out.revision = static_cast<uint64_t>(v);
        else if (kind == record_kind::queue && name == "priority")
          out.entry.priority = static_cast<int32_t>(v);
        else if (kind == record_kind::queue && name == "attempt")
          out.entry.attempt = static_cast<uint32_t>(v);
        continue;
      }
      case ftype::num:
        if (t != tok::integer && t != tok::floating)
          return wrong();
        continue;
      case ftype::boolean:
        if (t != tok::boolean)
          return wrong();
        continue;
      case ftype::status: {
        if (t != tok::string || !parse_status(in.text(), out.status))
          return wrong();
        continue;
      }
      case ftype::time: {
        if (t != tok::string)
          return wrong();
        micros v = 0;
        auto value = in.text();
        if (!parse_rfc3339(value, v))
          return "field '" + std::string{name}
                 + "' must be an RFC 3339 time such as 2026-01-02T03:04:05Z, got '" + value + "'";
        if (name == "created_at") {
          out.created_at = v;
          if (kind == record_kind::task || kind == record_kind::user)
            out.time = v;
        } else if (name == "time") {
          out.time = v;
        } else if (kind == record_kind::queue) {
          if (name == "enqueued_at") out.entry.enqueued_at = v;
          else if (name == "not_before") out.entry.not_before = v;
          else if (name == "lease_until") out.entry.lease_until = out.time = v;
        }
        continue;
      }
      case ftype::str: {
        if (t != tok::string)
          return wrong();
        if (name == "id" || name == "username")
          out.key = in.text();
        else if (name == "task_id") {
          out.task_id = in.text();
          if (kind == record_kind::queue)
            out.key = out.entry.task_id = out.task_id;
        } else if (kind == record_kind::queue && name == "claimed_by")
          out.entry.claimed_by = in.text();
        continue;
      }
    }
  }
  if (in.next() != tok::end)
    return in.error().empty() ? std::string{"not valid JSON: unexpected text after the record"}
                              : in.error();
  if (!is_valid_key(kind, out.key)) {
    auto field = kind == record_kind::user    ? "username"
                 : kind == record_kind::queue ? "task_id"
                                              : "id";
    return std::string{"field '"} + field + "' must be "
           + (kind == record_kind::user ? "a valid user name" : "a UUID") + ", got '" + out.key
           + "'";
  }
  return {};
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
      if (!skip_value(in, t))
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
        if (!skip_value(in, t))
          return false;
        break;
    }
  }
}

} // namespace orch
