// Decoding a record's JSON object into its struct, field by field as
// schema.hpp lists them, straight from the tokenizer (no JSON tree). One
// decoder serves stored records (codec.hpp), the storage write path's
// validation (record_scan.hpp, which keeps only the fields it indexes) and
// POST /tasks (submission.hpp, which refuses what a client may not set).
#pragma once

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/core/clock.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/json_tokens.hpp"
#include "runtime/core/schema.hpp"
#include "runtime/core/status.hpp"

namespace orch::schema {

using tok = json_tokens::tok;

/// How a token reads in an error message: "string", "a fractional number", ...
const char* token_type_name(tok t);

/// Skips the rest of a value whose first token was `t`; false on invalid JSON.
bool skip_value(json_tokens& in, tok t);

/// A set of fields of one kind, by their position in its list.
using field_set = std::bitset<32>;

template <class T>
constexpr size_t field_count = std::tuple_size_v<decltype(of<T>::fields)>;

/// Position of the field called `name` in T's list, or -1.
template <class T>
int field_index(std::string_view name) {
  static const auto names = [] {
    std::array<std::string_view, field_count<T>> out{};
    size_t i = 0;
    for_each_field<T>([&](const auto& d) { out[i++] = d.name; });
    return out;
  }();
  // The list is in key order (checked at compile time): binary search.
  auto it = std::lower_bound(names.begin(), names.end(), name);
  return it != names.end() && *it == name ? static_cast<int>(it - names.begin()) : -1;
}

/// The fields called `names` (each must exist).
template <class T>
field_set fields_named(std::initializer_list<std::string_view> names) {
  field_set out;
  for (auto n : names)
    out.set(static_cast<size_t>(field_index<T>(n)));
  return out;
}

/// A narrower range for an integer field than its type allows.
struct int_range {
  std::string_view field;
  long long lo;
  long long hi;
};

/// How decode_object treats a record.
struct decode_rules {
  const field_set* keep = nullptr;           // store only these (and the key); null: all
  bool check_key = true;                     // false: the caller checks it (a new task has none)
  std::vector<int_range> ranges;             // integer fields with tighter limits
};

namespace detail_decode {

inline status invalid(std::string message) {
  return {errc::invalid, std::move(message)};
}

inline status wrong_type(std::string_view field, const char* expected, tok t) {
  return invalid("field '" + std::string{field} + "' must be " + expected + ", got "
                 + token_type_name(t));
}

inline status out_of_range(std::string_view field, long long lo, long long hi) {
  return invalid("field '" + std::string{field} + "' must be between " + std::to_string(lo)
                 + " and " + std::to_string(hi));
}

template <class Int>
status read_integer(json_tokens& in, tok t, std::string_view field, Int* out,
                    const decode_rules& rules) {
  if (t != tok::integer)
    return wrong_type(field, "an integer", t);
  // The range of the member's type, at most that of a long long (what JSON
  // integers map to in every backend), unless the rules say less.
  long long lo = std::numeric_limits<Int>::min();
  long long hi = static_cast<long long>(std::min<unsigned long long>(
    std::numeric_limits<Int>::max(), std::numeric_limits<long long>::max()));
  for (auto& r : rules.ranges)
    if (r.field == field) {
      lo = std::max(lo, r.lo);
      hi = std::min(hi, r.hi);
    }
  auto m = in.magnitude();
  // The value as a long long, if it is one at all.
  bool representable = in.negative() ? m <= (1ull << 63) : m <= (1ull << 63) - 1;
  long long v = !representable ? 0
                : !in.negative() ? static_cast<long long>(m)
                : m == 0         ? 0
                                 : -static_cast<long long>(m - 1) - 1;
  if (!representable || v < lo || v > hi)
    return out_of_range(field, lo, hi);
  if (out)
    *out = static_cast<Int>(v);
  return {};
}

inline status read_number(json_tokens& in, tok t, std::string_view field, double* out) {
  if (t != tok::integer && t != tok::floating)
    return wrong_type(field, "a number", t);
  auto text = in.number_text();
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    return invalid("field '" + std::string{field} + "' is a number out of range: "
                   + std::string{text});
  if (out)
    *out = v;
  return {};
}

inline status read_strings(json_tokens& in, tok t, std::string_view field,
                           std::vector<std::string>* out) {
  if (t != tok::begin_array)
    return wrong_type(field, "an array of strings", t);
  if (out)
    out->clear();
  for (size_t i = 0;; ++i) {
    t = in.next();
    if (t == tok::end_array)
      return {};
    if (t == tok::error)
      return invalid(in.error());
    if (t != tok::string)
      return invalid("field '" + std::string{field} + "' must be an array of strings, but element "
                     + std::to_string(i) + " is " + token_type_name(t));
    if (out)
      out->push_back(in.text());
  }
}

inline status read_string_map(json_tokens& in, tok t, std::string_view field,
                              std::map<std::string, std::string>* out) {
  if (t != tok::begin_object)
    return wrong_type(field, "an object of strings", t);
  if (out)
    out->clear();
  for (;;) {
    t = in.next();
    if (t == tok::end_object)
      return {};
    if (t == tok::error)
      return invalid(in.error());
    auto name = in.text();
    t = in.next();
    if (t == tok::error)
      return invalid(in.error());
    if (t != tok::string)
      return invalid("field '" + std::string{field} + "' must map names to strings, but '" + name
                     + "' is " + token_type_name(t));
    if (out)
      (*out)[name] = in.text();  // the last of repeated names wins, as in JSON parsers
  }
}

template <class V>
status read_value(json_tokens& in, tok t, std::string_view field, V* out,
                  const decode_rules& rules) {
  if constexpr (std::is_same_v<V, std::string>) {
    if (t != tok::string)
      return wrong_type(field, "a string", t);
    if (out)
      *out = in.text();
    return {};
  } else if constexpr (std::is_same_v<V, bool>) {
    if (t != tok::boolean)
      return wrong_type(field, "true or false", t);
    if (out)
      *out = in.bool_value();
    return {};
  } else if constexpr (std::is_same_v<V, double>) {
    return read_number(in, t, field, out);
  } else if constexpr (std::is_integral_v<V>) {
    return read_integer<V>(in, t, field, out, rules);
  } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
    return read_strings(in, t, field, out);
  } else {
    static_assert(std::is_same_v<V, std::map<std::string, std::string>>,
                  "a value_field of a type the decoder does not know");
    return read_string_map(in, t, field, out);
  }
}

template <class C, class V, class X>
status read_field(const value_field<C, V>& d, json_tokens& in, tok t, X& x, bool store,
                  const decode_rules& rules) {
  return read_value<V>(in, t, d.name, store ? &(x.*d.member) : nullptr, rules);
}

template <class C, class X>
status read_field(const time_field<C>& d, json_tokens& in, tok t, X& x, bool store,
                  const decode_rules&) {
  if (t != tok::string)
    return wrong_type(d.name, "an RFC 3339 time string", t);
  micros v = 0;
  auto text = in.text();
  if (!parse_rfc3339(text, v))
    return invalid("field '" + std::string{d.name}
                   + "' must be an RFC 3339 time such as 2026-01-02T03:04:05Z, got '" + text + "'");
  if (store)
    x.*d.member = v;
  return {};
}

template <class C, class X>
status read_field(const status_field<C>& d, json_tokens& in, tok t, X& x, bool store,
                  const decode_rules&) {
  task_status s;
  if (t != tok::string || !parse_status(in.text(), s))
    return invalid("field '" + std::string{d.name}
                   + "' must be one of Pending, Queued, Running, Completed, Failed, Cancelled");
  if (store)
    x.*d.member = s;
  return {};
}

template <class C, class X>
status read_field(const json_field<C>& d, json_tokens& in, tok t, X& x, bool store,
                  const decode_rules&) {
  if (t != tok::begin_object && t != tok::begin_array)
    return wrong_type(d.name, "an object or an array", t);
  auto from = in.offset() - 1;  // the '{' or '['
  if (!skip_value(in, t))
    return invalid(in.error());
  if (store)
    x.*d.member = std::string{in.slice(from, in.offset())};
  return {};
}

template <class C, class X>
status read_field(const nullable_int_field<C>& d, json_tokens& in, tok t, X& x, bool store,
                  const decode_rules& rules) {
  auto st = read_integer<int32_t>(in, t, d.name, store ? &(x.*d.member) : nullptr, rules);
  if (st && store)
    x.*d.present = true;
  return st;
}

template <class T, size_t... I>
status read_indexed(size_t index, json_tokens& in, tok t, T& x, bool store,
                    const decode_rules& rules, std::index_sequence<I...>) {
  status st;
  (void) ((I == index ? (st = read_field(std::get<I>(of<T>::fields), in, t, x, store, rules), true)
                      : false)
          || ...);
  return st;
}

} // namespace detail_decode

