// A request target as the gateway reads it: the URL's percent-encoding, the
// listing parameters every list route takes (limit, offset, order, since,
// until, status), and the SurrealQL a listing becomes on the server backend.
// Each must give a value or a message, never a crash; values from the URL
// reach SurrealQL only as bound variables.
#include "tests/fuzz/fuzz_target.hpp"

#include <string>

#include "backends/surrealdb/surreal_queries.hpp"
#include "runtime/core/query_match.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/task.hpp"
#include "runtime/platform/http/http_server.hpp"

namespace {

void listing(const orch::http_request& req, orch::record_kind kind, const char* field) {
  orch::record_query q;
  q.kind = kind;
  if (auto st = orch::paging_params(req.query, q); !st) {
    if (st.message().empty())
      fuzz::fail("a listing parameter was refused without a message");
    return;
  }
  if (q.limit < 1 || q.limit > orch::max_page)
    fuzz::fail("paging_params accepted limit " + std::to_string(q.limit));
  if (auto i = req.query.find(field); i != req.query.end() && !i->second.empty()) {
    q.field = field;
    q.value = i->second;
    if (kind == orch::record_kind::task) {
      orch::task_status s;
      if (!orch::parse_status(i->second, s))
        return;
      q.value = orch::to_string(s);
    }
  }
  auto st = orch::surreal::query_statement(q);
  if (!st)
    fuzz::fail("a listing the gateway accepts has no SurrealQL: " + st.message());
  if (!q.value.empty()) {
    bool bound = false;
    for (auto& [name, v] : st->vars.items())
      bound = bound || (v.is_string() && v.get<std::string>() == q.value);
    if (!bound)
      fuzz::fail("a value from the URL is not a bound variable of its SurrealQL: " + st->text);
  }
  (void) orch::matches(q, R"({"id":"3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b","status":"Queued"})");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  orch::http_request req;
  if (!orch::parse_request_target(std::string{fuzz::as_text(data, size)}, req))
    return 0;
  listing(req, orch::record_kind::task, "status");
  listing(req, orch::record_kind::event, "task_id");
  for (const char* f : {"principal", "action", "target", "outcome"})
    listing(req, orch::record_kind::audit, f);
  return 0;
}
