// The SurrealDB client's insides, shared by surreal_connect.cpp (connecting,
// signing in, selecting the namespace and database, reconnecting) and
// surreal_client.cpp (requests, replies, the public API). Internal to
// backends/surrealdb/: Boost is heavy, and nothing else needs it.
#pragma once

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


#include <nlohmann/json.hpp>

#include "backends/surrealdb/surreal_client.hpp"

namespace orch::surreal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using bytes = std::vector<uint8_t>;

inline constexpr auto max_backoff = std::chrono::milliseconds(5000);
inline constexpr auto first_backoff = std::chrono::milliseconds(100);
inline constexpr size_t max_message_bytes = 256u << 20;

struct parsed_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;
  std::string shown;                         // for messages
  std::string error;                         // not empty: unusable
};

/// Splits and checks a SurrealDB URL (ws:// or wss://, no credentials); the
/// RPC endpoint is /rpc, as `surreal start` serves it.
parsed_url parse_url(const std::string& url);

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

  // -- connecting (surreal_connect.cpp) --------------------------------------------
  void connect();
  /// TCP connect for either kind of session, then `next` (the TLS
  /// handshake, or straight to the WebSocket upgrade).
  template <class Session, class Next>
  void tcp_connect(uint64_t gen, const tcp::resolver::results_type& results,
                   std::shared_ptr<Session> s, Next next);
  void connect_plain(uint64_t gen, const tcp::resolver::results_type& results);
  void connect_tls(uint64_t gen, const tcp::resolver::results_type& results);
  std::string connect_error(const beast::error_code& ec) const;
  template <class Session>
  void upgrade(uint64_t gen, std::shared_ptr<Session> s);
  void sign_in(uint64_t gen);
  /// Whether `name` is among the definitions that `INFO FOR <what>` lists
  /// under `field`; true when the user may not look (then it must exist:
  /// such users are defined inside their namespace or database). An
  /// unanswered request is handled before: it says nothing either way.
  static bool listed(const rpc_result& r, const char* field, const std::string& name);
  /// Selects the namespace and database; with create_missing off, only those
  /// that exist (see client_config).
  void use(uint64_t gen);
  void use_ns_db(uint64_t gen, int conflicts = 0);
  /// Signed in and selected: the backend sets up, then requests may flow.
  void ready(uint64_t gen);
  /// This connection is over: fail what waits on it, retry with backoff.
  void connection_failed(uint64_t gen, const std::string& why);

  // -- requests and replies (surreal_client.cpp) -------------------------------------
  void report_first(const std::string& error);
  void fail_all(const std::string& why);
  void read_loop(uint64_t gen);
  void dispatch(const bytes& data);
  void send(const std::string& method, json params, rpc_callback done,
            std::chrono::milliseconds allowance = {});
  void pump();
};

} // namespace orch::surreal
