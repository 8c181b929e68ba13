// Connecting to SurrealDB: resolve, TCP, TLS where asked, the WebSocket
// upgrade, sign-in (root, then database-level), `use`, and the backend's own
// set-up; a failure at any step closes the attempt and retries with backoff.
#include "backends/surrealdb/surreal_client_impl.hpp"

#include "runtime/core/log.hpp"

namespace orch::surreal {

parsed_url parse_url(const std::string& url) {
  parsed_url u;
  u.shown = url;
  std::string rest;
  if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else if (url.rfind("wss://", 0) == 0) {
    rest = url.substr(6);
    u.tls = true;
  } else {
    u.error = "--surrealdb-url '" + url
              + "' is not a SurrealDB WebSocket URL: use ws://host:port or wss://host:port";
    return u;
  }
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    u.error = "--surrealdb-url must not contain credentials: use --surrealdb-username and "
              "--surrealdb-password";
    return u;
  }
  if (!authority.empty() && authority[0] == '[') {  // [ipv6]:port
    auto close = authority.find(']');
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      u.port = authority.substr(close + 2);
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
  }
  if (u.host.empty()) {
    u.error = "--surrealdb-url '" + url + "' has no host";
    return u;
  }
  if (u.port.empty())
    u.port = u.tls ? "443" : "80";
  // The RPC endpoint is /rpc, as `surreal start` serves it.
  if (u.path.empty() || u.path == "/")
    u.path = "/rpc";
  else if (u.path.size() < 4 || u.path.compare(u.path.size() - 4, 4, "/rpc") != 0)
    u.path += "/rpc";
  return u;
}

void client::impl::connection_failed(uint64_t gen, const std::string& why) {
  if (gen != generation || stopping)
    return;
  // This connection is over: callbacks of its requests (failed below) see
  // another generation and stay out of the way.
  ++generation;
  last_error = why;
  is_ready = false;
  setting_up = false;
  if (conn)
    conn->close();
  conn.reset();
  out_queue.clear();
  writing = false;
  fail_all(why);
  // The first failure goes to start()'s caller; later ones are logged.
  if (first_reported)
    log_warn("surrealdb", why + "; retrying in " + std::to_string(backoff.count()) + " ms");
  report_first(why);
  retry_timer.expires_after(backoff);
  backoff = std::min(backoff * 2, max_backoff);
  retry_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->stopping)
      self->connect();
  });
}

void client::impl::connect() {
  auto gen = ++generation;
  auto self = shared_from_this();
  auto resolver = std::make_shared<tcp::resolver>(ioc);
  resolver->async_resolve(
    url.host, url.port, [this, self, gen, resolver](beast::error_code ec, tcp::resolver::results_type results) {
      if (ec)
        return connection_failed(gen, "cannot resolve the host '" + url.host
                                        + "' of the SurrealDB URL " + url.shown + ": "
                                        + ec.message() + ". Check --surrealdb-url");
      if (url.tls)
        connect_tls(gen, results);
      else
        connect_plain(gen, results);
    });
}

/// TCP connect for either kind of session, then `next` (the TLS
/// handshake, or straight to the WebSocket upgrade).
template <class Session, class Next>
void client::impl::tcp_connect(uint64_t gen, const tcp::resolver::results_type& results,
                 std::shared_ptr<Session> s, Next next) {
  auto& lowest = beast::get_lowest_layer(s->ws());
  lowest.expires_after(cfg.connect_timeout);
  lowest.async_connect(results, [this, self = shared_from_this(), gen, s,
                                 next](beast::error_code ec, const tcp::endpoint&) {
    if (ec)
      return connection_failed(gen, connect_error(ec));
    beast::get_lowest_layer(s->ws()).expires_never();
    next();
  });
}

void client::impl::connect_plain(uint64_t gen, const tcp::resolver::results_type& results) {
  auto s = std::make_shared<plain_session>(ioc);
  tcp_connect(gen, results, s, [this, gen, s] { upgrade(gen, s); });
}

