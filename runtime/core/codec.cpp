#include "runtime/core/codec.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/core/ids.hpp"
#include "runtime/core/json_writer.hpp"

namespace orch {

namespace {

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::number_float: return "a fractional number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    default: return "binary";
  }
}

json time_json(micros t) {
  return t == 0 ? json(nullptr) : json(format_rfc3339(t));
}

/// Reads typed fields out of a JSON object, recording the first problem.
/// Missing fields and nulls keep the default, so stored records written by
/// older versions still load.
class field_reader {
public:
  field_reader(const json& j, std::string& err) : j_(j), err_(err) {}

  bool ok() const { return ok_; }

  const json* find(const char* name) {
    if (!ok_)
      return nullptr;
    auto i = j_.find(name);
    if (i == j_.end() || i->is_null())
      return nullptr;
    return &*i;
  }

  void fail(const char* name, const std::string& what) {
    if (ok_) {
      err_ = std::string{"field '"} + name + "' " + what;
      ok_ = false;
    }
  }

  void wrong_type(const char* name, const char* expected, const json& v) {
    fail(name, std::string{"must be "} + expected + ", got " + type_name(v));
  }

  void str(const char* name, std::string& out) {
    if (auto v = find(name)) {
      if (!v->is_string())
        return wrong_type(name, "a string", *v);
      out = v->get<std::string>();
    }
  }