/// Why a record's key is not acceptable, or "".
template <class T>
std::string key_problem(const T& x) {
  const auto& key = x.*of<T>::key;
  if constexpr (of<T>::rule == key_rule::uuid) {
    if (!is_uuid(key))
      return "field '" + std::string{of<T>::key_name} + "' must be a UUID, got '" + key + "'";
  } else {
    if (!is_valid_username(key))
      return "field '" + std::string{of<T>::key_name}
             + "' must be 1-64 characters of A-Z a-z 0-9 . _ -, got '" + key + "'";
  }
  return {};
}

/// Decodes one JSON object into `out` (reset first). Fields not kept are
/// checked but not stored; the key is always kept and checked.
/// `on_key(name)` sees every key first and may refuse it by returning a
/// failure (unknown keys are skipped otherwise).
template <class T, class OnKey>
status decode_object(std::string_view text, T& out, const decode_rules& rules, OnKey&& on_key) {
  using namespace detail_decode;
  json_tokens in{text};
  auto t = in.next();
  if (t == tok::error)
    return invalid(in.error());
  if (t != tok::begin_object)
    return invalid(std::string{of<T>::described} + " must be a JSON object, got "
                   + token_type_name(t));
  out = T{};
  static const auto key_index = static_cast<size_t>(field_index<T>(of<T>::key_name));
  std::string unescaped;
  for (;;) {
    t = in.next();
    if (t == tok::end_object)
      break;
    if (t == tok::error)
      return invalid(in.error());
    std::string_view name = in.raw();
    if (in.has_escapes())
      name = unescaped = in.text();
    if (auto st = on_key(name); !st)
      return st;
    int index = field_index<T>(name);
    t = in.next();
    if (index < 0) {
      if (!skip_value(in, t))
        return invalid(in.error());
      continue;
    }
    if (t == tok::error)
      return invalid(in.error());
    if (t == tok::null)
      continue;  // null means unset
    auto i = static_cast<size_t>(index);
    bool store = !rules.keep || rules.keep->test(i) || i == key_index;
    if (auto st = read_indexed(i, in, t, out, store, rules,
                                std::make_index_sequence<field_count<T>>{});
        !st)
      return st;
  }
  if (in.next() != tok::end)
    return invalid(in.error().empty() ? "not valid JSON: unexpected text after the record"
                                      : in.error());
  if (!rules.check_key)
    return {};
  if (auto problem = key_problem(out); !problem.empty())
    return invalid(problem);
  return {};
}

template <class T>
status decode_object(std::string_view text, T& out, const decode_rules& rules = {}) {
  return decode_object(text, out, rules, [](std::string_view) { return status{}; });
}

} // namespace orch::schema
