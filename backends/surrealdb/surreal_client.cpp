#include "backends/surrealdb/surreal_client.hpp"

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "runtime/core/log.hpp"

namespace orch::surreal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using bytes = std::vector<uint8_t>;

bool is_retryable_conflict(const std::string& message) {
  return message.find("can be retried") != std::string::npos
         || message.find("Transaction conflict") != std::string::npos;
}

namespace {

constexpr auto max_backoff = std::chrono::milliseconds(5000);
constexpr auto first_backoff = std::chrono::milliseconds(100);
constexpr size_t max_message_bytes = 256u << 20;

struct parsed_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;
  std::string shown;                         // for messages
  std::string error;                         // not empty: unusable
};

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

/// One WebSocket connection, plain or TLS.
class session {
public:
  virtual ~session() = default;
  virtual void write(std::shared_ptr<const bytes> frame,
                     std::function<void(beast::error_code)> done) = 0;
  virtual void read(std::function<void(beast::error_code, bytes)> done) = 0;
  virtual void close() = 0;
};

template <class Stream>
class ws_session : public session, public std::enable_shared_from_this<ws_session<Stream>> {
public:
  template <class... Ts>
  explicit ws_session(Ts&&... xs) : ws_(std::forward<Ts>(xs)...) {}

  websocket::stream<Stream>& ws() { return ws_; }

  void write(std::shared_ptr<const bytes> frame,
             std::function<void(beast::error_code)> done) override {
    ws_.async_write(net::buffer(*frame), [frame, done, self = this->shared_from_this()](
                                           beast::error_code ec, std::size_t) { done(ec); });
  }

  void read(std::function<void(beast::error_code, bytes)> done) override {
    auto self = this->shared_from_this();
    ws_.async_read(buffer_, [this, self, done](beast::error_code ec, std::size_t) {
      if (ec)
        return done(ec, {});
      auto data = buffer_.data();
      bytes out(static_cast<const uint8_t*>(data.data()),
                static_cast<const uint8_t*>(data.data()) + data.size());
      buffer_.consume(buffer_.size());
      done(ec, std::move(out));
    });
  }

  void close() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

private:
  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
};

using plain_session = ws_session<beast::tcp_stream>;
using tls_session = ws_session<beast::ssl_stream<beast::tcp_stream>>;

std::string rpc_error_message(const json& error) {
  if (error.is_object()) {
    auto msg = error.value("message", std::string{});
    if (!msg.empty())
      return msg;
  }
  return error.dump();
}

} // namespace

struct client::impl : std::enable_shared_from_this<client::impl> {
  struct pending_call {
    std::string method;
    rpc_callback done;
    std::shared_ptr<net::steady_timer> timer;
  };

  client_config cfg;
  parsed_url url;
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  ssl::context tls_ctx{ssl::context::tls_client};
  std::thread thread;
  std::function<void(std::function<void(std::string)>)> on_ready;
  std::function<void(const json&)> on_notification;

  // Everything below is touched only on the client's thread.
  std::shared_ptr<session> conn;
  uint64_t generation = 0;                   // bumped per connection attempt
  uint64_t next_id = 0;
  std::map<uint64_t, pending_call> pending;
  std::deque<std::shared_ptr<const bytes>> out_queue;
  bool writing = false;
  bool stopping = false;
  std::chrono::milliseconds backoff = first_backoff;
  net::steady_timer retry_timer{ioc};
  std::string last_error = "not connected yet";
  std::promise<std::string> first;
  bool first_reported = false;
  std::atomic<bool> is_ready{false};
  std::atomic<bool> setting_up{false};

  explicit impl(client_config c) : cfg(std::move(c)), url(parse_url(cfg.url)) {}

  // -- results ---------------------------------------------------------------------

  void report_first(const std::string& error) {
    if (!first_reported) {
      first_reported = true;
      first.set_value(error);
    }
  }