void client::impl::connect_tls(uint64_t gen, const tcp::resolver::results_type& results) {
  auto s = std::make_shared<tls_session>(ioc, tls_ctx);
  auto& tls = s->ws().next_layer();
  // SNI and host name verification against the certificate.
  SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str());
  tls.set_verify_mode(ssl::verify_peer);
  tls.set_verify_callback(ssl::host_name_verification(url.host));
  tcp_connect(gen, results, s, [this, gen, s] {
    beast::get_lowest_layer(s->ws()).expires_after(cfg.connect_timeout);
    s->ws().next_layer().async_handshake(
      ssl::stream_base::client, [this, self = shared_from_this(), gen, s](beast::error_code ec) {
        if (ec)
          return connection_failed(
            gen, "TLS handshake with SurrealDB at " + url.shown + " failed: " + ec.message()
                   + (cfg.ca_file.empty()
                        ? ". If the server uses a private CA, pass it with --surrealdb-ca-file"
                        : ". Check that --surrealdb-ca-file " + cfg.ca_file
                            + " is the CA that signed the server's certificate"));
        beast::get_lowest_layer(s->ws()).expires_never();
        upgrade(gen, s);
      });
  });
}

std::string client::impl::connect_error(const beast::error_code& ec) const {
  auto msg = "cannot connect to SurrealDB at " + url.shown + ": " + ec.message();
  if (ec == net::error::connection_refused)
    msg += ". Is the server running and listening on " + url.host + ":" + url.port + "?";
  else if (ec == beast::error::timeout)
    msg += " (no answer within " + std::to_string(cfg.connect_timeout.count())
           + " ms). Check the address and any firewall in between";
  return msg;
}

template <class Session>
void client::impl::upgrade(uint64_t gen, std::shared_ptr<Session> s) {
  auto& ws = s->ws();
  // Requests are small frames written back to back: no Nagle delay.
  beast::error_code nd;
  beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true), nd);
  ws.binary(true);
  ws.read_message_max(max_message_bytes);
  websocket::stream_base::timeout t;
  t.handshake_timeout = cfg.connect_timeout;
  t.idle_timeout = std::chrono::seconds(15);
  t.keep_alive_pings = true;  // a silently vanished server is noticed
  ws.set_option(t);
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::sec_websocket_protocol, "cbor");
    req.set(beast::http::field::user_agent, "orchestrator");
  }));
  auto res = std::make_shared<websocket::response_type>();
  auto host = url.host + ":" + url.port;
  ws.async_handshake(*res, host, url.path,
                     [this, self = shared_from_this(), gen, s, res](beast::error_code ec) {
                       if (ec) {
                         auto status = res->result_int();
                         return connection_failed(
                           gen, "SurrealDB at " + url.shown + " refused the WebSocket connection"
                                  + (status ? " (HTTP " + std::to_string(status) + ")" : "")
                                  + ": " + ec.message()
                                  + ". Is it a SurrealDB server, and is the URL right?");
                       }
                       if (gen != generation || stopping)
                         return s->close();
                       conn = s;
                       read_loop(gen);
                       sign_in(gen);
                     });
}

void client::impl::sign_in(uint64_t gen) {
  setting_up = true;
  json params = json::array({json{{"user", cfg.username}, {"pass", cfg.password}}});
  send("signin", params, [this, self = shared_from_this(), gen](rpc_result r) {
    if (gen != generation)
      return;
    if (!r.ok()) {
      // A database-level user signs in with its namespace and database.
      json scoped = json::array({json{{"ns", cfg.ns},
                                      {"db", cfg.db},
                                      {"user", cfg.username},
                                      {"pass", cfg.password}}});
      return send("signin", scoped, [this, self, gen, root_error = r.message()](rpc_result r2) {
        if (gen != generation)
          return;
        if (!r2.ok())
          return connection_failed(
            gen, "SurrealDB at " + url.shown + " rejected the credentials of user '"
                   + cfg.username + "' (" + root_error
                   + "). Check --surrealdb-username and --surrealdb-password (or "
                     "SURREALDB_PASSWORD)");
        use(gen);
      });
    }
    use(gen);
  });
}

