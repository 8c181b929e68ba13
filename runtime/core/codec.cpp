#include "runtime/core/codec.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/field_decoder.hpp"
#include "runtime/core/json_writer.hpp"
#include "runtime/core/schema.hpp"

namespace orch {

namespace schema {

const char* token_type_name(tok t) {
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

} // namespace schema

namespace {

template <class C, class V, class X>
void write_field(json_writer& w, const schema::value_field<C, V>& d, const X& x) {
  w.key(d.name).value(x.*d.member);
}

template <class C, class X>
void write_field(json_writer& w, const schema::time_field<C>& d, const X& x) {
  auto t = x.*d.member;
  if (t == 0)
    w.key(d.name).null();
  else
    w.key(d.name).value(format_rfc3339(t));
}

template <class C, class X>
void write_field(json_writer& w, const schema::status_field<C>& d, const X& x) {
  w.key(d.name).value(to_string(x.*d.member));
}

template <class C, class X>
void write_field(json_writer& w, const schema::json_field<C>& d, const X& x) {
  const std::string& text = x.*d.member;
  if (text.empty())
    w.key(d.name).null();
  else
    w.key(d.name).raw_json(text);
}

template <class C, class X>
void write_field(json_writer& w, const schema::nullable_int_field<C>& d, const X& x) {
  if (x.*d.present)
    w.key(d.name).value(x.*d.member);
  else
    w.key(d.name).null();
}

} // namespace

template <class T>
std::string encode(const T& x) {
  json_writer w;
  w.begin_object();
  schema::for_each_field<T>([&](const auto& d) { write_field(w, d, x); });
  w.end_object();
  return w.take();
}

template <class T>
record to_record(const T& x) {
  return {schema::of<T>::kind, x.*schema::of<T>::key, encode(x)};
}

template <class T>
status decode(std::string_view text, T& out) {
  return schema::decode_object(text, out);
}

#define ORCH_CODEC_FOR(T)                                                                      \
  template std::string encode(const T&);                                                       \
  template record to_record(const T&);                                                         \
  template status decode(std::string_view, T&);

ORCH_CODEC_FOR(task)
ORCH_CODEC_FOR(queue_entry)
ORCH_CODEC_FOR(task_event)
ORCH_CODEC_FOR(audit_record)
ORCH_CODEC_FOR(metric_sample)
ORCH_CODEC_FOR(user)
ORCH_CODEC_FOR(schedule)
ORCH_CODEC_FOR(workflow)

#undef ORCH_CODEC_FOR

std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace orch
