// The one description of every record kind's fields: for each kind, its JSON
// fields in key order, the member each is stored in, how it is written in
// JSON, and who sets it. Everything that reads or writes a record walks this
// list: the canonical encoder and the decoder (codec.hpp), the streaming
// validator of the storage write path (record_scan.hpp), the strict decoder
// of POST /tasks (submission.hpp) and the CAF inspect functions
// (runtime/messages/types.hpp).
//
// Adding a field to a record is one edit here: the member in its struct
// (task.hpp) and its line in the list below. A struct member that the list
// does not name is a compile error (the static_asserts at the end).
#pragma once

#include <cstdlib>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "runtime/core/records.hpp"
#include "runtime/core/task.hpp"

namespace orch::schema {

/// Who may set a field of a task: the client in POST /tasks, or only the
/// orchestrator (submitting it is refused with a message saying so).
enum class origin : uint8_t { client, server };

/// A member written as its JSON value: a string, an integer (range checked
/// against the member's type), a number, a boolean, an array of strings or
/// an object of strings.
template <class C, class T>
struct value_field {
  std::string_view name;
  T C::*member;
  origin from = origin::server;
};

/// Microseconds since the epoch, written as an RFC 3339 string; 0 is null.
template <class C>
struct time_field {
  std::string_view name;
  micros C::*member;
  origin from = origin::server;
};

/// A task status, written as its name ("Queued").
template <class C>
struct status_field {
  std::string_view name;
  task_status C::*member;
  origin from = origin::server;
};

/// A nested JSON object or array (a schedule's task, a workflow's nodes),
/// kept as its canonical text in a string member; "" is null. Its own
/// content is checked by whoever builds it (the REST layer), not here.
template <class C>
struct json_field {
  std::string_view name;
  std::string C::*member;
  origin from = origin::server;
};

/// An integer that may be absent: null unless `present`.
template <class C>
struct nullable_int_field {
  std::string_view name;
  bool C::*present;
  int32_t C::*member;
  origin from = origin::server;
};

template <class C, class T>
value_field(std::string_view, T C::*, origin = origin::server) -> value_field<C, T>;
template <class C>
time_field(std::string_view, micros C::*, origin = origin::server) -> time_field<C>;
template <class C>
status_field(std::string_view, task_status C::*, origin = origin::server) -> status_field<C>;
template <class C>
json_field(std::string_view, std::string C::*, origin = origin::server) -> json_field<C>;
template <class C>
nullable_int_field(std::string_view, bool C::*, int32_t C::*, origin = origin::server)
  -> nullable_int_field<C>;

/// What identifies a record of a kind and must be valid for it to be stored.
enum class key_rule : uint8_t { uuid, username };

template <class T>
struct of;

template <>
struct of<task> {
  static constexpr record_kind kind = record_kind::task;
  static constexpr const char* type_name = "orch::task";
  static constexpr const char* described = "a task";
  static constexpr auto key = &task::id;
  static constexpr std::string_view key_name = "id";
  static constexpr key_rule rule = key_rule::uuid;
  static constexpr auto time = &task::created_at;  // what a time range selects on
  static constexpr auto fields = std::make_tuple(
    value_field{"args", &task::args, origin::client},
    value_field{"attempts", &task::attempts},
    value_field{"command", &task::command, origin::client},
    time_field{"completed_at", &task::completed_at},
    time_field{"created_at", &task::created_at},
    value_field{"dependencies", &task::dependencies, origin::client},
    value_field{"env", &task::env, origin::client},
    value_field{"error", &task::error},
    nullable_int_field{"exit_code", &task::has_exit_code, &task::exit_code},
    value_field{"id", &task::id, origin::client},
    value_field{"labels", &task::labels, origin::client},
    value_field{"max_retries", &task::max_retries, origin::client},
    value_field{"name", &task::name, origin::client},
    value_field{"node", &task::node},
    value_field{"node_labels", &task::node_labels, origin::client},
    time_field{"not_before", &task::not_before},
    value_field{"on_dependency_failure", &task::on_dependency_failure, origin::client},
    value_field{"output", &task::output},
    value_field{"owner", &task::owner},
    value_field{"parent", &task::parent, origin::client},
    value_field{"priority", &task::priority, origin::client},
    value_field{"revision", &task::revision},
    time_field{"run_at", &task::run_at, origin::client},
    value_field{"script", &task::script, origin::client},
    value_field{"script_file", &task::script_file, origin::client},
    time_field{"started_at", &task::started_at},
    status_field{"status", &task::status},
    value_field{"stderr", &task::error_output},
    value_field{"timeout_s", &task::timeout_s, origin::client},
    value_field{"workdir", &task::workdir, origin::client});
};

template <>
struct of<queue_entry> {
  static constexpr record_kind kind = record_kind::queue;
  static constexpr const char* type_name = "orch::queue_entry";
  static constexpr const char* described = "a queue entry";
  static constexpr auto key = &queue_entry::task_id;
  static constexpr std::string_view key_name = "task_id";
  static constexpr key_rule rule = key_rule::uuid;
  static constexpr auto time = &queue_entry::lease_until;
  static constexpr auto fields = std::make_tuple(
    value_field{"attempt", &queue_entry::attempt},
    value_field{"claimed_by", &queue_entry::claimed_by},
    time_field{"enqueued_at", &queue_entry::enqueued_at},
    time_field{"lease_until", &queue_entry::lease_until},
    value_field{"node_labels", &queue_entry::node_labels},
    time_field{"not_before", &queue_entry::not_before},
    value_field{"priority", &queue_entry::priority},
    value_field{"task_id", &queue_entry::task_id});
};

template <>
struct of<task_event> {
  static constexpr record_kind kind = record_kind::event;
  static constexpr const char* type_name = "orch::task_event";
  static constexpr const char* described = "a task event";
  static constexpr auto key = &task_event::id;
  static constexpr std::string_view key_name = "id";
  static constexpr key_rule rule = key_rule::uuid;
  static constexpr auto time = &task_event::time;
  static constexpr auto fields = std::make_tuple(
    value_field{"attempt", &task_event::attempt},
    value_field{"details", &task_event::details},
    value_field{"id", &task_event::id},
    value_field{"kind", &task_event::kind},
    value_field{"node", &task_event::node},
    value_field{"status", &task_event::status},
    value_field{"task_id", &task_event::task_id},
    time_field{"time", &task_event::time});
};

template <>
struct of<audit_record> {
  static constexpr record_kind kind = record_kind::audit;
  static constexpr const char* type_name = "orch::audit_record";
  static constexpr const char* described = "an audit record";
  static constexpr auto key = &audit_record::id;
  static constexpr std::string_view key_name = "id";
  static constexpr key_rule rule = key_rule::uuid;
  static constexpr auto time = &audit_record::time;
  static constexpr auto fields = std::make_tuple(
    value_field{"action", &audit_record::action},
    value_field{"details", &audit_record::details},
    value_field{"id", &audit_record::id},
    value_field{"outcome", &audit_record::outcome},
    value_field{"principal", &audit_record::principal},
    value_field{"target", &audit_record::target},
    time_field{"time", &audit_record::time});
};

template <>
struct of<metric_sample> {
  static constexpr record_kind kind = record_kind::metric;
  static constexpr const char* type_name = "orch::metric_sample";
  static constexpr const char* described = "a metric sample";
  static constexpr auto key = &metric_sample::id;
  static constexpr std::string_view key_name = "id";
  static constexpr key_rule rule = key_rule::uuid;
  static constexpr auto time = &metric_sample::time;
  static constexpr auto fields = std::make_tuple(
    value_field{"id", &metric_sample::id},
    value_field{"labels", &metric_sample::labels},
    value_field{"name", &metric_sample::name},
    time_field{"time", &metric_sample::time},
    value_field{"value", &metric_sample::value});
};

template <>
struct of<user> {
  static constexpr record_kind kind = record_kind::user;
  static constexpr const char* type_name = "orch::user";
  static constexpr const char* described = "a user";
  static constexpr auto key = &user::username;
  static constexpr std::string_view key_name = "username";
  static constexpr key_rule rule = key_rule::username;
  static constexpr auto time = &user::created_at;
  static constexpr auto fields = std::make_tuple(
    time_field{"created_at", &user::created_at},
    value_field{"disabled", &user::disabled},
    value_field{"password_hash", &user::password_hash},
    value_field{"revision", &user::revision},
    value_field{"roles", &user::roles},
    value_field{"sessions", &user::sessions},
    time_field{"updated_at", &user::updated_at},
    value_field{"username", &user::username});
};

template <>
struct of<schedule> {
  static constexpr record_kind kind = record_kind::schedule;
  static constexpr const char* type_name = "orch::schedule";
  static constexpr const char* described = "a schedule";
  static constexpr auto key = &schedule::name;
  static constexpr std::string_view key_name = "name";
  static constexpr key_rule rule = key_rule::username;
  static constexpr auto time = &schedule::created_at;
  static constexpr auto fields = std::make_tuple(
    value_field{"catch_up", &schedule::catch_up, origin::client},
    time_field{"created_at", &schedule::created_at},
    value_field{"cron", &schedule::cron, origin::client},
    value_field{"firings", &schedule::firings},
    time_field{"last_firing", &schedule::last_firing},
    value_field{"last_task", &schedule::last_task},
    value_field{"last_workflow", &schedule::last_workflow},
    value_field{"name", &schedule::name, origin::client},
    time_field{"next_firing", &schedule::next_firing},
    value_field{"overlap", &schedule::overlap, origin::client},
    value_field{"owner", &schedule::owner},
    value_field{"paused", &schedule::paused, origin::client},
    value_field{"revision", &schedule::revision},
    value_field{"skipped", &schedule::skipped},
    json_field{"task", &schedule::task, origin::client},
    value_field{"timezone", &schedule::timezone, origin::client},
    time_field{"updated_at", &schedule::updated_at},
    json_field{"workflow", &schedule::workflow, origin::client});
};

template <>
struct of<workflow> {
  static constexpr record_kind kind = record_kind::workflow;
  static constexpr const char* type_name = "orch::workflow";
  static constexpr const char* described = "a workflow";
  static constexpr auto key = &workflow::id;
  static constexpr std::string_view key_name = "id";
  static constexpr key_rule rule = key_rule::uuid;
  static constexpr auto time = &workflow::created_at;
  static constexpr auto fields = std::make_tuple(
    time_field{"created_at", &workflow::created_at},
    value_field{"id", &workflow::id},
    value_field{"name", &workflow::name, origin::client},
    json_field{"nodes", &workflow::nodes},
    value_field{"on_failure", &workflow::on_failure, origin::client},
    value_field{"owner", &workflow::owner},
    value_field{"revision", &workflow::revision});
};

/// Calls f(type_tag<T>{}) for the record struct T of a kind: from a kind
/// known at run time to code written once for every struct.
template <class T>
struct type_tag {
  using type = T;
};

/// A kind missing here does not compile (-Werror=switch, no default).
template <class F>
decltype(auto) visit_kind(record_kind k, F&& f) {
  switch (k) {
    case record_kind::task: return f(type_tag<task>{});
    case record_kind::queue: return f(type_tag<queue_entry>{});
    case record_kind::user: return f(type_tag<user>{});
    case record_kind::audit: return f(type_tag<audit_record>{});
    case record_kind::metric: return f(type_tag<metric_sample>{});
    case record_kind::event: return f(type_tag<task_event>{});
    case record_kind::schedule: return f(type_tag<schedule>{});
    case record_kind::workflow: return f(type_tag<workflow>{});
  }
  // Only a value outside the enum (a corrupted byte) gets here.
  std::abort();
}

/// Calls f(field) for every field of T, in JSON key order.
template <class T, class F>
constexpr void for_each_field(F&& f) {
  std::apply([&](const auto&... d) { (f(d), ...); }, of<T>::fields);
}

/// The JSON name of the field a time range of T selects on (of<T>::time).
template <class T>
constexpr std::string_view time_field_name() {
  std::string_view name;
  for_each_field<T>([&](const auto& d) {
    if constexpr (requires { d.member == of<T>::time; })
      if (d.member == of<T>::time)
        name = d.name;
  });
  return name;
}

/// The members a field stores, as references into `x` (one, or two for a
/// nullable integer: whether it is present, then the value).
template <class C, class T, class X>
constexpr auto members_of(const value_field<C, T>& d, X& x) {
  return std::tie(x.*d.member);
}
template <class C, class X>
constexpr auto members_of(const time_field<C>& d, X& x) {
  return std::tie(x.*d.member);
}
template <class C, class X>
constexpr auto members_of(const status_field<C>& d, X& x) {
  return std::tie(x.*d.member);
}
template <class C, class X>
constexpr auto members_of(const json_field<C>& d, X& x) {
  return std::tie(x.*d.member);
}
template <class C, class X>
constexpr auto members_of(const nullable_int_field<C>& d, X& x) {
  return std::tie(x.*d.present, x.*d.member);
}

/// Every member of `x` (const or not) in field order, as a tuple of references.
template <class X>
constexpr auto all_members(X& x) {
  using T = std::remove_const_t<X>;
  return std::apply([&](const auto&... d) { return std::tuple_cat(members_of(d, x)...); },
                    of<T>::fields);
}

// -- the compiler checks that the lists name every member -------------------------

namespace detail {

/// Converts to anything: counts how many initializers an aggregate takes.
struct any_initializer {
  template <class T>
  constexpr operator T() const;  // declared only: used in unevaluated contexts
};

template <class T, class... A>
constexpr size_t member_count(A... a) {
  if constexpr (requires { T{a..., any_initializer{}}; })
    return member_count<T>(a..., any_initializer{});
  else
    return sizeof...(A);
}

template <class T>
constexpr size_t listed_members() {
  return std::tuple_size_v<decltype(all_members(std::declval<T&>()))>;
}

template <class T>
constexpr bool keys_sorted() {
  bool sorted = true;
  std::string_view last;
  for_each_field<T>([&](const auto& d) {
    if (!last.empty() && !(last < d.name))
      sorted = false;
    last = d.name;
  });
  return sorted;
}

} // namespace detail

#define ORCH_SCHEMA_COVERS(T)                                                                  \
  static_assert(detail::member_count<T>() == detail::listed_members<T>(),                      \
                "schema::of<" #T "> must name every member of " #T);                           \
  static_assert(detail::keys_sorted<T>(), "schema::of<" #T "> must list fields in key order")

ORCH_SCHEMA_COVERS(task);
ORCH_SCHEMA_COVERS(queue_entry);
ORCH_SCHEMA_COVERS(task_event);
ORCH_SCHEMA_COVERS(audit_record);
ORCH_SCHEMA_COVERS(metric_sample);
ORCH_SCHEMA_COVERS(user);
ORCH_SCHEMA_COVERS(schedule);
ORCH_SCHEMA_COVERS(workflow);

#undef ORCH_SCHEMA_COVERS

} // namespace orch::schema