/// Whether `name` is among the definitions that `INFO FOR <what>` lists
/// under `field`; true when the user may not look (then it must exist:
/// such users are defined inside their namespace or database). An
/// unanswered request is handled before: it says nothing either way.
bool client::impl::listed(const rpc_result& r, const char* field, const std::string& name) {
  if (!r.ok() || !r->is_array() || r->empty())
    return true;
  auto& first = (*r)[0];
  auto result = first.find("result");
  if (first.value("status", std::string{"OK"}) != "OK" || result == first.end()
      || !result->is_object() || !result->contains(field))
    return true;
  return (*result)[field].contains(name);
}

/// Selects the namespace and database; with create_missing off, only those
/// that exist (see client_config).
void client::impl::use(uint64_t gen) {
  if (cfg.create_missing)
    return use_ns_db(gen);
  auto self = shared_from_this();
  auto info = [this, self](const char* what, rpc_callback then) {
    send("query", json::array({std::string{"INFO FOR "} + what, json::object()}), std::move(then));
  };
  info("ROOT", [this, self, gen, info](rpc_result root) {
    if (gen != generation)
      return;
    if (!root.ok() && root.code() == errc::unavailable)  // not answered: not known
      return connection_failed(gen, root.message());
    if (!listed(root, "namespaces", cfg.ns))
      return ready(gen);               // nothing selected: reads find nothing
    send("use", json::array({cfg.ns, nullptr}), [this, self, gen, info](rpc_result r) {
      if (gen != generation)
        return;
      if (!r.ok() && r.code() == errc::unavailable)
        return connection_failed(gen, r.message());
      if (!r.ok())
        return use_ns_db(gen);         // reports the refusal with the usual message
      info("NS", [this, self, gen](rpc_result ns) {
        if (gen != generation)
          return;
        if (!ns.ok() && ns.code() == errc::unavailable)
          return connection_failed(gen, ns.message());
        if (!listed(ns, "databases", cfg.db))
          return ready(gen);
        use_ns_db(gen);
      });
    });
  });
}

void client::impl::use_ns_db(uint64_t gen, int conflicts) {
  send("use", json::array({cfg.ns, cfg.db}), [this, self = shared_from_this(), gen,
                                              conflicts](rpc_result r) {
    if (gen != generation)
      return;
    // Selecting a namespace or database creates it if missing: two clients
    // creating databases at the same moment (orchestrators starting
    // together) may conflict, and SurrealDB says to retry.
    if (!r.ok() && conflicts < 20 && r.message().find("can be retried") != std::string::npos) {
      auto t = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(5 + 10 * conflicts));
      return t->async_wait([this, self, gen, conflicts, t](beast::error_code) {
        if (gen == generation)
          use_ns_db(gen, conflicts + 1);
      });
    }
    if (!r.ok())
      return connection_failed(gen, "SurrealDB at " + url.shown + " does not let user '"
                                      + cfg.username + "' use namespace '" + cfg.ns
                                      + "', database '" + cfg.db + "': " + r.message()
                                      + ". Check --surrealdb-namespace and "
                                        "--surrealdb-database and the user's rights");
    ready(gen);
  });
}

/// Signed in and selected: the backend sets up, then requests may flow.
void client::impl::ready(uint64_t gen) {
  auto finish = [this, self = shared_from_this(), gen](std::string error) {
    net::post(ioc, [this, self, gen, error] {
      if (gen != generation)
        return;
      if (!error.empty())
        return connection_failed(gen, error);
      setting_up = false;
      is_ready = true;
      backoff = first_backoff;
      if (first_reported)
        log_info("surrealdb", "connected to " + url.shown + " again");
      report_first("");
    });
  };
  if (on_ready)
    on_ready(finish);
  else
    finish("");
}

} // namespace orch::surreal