  template <class Int>
  void integer(const char* name, Int& out, long long lo = std::numeric_limits<Int>::min(),
               long long hi = static_cast<long long>(
                 std::min<unsigned long long>(std::numeric_limits<Int>::max(),
                                              std::numeric_limits<long long>::max()))) {
    if (auto v = find(name)) {
      if (!v->is_number_integer())
        return wrong_type(name, "an integer", *v);
      if (v->is_number_unsigned() && v->get<unsigned long long>() > static_cast<unsigned long long>(hi))
        return fail(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      auto x = v->get<long long>();
      if (x < lo || x > hi)
        return fail(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      out = static_cast<Int>(x);
    }
  }

  void number(const char* name, double& out) {
    if (auto v = find(name)) {
      if (!v->is_number())
        return wrong_type(name, "a number", *v);
      out = v->get<double>();
    }
  }

  void boolean(const char* name, bool& out) {
    if (auto v = find(name)) {
      if (!v->is_boolean())
        return wrong_type(name, "true or false", *v);
      out = v->get<bool>();
    }
  }

  void time(const char* name, micros& out) {
    if (auto v = find(name)) {
      if (!v->is_string())
        return wrong_type(name, "an RFC 3339 time string", *v);
      if (!parse_rfc3339(v->get_ref<const std::string&>(), out))
        fail(name, "must be an RFC 3339 time such as 2026-01-02T03:04:05Z, got '"
                     + v->get<std::string>() + "'");
    }
  }

  void strings(const char* name, std::vector<std::string>& out) {
    if (auto v = find(name)) {
      if (!v->is_array())
        return wrong_type(name, "an array of strings", *v);
      out.clear();
      for (size_t i = 0; i < v->size(); ++i) {
        const auto& e = (*v)[i];
        if (!e.is_string())
          return fail(name, "must be an array of strings, but element " + std::to_string(i)
                              + " is " + type_name(e));
        out.push_back(e.get<std::string>());
      }
    }
  }

  void string_map(const char* name, std::map<std::string, std::string>& out) {
    if (auto v = find(name)) {
      if (!v->is_object())
        return wrong_type(name, "an object of strings", *v);
      out.clear();
      for (auto& [k, e] : v->items()) {
        if (!e.is_string())
          return fail(name, "must map names to strings, but '" + k + "' is " + type_name(e));
        out.emplace(k, e.get<std::string>());
      }
    }
  }

private:
  const json& j_;
  std::string& err_;
  bool ok_ = true;
};

bool require_object(const json& j, const char* what, std::string& err) {
  if (!j.is_object()) {
    err = std::string{what} + " must be a JSON object, got " + type_name(j);
    return false;
  }
  return true;
}

} // namespace

// -- encoders ---------------------------------------------------------------

json to_json(const task& x) {
  return json{
    {"id", x.id},
    {"name", x.name},
    {"command", x.command},
    {"args", x.args},
    {"env", x.env},
    {"workdir", x.workdir},
    {"script", x.script},
    {"script_file", x.script_file},
    {"priority", x.priority},
    {"dependencies", x.dependencies},
    {"status", to_string(x.status)},
    {"created_at", time_json(x.created_at)},
    {"started_at", time_json(x.started_at)},
    {"completed_at", time_json(x.completed_at)},
    {"not_before", time_json(x.not_before)},
    {"attempts", x.attempts},
    {"max_retries", x.max_retries},
    {"timeout_s", x.timeout_s},
    {"exit_code", x.has_exit_code ? json(x.exit_code) : json(nullptr)},
    {"output", x.output},
    {"stderr", x.error_output},
    {"error", x.error},
    {"labels", x.labels},
    {"owner", x.owner},
    {"revision", x.revision},
  };
}

json to_json(const queue_entry& x) {
  return json{
    {"task_id", x.task_id},
    {"priority", x.priority},
    {"enqueued_at", time_json(x.enqueued_at)},
    {"not_before", time_json(x.not_before)},
    {"attempt", x.attempt},
    {"claimed_by", x.claimed_by},
    {"lease_until", time_json(x.lease_until)},
  };
}

json to_json(const task_event& x) {
  return json{
    {"id", x.id},         {"time", time_json(x.time)}, {"task_id", x.task_id},
    {"kind", x.kind},     {"status", x.status},        {"attempt", x.attempt},
    {"details", x.details},
  };
}

json to_json(const audit_record& x) {
  return json{
    {"id", x.id},         {"time", time_json(x.time)}, {"principal", x.principal},
    {"action", x.action}, {"target", x.target},        {"outcome", x.outcome},
    {"details", x.details},
  };
}

json to_json(const metric_sample& x) {
  return json{
    {"id", x.id},     {"time", time_json(x.time)}, {"name", x.name},
    {"labels", x.labels}, {"value", x.value},
  };
}

json to_json(const user& x) {
  return json{
    {"username", x.username},
    {"password_hash", x.password_hash},
    {"roles", x.roles},
    {"created_at", time_json(x.created_at)},
    {"disabled", x.disabled},
  };
}

// -- decoders for stored records ---------------------------------------------

bool from_json(const json& j, task& x, std::string& err) {
  if (!require_object(j, "a task", err))
    return false;
  field_reader r{j, err};
  x = task{};
  r.str("id", x.id);
  r.str("name", x.name);
  r.str("command", x.command);
  r.strings("args", x.args);
  r.string_map("env", x.env);
  r.str("workdir", x.workdir);
  r.str("script", x.script);
  r.str("script_file", x.script_file);
  r.integer("priority", x.priority);
  r.strings("dependencies", x.dependencies);
  if (auto v = r.find("status")) {
    if (!v->is_string() || !parse_status(v->get_ref<const std::string&>(), x.status))
      r.fail("status", "must be one of Pending, Queued, Running, Completed, Failed, Cancelled");
  }
  r.time("created_at", x.created_at);
  r.time("started_at", x.started_at);
  r.time("completed_at", x.completed_at);
  r.time("not_before", x.not_before);
  r.integer("attempts", x.attempts);
  r.integer("max_retries", x.max_retries);
  r.integer("timeout_s", x.timeout_s);
  if (r.find("exit_code")) {
    r.integer("exit_code", x.exit_code);
    x.has_exit_code = true;
  }
  r.str("output", x.output);
  r.str("stderr", x.error_output);
  r.str("error", x.error);
  r.string_map("labels", x.labels);
  r.str("owner", x.owner);
  r.integer("revision", x.revision);
  if (r.ok() && !is_uuid(x.id))
    r.fail("id", "must be a UUID, got '" + x.id + "'");
  return r.ok();
}

bool from_json(const json& j, queue_entry& x, std::string& err) {
  if (!require_object(j, "a queue entry", err))
    return false;
  field_reader r{j, err};
  x = queue_entry{};
  r.str("task_id", x.task_id);
  r.integer("priority", x.priority);
  r.time("enqueued_at", x.enqueued_at);
  r.time("not_before", x.not_before);
  r.integer("attempt", x.attempt);
  r.str("claimed_by", x.claimed_by);
  r.time("lease_until", x.lease_until);
  if (r.ok() && !is_uuid(x.task_id))
    r.fail("task_id", "must be a UUID, got '" + x.task_id + "'");
  return r.ok();
}

bool from_json(const json& j, task_event& x, std::string& err) {
  if (!require_object(j, "a task event", err))
    return false;
  field_reader r{j, err};
  x = task_event{};
  r.str("id", x.id);
  r.time("time", x.time);
  r.str("task_id", x.task_id);
  r.str("kind", x.kind);
  r.str("status", x.status);
  r.integer("attempt", x.attempt);
  r.str("details", x.details);
  if (r.ok() && !is_uuid(x.id))
    r.fail("id", "must be a UUID, got '" + x.id + "'");
  return r.ok();
}

bool from_json(const json& j, audit_record& x, std::string& err) {
  if (!require_object(j, "an audit record", err))
    return false;
  field_reader r{j, err};
  x = audit_record{};
  r.str("id", x.id);
  r.time("time", x.time);
  r.str("principal", x.principal);
  r.str("action", x.action);
  r.str("target", x.target);
  r.str("outcome", x.outcome);
  r.str("details", x.details);
  if (r.ok() && !is_uuid(x.id))
    r.fail("id", "must be a UUID, got '" + x.id + "'");
  return r.ok();
}

bool from_json(const json& j, metric_sample& x, std::string& err) {
  if (!require_object(j, "a metric sample", err))
    return false;
  field_reader r{j, err};
  x = metric_sample{};
  r.str("id", x.id);
  r.time("time", x.time);
  r.str("name", x.name);
  r.string_map("labels", x.labels);
  r.number("value", x.value);
  if (r.ok() && !is_uuid(x.id))
    r.fail("id", "must be a UUID, got '" + x.id + "'");
  return r.ok();
}

bool from_json(const json& j, user& x, std::string& err) {
  if (!require_object(j, "a user", err))
    return false;
  field_reader r{j, err};
  x = user{};
  r.str("username", x.username);
  r.str("password_hash", x.password_hash);
  r.strings("roles", x.roles);
  r.time("created_at", x.created_at);
  r.boolean("disabled", x.disabled);
  if (r.ok() && !is_valid_username(x.username))
    r.fail("username", "must be 1-64 characters of A-Z a-z 0-9 . _ -, got '" + x.username + "'");
  return r.ok();
}

// -- strict decoder for submissions -------------------------------------------

namespace {

constexpr uint32_t max_timeout_s = 30u * 24 * 3600;
constexpr uint32_t max_retries_limit = 100;
constexpr size_t max_dependencies = 1000;

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

} // namespace

bool parse_submission(const json& j, task& x, std::string& err) {
  if (!require_object(j, "the request body", err))
    return false;
  static const std::set<std::string> accepted{
    "id",       "name",         "command",     "args",      "env",     "workdir",  "script",
    "script_file", "priority",  "dependencies", "max_retries", "timeout_s", "labels"};
  static const std::set<std::string> server_owned{
    "status", "created_at", "started_at", "completed_at", "not_before", "attempts",
    "exit_code", "output",   "stderr",     "error",        "owner", "revision"};
  for (auto& [k, v] : j.items()) {
    if (server_owned.count(k)) {
      err = "field '" + k + "' is set by the orchestrator and cannot be submitted";
      return false;
    }
    if (!accepted.count(k)) {
      err = "unknown field '" + k
            + "' (accepted: id, name, command, args, env, workdir, script, script_file, "
              "priority, dependencies, max_retries, timeout_s, labels)";
      return false;
    }
  }
  x = task{};
  field_reader r{j, err};
  r.str("id", x.id);
  r.str("name", x.name);
  r.str("command", x.command);
  r.strings("args", x.args);
  r.string_map("env", x.env);
  r.str("workdir", x.workdir);
  r.str("script", x.script);
  r.str("script_file", x.script_file);
  r.integer("priority", x.priority);
  r.strings("dependencies", x.dependencies);
  r.integer("max_retries", x.max_retries, 0, max_retries_limit);
  r.integer("timeout_s", x.timeout_s, 0, max_timeout_s);
  r.string_map("labels", x.labels);
  if (!r.ok())
    return false;
  if (!x.id.empty() && !is_uuid(x.id))
    return err = "field 'id' must be a lower-case UUID such as "
                 "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b, got '" + x.id + "'",
           false;
  int sources = !x.command.empty() + !x.script.empty() + !x.script_file.empty();
  if (sources == 0)
    return err = "missing 'command': give the program to run (or 'script' with inline "
                 "Nushell source, or 'script_file' with the path of a .nu file)",
           false;
  if (sources > 1)
    return err = "give only one of 'command', 'script' and 'script_file'", false;
  if (!x.script.empty() && !x.args.empty())
    return err = "'args' cannot be combined with an inline 'script'; put the script in a "
                 ".nu file and use 'script_file' to pass arguments",
           false;
  if (x.name.size() > 256)
    return err = "field 'name' is longer than 256 characters", false;
  if (has_nul(x.command) || has_nul(x.workdir) || has_nul(x.script_file))
    return err = "'command', 'workdir' and 'script_file' must not contain NUL bytes", false;
  for (auto& a : x.args)
    if (has_nul(a))
      return err = "field 'args' must not contain NUL bytes", false;
  for (auto& [k, v] : x.env)
    if (k.empty() || k.find('=') != std::string::npos || has_nul(k) || has_nul(v))
      return err = "field 'env' has an invalid variable name '" + k
                   + "' (names must be non-empty and contain no '=' or NUL)",
             false;
  if (x.dependencies.size() > max_dependencies)
    return err = "field 'dependencies' has more than 1000 entries", false;
  std::set<std::string> seen;
  for (auto& d : x.dependencies) {
    if (!is_uuid(d))
      return err = "field 'dependencies' must hold task ids (UUIDs), got '" + d + "'", false;
    if (!seen.insert(d).second)
      return err = "field 'dependencies' lists '" + d + "' twice", false;
    if (d == x.id)
      return err = "a task cannot depend on itself", false;
  }
  return true;
}

// -- records -------------------------------------------------------------------

std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The record encoders write canonical JSON directly (keys in sorted order);
// tests check that they equal canonical(to_json(x)) byte for byte.

namespace {

json_writer& time_value(json_writer& w, micros t) {
  return t == 0 ? w.null() : w.value(format_rfc3339(t));
}

} // namespace

record to_record(const task& x) {
  json_writer w;
  w.begin_object();
  w.key("args").value(x.args);
  w.key("attempts").value(x.attempts);
  w.key("command").value(x.command);
  time_value(w.key("completed_at"), x.completed_at);
  time_value(w.key("created_at"), x.created_at);
  w.key("dependencies").value(x.dependencies);
  w.key("env").value(x.env);
  w.key("error").value(x.error);
  if (x.has_exit_code)
    w.key("exit_code").value(x.exit_code);
  else
    w.key("exit_code").null();
  w.key("id").value(x.id);
  w.key("labels").value(x.labels);
  w.key("max_retries").value(x.max_retries);
  w.key("name").value(x.name);
  time_value(w.key("not_before"), x.not_before);
  w.key("output").value(x.output);
  w.key("owner").value(x.owner);
  w.key("priority").value(x.priority);
  w.key("revision").value(x.revision);
  w.key("script").value(x.script);
  w.key("script_file").value(x.script_file);
  time_value(w.key("started_at"), x.started_at);
  w.key("status").value(to_string(x.status));
  w.key("stderr").value(x.error_output);
  w.key("timeout_s").value(x.timeout_s);
  w.key("workdir").value(x.workdir);
  w.end_object();
  return {record_kind::task, x.id, w.take()};
}

record to_record(const queue_entry& x) {
  json_writer w;
  w.begin_object();
  w.key("attempt").value(x.attempt);
  w.key("claimed_by").value(x.claimed_by);
  time_value(w.key("enqueued_at"), x.enqueued_at);
  time_value(w.key("lease_until"), x.lease_until);
  time_value(w.key("not_before"), x.not_before);
  w.key("priority").value(x.priority);
  w.key("task_id").value(x.task_id);
  w.end_object();
  return {record_kind::queue, x.task_id, w.take()};
}

record to_record(const task_event& x) {
  json_writer w;
  w.begin_object();
  w.key("attempt").value(x.attempt);
  w.key("details").value(x.details);
  w.key("id").value(x.id);
  w.key("kind").value(x.kind);
  w.key("status").value(x.status);
  w.key("task_id").value(x.task_id);
  time_value(w.key("time"), x.time);
  w.end_object();
  return {record_kind::event, x.id, w.take()};
}

record to_record(const audit_record& x) {
  json_writer w;
  w.begin_object();
  w.key("action").value(x.action);
  w.key("details").value(x.details);
  w.key("id").value(x.id);
  w.key("outcome").value(x.outcome);
  w.key("principal").value(x.principal);
  w.key("target").value(x.target);
  time_value(w.key("time"), x.time);
  w.end_object();
  return {record_kind::audit, x.id, w.take()};
}

record to_record(const metric_sample& x) {
  json_writer w;
  w.begin_object();
  w.key("id").value(x.id);
  w.key("labels").value(x.labels);
  w.key("name").value(x.name);
  time_value(w.key("time"), x.time);
  w.key("value").value(x.value);
  w.end_object();
  return {record_kind::metric, x.id, w.take()};
}

record to_record(const user& x) {
  json_writer w;
  w.begin_object();
  time_value(w.key("created_at"), x.created_at);
  w.key("disabled").value(x.disabled);
  w.key("password_hash").value(x.password_hash);
  w.key("roles").value(x.roles);
  w.key("username").value(x.username);
  w.end_object();
  return {record_kind::user, x.username, w.take()};
}

template <class T>
bool decode_record(const std::string& text, T& out, std::string& err) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    err = "not valid JSON";
    return false;
  }
  return from_json(j, out, err);
}