  void fail_all(const std::string& why) {
    auto calls = std::move(pending);
    pending.clear();
    for (auto& [id, p] : calls) {
      p.timer->cancel();
      p.done(status{errc::unavailable, why});
    }
  }

  // -- connecting --------------------------------------------------------------------

  void connection_failed(uint64_t gen, const std::string& why) {
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

  void connect() {
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
  void tcp_connect(uint64_t gen, const tcp::resolver::results_type& results,
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

  void connect_plain(uint64_t gen, const tcp::resolver::results_type& results) {
    auto s = std::make_shared<plain_session>(ioc);
    tcp_connect(gen, results, s, [this, gen, s] { upgrade(gen, s); });
  }

  void connect_tls(uint64_t gen, const tcp::resolver::results_type& results) {
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

  std::string connect_error(const beast::error_code& ec) const {
    auto msg = "cannot connect to SurrealDB at " + url.shown + ": " + ec.message();
    if (ec == net::error::connection_refused)
      msg += ". Is the server running and listening on " + url.host + ":" + url.port + "?";
    else if (ec == beast::error::timeout)
      msg += " (no answer within " + std::to_string(cfg.connect_timeout.count())
             + " ms). Check the address and any firewall in between";
    return msg;
  }

  template <class Session>
  void upgrade(uint64_t gen, std::shared_ptr<Session> s) {
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

  // -- after connecting: sign in, select ns/db, let the backend set up -----------

  void sign_in(uint64_t gen) {
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
  static bool listed(const rpc_result& r, const char* field, const std::string& name) {
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
  void use(uint64_t gen) {
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

  void use_ns_db(uint64_t gen) {
    send("use", json::array({cfg.ns, cfg.db}), [this, self = shared_from_this(), gen](rpc_result r) {
      if (gen != generation)
        return;
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
  void ready(uint64_t gen) {
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

  // -- reading and writing -------------------------------------------------------

  void read_loop(uint64_t gen) {
    if (gen != generation || !conn)
      return;  // the connection failed while handling the last message
    auto c = conn;
    c->read([this, self = shared_from_this(), gen, c](beast::error_code ec, bytes data) {
      if (gen != generation)
        return;
      if (ec) {
        if (stopping)
          return;
        return connection_failed(gen, "the connection to SurrealDB at " + url.shown
                                        + " was lost: " + ec.message());
      }
      dispatch(data);
      read_loop(gen);
    });
  }

  void dispatch(const bytes& data) {
    json msg;
    try {
      msg = json::from_cbor(data, true, true, json::cbor_tag_handler_t::ignore);
    } catch (const std::exception& e) {
      log_warn("surrealdb", std::string{"unreadable message from the server: "} + e.what());
      return;
    }
    if (!msg.is_object())
      return;
    auto id = msg.find("id");
    if (id == msg.end() || !id->is_number_integer()) {
      // No id: a live-query notification (or an error about a malformed frame).
      if (auto r = msg.find("result"); r != msg.end() && r->is_object() && on_notification)
        on_notification(*r);
      return;
    }
    auto it = pending.find(id->get<uint64_t>());
    if (it == pending.end())
      return;  // timed out already
    auto p = std::move(it->second);
    pending.erase(it);
    p.timer->cancel();
    if (auto e = msg.find("error"); e != msg.end()) {
      auto text = rpc_error_message(*e);
      p.done(status{is_retryable_conflict(text) ? errc::conflict : errc::internal, text});
      return;
    }
    p.done(msg.contains("result") ? std::move(msg["result"]) : json{});
  }

  void send(const std::string& method, json params, rpc_callback done) {
    if (!conn) {
      done(status{errc::unavailable, "SurrealDB at " + url.shown + " is not reachable: " + last_error});
      return;
    }
    auto id = ++next_id;
    auto frame = std::make_shared<const bytes>(
      json::to_cbor(json{{"id", id}, {"method", method}, {"params", std::move(params)}}));
    auto timer = std::make_shared<net::steady_timer>(ioc);
    timer->expires_after(cfg.request_timeout);
    timer->async_wait([this, self = shared_from_this(), id](beast::error_code ec) {
      if (ec)
        return;  // answered (cancelled)
      auto it = pending.find(id);
      if (it == pending.end())
        return;
      auto p = std::move(it->second);
      pending.erase(it);
      p.done(status{errc::unavailable, "SurrealDB at " + url.shown + " did not answer '" + p.method
                                         + "' within "
                                         + std::to_string(cfg.request_timeout.count() / 1000)
                                         + " s"});
    });
    pending.emplace(id, pending_call{method, std::move(done), std::move(timer)});
    out_queue.push_back(std::move(frame));
    pump();
  }

  void pump() {
    if (writing || out_queue.empty() || !conn)
      return;
    writing = true;
    auto gen = generation;
    conn->write(out_queue.front(), [this, self = shared_from_this(), gen](beast::error_code ec) {
      if (gen != generation)
        return;
      writing = false;
      if (!out_queue.empty())
        out_queue.pop_front();
      if (ec)
        return connection_failed(gen, "the connection to SurrealDB at " + url.shown
                                        + " was lost while sending: " + ec.message());
      pump();
    });
  }
};

client::client(client_config cfg) : impl_(std::make_shared<impl>(std::move(cfg))) {
  auto& d = *impl_;
  d.tls_ctx.set_default_verify_paths();
  if (!d.cfg.ca_file.empty()) {
    beast::error_code ec;
    d.tls_ctx.load_verify_file(d.cfg.ca_file, ec);
    if (ec)
      d.url.error = "cannot load --surrealdb-ca-file " + d.cfg.ca_file + ": " + ec.message();
  }
}

client::~client() {
  stop();
}

void client::set_handlers(std::function<void(std::function<void(std::string)> done)> on_ready,
                          std::function<void(const nlohmann::json&)> on_notification) {
  impl_->on_ready = std::move(on_ready);
  impl_->on_notification = std::move(on_notification);
}

std::string client::start() {
  auto& d = *impl_;
  if (!d.url.error.empty())
    return d.url.error;
  auto result = d.first.get_future();
  d.thread = std::thread([self = impl_] { self->ioc.run(); });
  net::post(d.ioc, [self = impl_] { self->connect(); });
  return result.get();
}

void client::stop() {
  auto self = impl_;
  if (!self || !self->thread.joinable())
    return;
  net::post(self->ioc, [self] {
    self->stopping = true;
    ++self->generation;
    self->is_ready = false;
    self->retry_timer.cancel();
    if (self->conn)
      self->conn->close();
    self->conn.reset();
    self->fail_all("the orchestrator is shutting down its SurrealDB connection");
    self->guard.reset();
  });
  self->thread.join();
}

void client::call(const std::string& method, nlohmann::json params, rpc_callback done) {
  auto self = impl_;
  net::post(self->ioc, [self, method, params = std::move(params), done = std::move(done)]() mutable {
    if (!self->is_ready) {
      done(status{errc::unavailable,
                  "SurrealDB at " + self->url.shown + " is not reachable: " + self->last_error});
      return;
    }
    self->send(method, std::move(params), std::move(done));
  });
}

void client::call_during_setup(const std::string& method, nlohmann::json params,
                               rpc_callback done) {
  auto self = impl_;
  net::post(self->ioc, [self, method, params = std::move(params), done = std::move(done)]() mutable {
    self->send(method, std::move(params), std::move(done));
  });
}

void client::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto self = impl_;
  auto timer = std::make_shared<net::steady_timer>(self->ioc, delay);
  timer->async_wait([timer, fn = std::move(fn)](beast::error_code) { fn(); });
}

bool client::ready() const {
  return impl_->is_ready;
}

const std::string& client::where() const {
  return impl_->url.shown;
}

} // namespace orch::surreal
