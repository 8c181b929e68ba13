// The gateway's route table and the handlers behind it (gateway.cpp routes,
// gateway_routes.cpp handles). Internal to actors/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "caf/typed_event_based_actor.hpp"

#include "actors/gateway.hpp"

namespace orch::gateway {

struct state {
  // Not an aggregate: CAF constructs a state from the self pointer when it
  // can, and C++20 would let it initialise the first handle member with it.
  state() = default;
  storage_actor storage;
  scheduler_actor scheduler;
  metrics_actor metrics;
  gateway_config cfg;
  static inline const char* name = "gateway";
};

using pointer = gateway_actor::stateful_pointer<state>;
using reply = caf::typed_response_promise<http_response>;

/// The path's parameters, already validated: {id} a task id, {name} a
/// lower-case word.
struct route_args {
  std::string id;
  std::string name;
};

using handler = void (*)(pointer self, const http_request& req, const route_args& args, reply rp);

struct route {
  const char* method;
  std::vector<std::string_view> pattern;     // path segments; "{id}" is a task id
  handler handle;
  bool fault_injection = false;              // served only with --fault-injection
};

const std::vector<route>& routes();

http_response json_ok(int status, const std::string& data_json);
http_response from_error(const caf::error& e);

} // namespace orch::gateway
