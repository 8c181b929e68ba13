// A frame from the SurrealDB server, as the client reads it off the
// WebSocket: CBOR of any shape. Decoding it, reading a `query` reply, and
// turning the documents in it into records (as every storage operation
// does) must give values or errors, never a crash and never an exception:
// one thrown there would leave the request it answers without a reply.
#include "tests/fuzz/fuzz_target.hpp"

#include <exception>
#include <vector>

#include "backends/surrealdb/surreal_frame.hpp"
#include "backends/surrealdb/surreal_outcome.hpp"
#include "backends/surrealdb/surreal_queries.hpp"
#include "runtime/core/codec.hpp"

namespace {

void documents(const nlohmann::json& result) {
  (void) orch::surreal::count_of(result);
  auto one = [](const nlohmann::json& doc) {
    if (!doc.is_object())
      return;
    for (auto kind : orch::all_record_kinds) {
      auto r = orch::surreal::to_record(kind, doc);
      (void) orch::surreal::time_of(doc.value("created_at", nlohmann::json{}));
      orch::task_event ev;
      if (kind == orch::record_kind::event)
        (void) orch::decode(r.json, ev);
    }
  };
  if (result.is_array())
    for (auto& doc : result)
      one(doc);
  else
    one(result);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  try {
    auto frame = orch::surreal::decode_frame(bytes);
    if (frame.what == orch::surreal::server_frame::kind::notification) {
      if (auto r = frame.notification.find("result"); r != frame.notification.end())
        documents(*r);
      return 0;
    }
    if (frame.what != orch::surreal::server_frame::kind::reply)
      return 0;
    auto o = orch::surreal::interpret(frame.outcome);
    if (!o.st && o.st.message().empty())
      fuzz::fail("a failed query reply has no message");
    for (auto& r : o.results)
      documents(r);
  } catch (const std::exception& e) {
    fuzz::fail(std::string{"reading a server frame threw: "} + e.what());
  }
  return 0;
}
