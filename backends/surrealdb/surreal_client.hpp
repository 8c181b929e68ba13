// A client for SurrealDB's own RPC protocol, as a stock `surreal start`
// serves it: WebSocket to URL/rpc with the `cbor` sub-protocol, requests
// {id, method, params} and replies {id, result} / {id, error}, CBOR encoded.
// ws:// and wss:// (OpenSSL; certificates verified, --surrealdb-ca-file for a
// private CA). Many requests in flight on one connection, matched by id;
// every request has a timeout; a lost connection is re-established with
// backoff, signing in and selecting the namespace/database again.
//
// CAF-free: it runs on an Asio thread of its own and reports through
// callbacks, which run on that thread (the storage actor turns them into
// messages to itself: surreal_storage.cpp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/status.hpp"

namespace orch::surreal {

struct client_config {
  std::string url;                           // ws://host:port or wss://host:port[/rpc]
  std::string ns;
  std::string db;
  std::string username;
  std::string password;
  std::string ca_file;                       // PEM; empty: the system's trust store
  // false (read-only users): `use` would create a missing namespace or
  // database, so their existence is checked first (where the user may look)
  // and a missing one is not selected: queries then fail with "Specify a
  // namespace/database to use", which a reader takes for "empty".
  bool create_missing = true;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
};

/// The outcome of one RPC call: the reply's `result`, or why there is none
/// (errc::unavailable: the connection; conflict: a transaction conflict that
/// may be retried; internal: the server refused the call).
using rpc_result = result<nlohmann::json>;

using rpc_callback = std::function<void(rpc_result)>;

class client {
public:
  explicit client(client_config cfg);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// `on_ready` runs (on the client's thread) after every successful
  /// connect + signin + use, before queued work continues; it may issue
  /// calls with call_during_setup(). `on_notification` gets live-query
  /// notifications ({action, id, record, result}).
  void set_handlers(std::function<void(std::function<void(std::string)> done)> on_ready,
                    std::function<void(const nlohmann::json&)> on_notification);

  /// Connects and keeps the connection up until stop(). Blocks until the
  /// first connection is ready (returns "") or has failed (returns why);
  /// after a failure it keeps retrying in the background anyway.
  std::string start();
  void stop();

  /// One RPC call. Fails at once with errc::unavailable while disconnected.
  /// `allowance`: how much longer than the request timeout it may take (a
  /// large write batch).
  void call(const std::string& method, nlohmann::json params, rpc_callback done,
            std::chrono::milliseconds allowance = {});

  /// Like call(), but also while the connection is being set up (for
  /// on_ready's own calls).
  void call_during_setup(const std::string& method, nlohmann::json params, rpc_callback done);

  /// Runs `fn` on the client's thread after `delay` (to retry a transaction
  /// conflict without a busy loop).
  void after(std::chrono::milliseconds delay, std::function<void()> fn);

  bool ready() const;
  /// The URL, without credentials, for messages.
  const std::string& where() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// True if a failed query or commit may succeed when retried (a transaction
/// conflict; SurrealDB 3.0 reports it only in the message).
bool is_retryable_conflict(const std::string& message);

} // namespace orch::surreal
