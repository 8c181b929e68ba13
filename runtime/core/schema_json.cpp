#include "runtime/core/schema_json.hpp"

#include <type_traits>

#include "runtime/core/schema.hpp"

namespace orch {

namespace {

using nlohmann::json;

template <class T>
json value_schema() {
  if constexpr (std::is_same_v<T, bool>)
    return {{"type", "boolean"}};
  else if constexpr (std::is_integral_v<T>)
    return {{"type", "integer"}};
  else if constexpr (std::is_floating_point_v<T>)
    return {{"type", "number"}};
  else if constexpr (std::is_same_v<T, std::string>)
    return {{"type", "string"}};
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return {{"type", "array"}, {"items", {{"type", "string"}}}};
  else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>)
    return {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
  else
    static_assert(sizeof(T) == 0, "a field type without a JSON Schema");
}

template <class C, class T>
json field_schema(const schema::value_field<C, T>&) {
  return value_schema<T>();
}

template <class C>
json field_schema(const schema::time_field<C>&) {
  return {{"type", json::array({"string", "null"})}, {"format", "date-time"}};
}

template <class C>
json field_schema(const schema::status_field<C>&) {
  json names = json::array();
  for (int s = 0; s <= static_cast<int>(task_status::cancelled); ++s)
    names.push_back(to_string(static_cast<task_status>(s)));
  return {{"type", "string"}, {"enum", names}};
}

template <class C>
json field_schema(const schema::json_field<C>&) {
  return {{"type", json::array({"object", "array", "null"})}};
}

template <class C>
json field_schema(const schema::nullable_int_field<C>&) {
  return {{"type", json::array({"integer", "null"})}};
}

/// The object schema of T's fields; `client_only`: only those a client sets.
template <class T>
json object_schema(bool client_only) {
  json props = json::object();
  schema::for_each_field<T>([&](const auto& d) {
    bool server = d.from == schema::origin::server;
    if (client_only && server)
      return;
    auto s = field_schema(d);
    if (server)
      s["readOnly"] = true;
    props[std::string{d.name}] = std::move(s);
  });
  json out{{"type", "object"}, {"properties", std::move(props)}};
  if (!client_only)
    out["required"] = json::array({std::string{schema::of<T>::key_name}});
  else
    out["additionalProperties"] = false;
  return out;
}

} // namespace

json record_json_schema(record_kind kind) {
  return schema::visit_kind(kind, [](auto tag) {
    auto s = object_schema<typename decltype(tag)::type>(false);
    s["description"] = schema::of<typename decltype(tag)::type>::described;
    return s;
  });
}

json task_submission_schema() {
  auto s = object_schema<task>(true);
  s["description"] = "a task to run: a command (with args) or a Nushell script (script or "
                     "script_file)";
  return s;
}

} // namespace orch