template bool decode_record(const std::string&, task&, std::string&);
template bool decode_record(const std::string&, queue_entry&, std::string&);
template bool decode_record(const std::string&, task_event&, std::string&);
template bool decode_record(const std::string&, audit_record&, std::string&);
template bool decode_record(const std::string&, metric_sample&, std::string&);
template bool decode_record(const std::string&, user&, std::string&);

bool check_record(record_kind kind, const json& j, std::string& key, std::string& err) {
  switch (kind) {
    case record_kind::task: {
      task x;
      return from_json(j, x, err) && (key = x.id, true);
    }
    case record_kind::queue: {
      queue_entry x;
      return from_json(j, x, err) && (key = x.task_id, true);
    }
    case record_kind::user: {
      user x;
      return from_json(j, x, err) && (key = x.username, true);
    }
    case record_kind::audit: {
      audit_record x;
      return from_json(j, x, err) && (key = x.id, true);
    }
    case record_kind::metric: {
      metric_sample x;
      return from_json(j, x, err) && (key = x.id, true);
    }
    case record_kind::event: {
      task_event x;
      return from_json(j, x, err) && (key = x.id, true);
    }
  }
  return false;
}

std::string field_text(const json& j, const std::string& field) {
  auto i = j.find(field);
  if (i == j.end() || i->is_null())
    return {};
  if (i->is_string())
    return i->get<std::string>();
  if (i->is_boolean())
    return i->get<bool>() ? "true" : "false";
  return i->dump();
}

