#include "backends/surrealdb/surreal_outcome.hpp"

#include "backends/surrealdb/surreal_queries.hpp"

namespace orch::surreal {

query_outcome interpret(const rpc_result& reply) {
  query_outcome o;
  if (!reply) {
    o.st = {reply.code() == errc::unavailable ? errc::unavailable : errc::internal,
            reply.message()};
    o.retryable = reply.code() == errc::conflict;
    return o;
  }
  if (!reply->is_array()) {
    o.st = {errc::internal, "unexpected reply to a query: " + reply->dump(-1, ' ', false,
                                                                        json::error_handler_t::replace)};
    return o;
  }
  std::string first_error;
  bool conflict = false;
  for (auto& entry : *reply) {
    if (!entry.is_object()) {
      first_error = "a statement's reply is not an object";
      continue;
    }
    auto status_field = entry.find("status");
    bool failed = status_field != entry.end() && status_field->is_string()
                  && status_field->get_ref<const std::string&>() == "ERR";
    auto result = entry.find("result");
    if (!failed) {
      o.results.push_back(result != entry.end() ? *result : json{});
      continue;
    }
    auto msg = result != entry.end() && result->is_string()
                 ? result->get<std::string>()
                 : entry.dump(-1, ' ', false, json::error_handler_t::replace);
    if (auto n = failed_precondition(msg); n >= 0) {
      o.precondition = n;
      o.st = {errc::conflict, msg};
      o.results.clear();
      return o;
    }
    if (is_retryable_conflict(msg))
      conflict = true;
    else if (first_error.empty() && msg.find("not executed") == std::string::npos)
      first_error = msg;
  }
  if (conflict) {
    o.retryable = true;
    o.st = {errc::conflict, "transaction conflict"};
  } else if (!first_error.empty()) {
    o.st = {errc::internal, "SurrealDB refused the query: " + first_error};
  }
  if (!o.st)
    o.results.clear();
  return o;
}

uint64_t count_of(const json& result) {
  if (result.is_array() && !result.empty() && result[0].is_object()) {
    auto c = result[0].find("count");
    if (c != result[0].end() && c->is_number_unsigned())
      return c->get<uint64_t>();
    if (c != result[0].end() && c->is_number_integer() && c->get<int64_t>() >= 0)
      return static_cast<uint64_t>(c->get<int64_t>());
  }
  return 0;
}

micros time_of(const json& v) {
  micros t = 0;
  if (v.is_string())
    parse_rfc3339(v.get_ref<const std::string&>(), t);
  return t;
}

} // namespace orch::surreal
