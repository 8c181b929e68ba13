// The surrealdb-server storage actor's state and the helpers its files
// share: surreal_storage.cpp (queries, writes, the connection's set-up,
// live events, closing) and surreal_claims.cpp (claims and leases).
// Internal to backends/surrealdb/.
//
// The client runs on an Asio thread of its own. What it reports (a reply, a
// new connection, a live notification) reaches the actor as a message, and
// every continuation runs in the actor: promises are delivered by the actor,
// never from the client's thread.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "backends/surrealdb/surreal_client.hpp"
#include "backends/surrealdb/surreal_outcome.hpp"
#include "backends/surrealdb/surreal_queries.hpp"
#include "backends/surrealdb/surreal_storage.hpp"

namespace orch::surreal {

using reply_ptr = std::shared_ptr<rpc_result>;
/// Tells the client that the set-up of a connection is done ("" or why not).
using setup_done = std::shared_ptr<std::function<void(std::string)>>;

} // namespace orch::surreal

// Only ever sent from the client's thread to its own storage actor.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(orch::surreal::reply_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(orch::surreal::setup_done)

namespace orch::surreal {

/// The storage interface, plus what the client's thread and the actor's own
/// timers tell it.
using actor_type = storage_actor::extend<
  caf::reacts_to<rpc_reply_atom, uint64_t, reply_ptr>,   // a query's reply arrived
  caf::reacts_to<rpc_retry_atom, uint64_t>,              // run a conflicted query again
  caf::reacts_to<connected_atom, setup_done>,            // a connection wants setting up
  caf::reacts_to<live_event_atom, task_event>>;          // another process wrote an event

using query_done = std::function<void(query_outcome)>;

/// A query in flight: what to run again after a conflict, and what to do
/// with its outcome.
struct pending_query {
  statement st;
  query_done done;
  int attempt = 0;
  bool during_setup = false;
};

struct state {
  state() = default;  // not an aggregate (see the gateway's state)
  options opts;
  std::shared_ptr<client> conn;              // null once closed
  std::map<uint64_t, pending_query> queries;
  uint64_t next_token = 0;
  event_feed_actor feed;
  static inline const char* name = "surreal-storage";
};

using pointer = actor_type::stateful_pointer<state>;

/// Runs a statement; transaction conflicts are retried with a growing,
/// randomised delay. `during_setup`: also while the connection is being set up.
void run(pointer self, statement st, query_done done, bool during_setup = false);

/// Atomic claims (two steps, see surreal_claims.cpp), giving back, renewals.
void claim(pointer self, const claim_request& req, caf::typed_response_promise<claim_result> rp);
void release(pointer self, const std::string& task_id, const std::string& worker);
void renew(pointer self, const renew_request& req,
           caf::typed_response_promise<std::vector<std::string>> rp);

/// The error a read-only store answers writes with.
caf::error refusal(const options& o);

/// Delivers an outcome's failure to a promise; true if it did.
template <class Promise>
bool deliver_failure(Promise& rp, const query_outcome& o) {
  if (o.st)
    return false;
  rp.deliver(make_error(o.st.code(), o.st.message()));
  return true;
}

} // namespace orch::surreal