micros record_time(record_kind kind, const json& j) {
  const char* field = "time";
  switch (kind) {
    case record_kind::task:
    case record_kind::user: field = "created_at"; break;
    case record_kind::queue: field = "lease_until"; break;
    default: break;
  }
  auto i = j.find(field);
  micros t = 0;
  if (i != j.end() && i->is_string())
    parse_rfc3339(i->get_ref<const std::string&>(), t);
  return t;
}

bool matches(const record_query& q, const json& j) {
  if (!q.field.empty()) {
    auto i = j.find(q.field);
    if (i == j.end())
      return false;
    if (i->is_array()) {
      bool found = false;
      for (auto& e : *i)
        if ((e.is_string() && e.get_ref<const std::string&>() == q.value)
            || (!e.is_string() && e.dump() == q.value)) {
          found = true;
          break;
        }
      if (!found)
        return false;
    } else if (field_text(j, q.field) != q.value) {
      // Status values are matched case-insensitively ("failed" finds "Failed").
      task_status a, b;
      if (!(q.field == "status" && parse_status(q.value, a)
            && parse_status(field_text(j, q.field), b) && a == b))
        return false;
    }
  }
  if (q.since != 0 || q.until != 0) {
    auto t = record_time(q.kind, j);
    if (t == 0)
      return false;
    if (q.since != 0 && t < q.since)
      return false;
    if (q.until != 0 && t >= q.until)
      return false;
  }
  return true;
}

} // namespace orch
