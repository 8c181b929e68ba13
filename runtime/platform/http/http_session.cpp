#include "runtime/platform/http/http_session.hpp"

#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "runtime/core/json_writer.hpp"
#include "runtime/platform/http/websocket_session.hpp"

namespace orch::http_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr size_t header_limit = 64 * 1024;
// After the last answer, what the client still sends is read and dropped
// for a while before the socket closes: closing with unread bytes makes the
// kernel send a reset, which can destroy the answer before the client reads it.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr size_t linger_bytes = 4 << 20;

std::string seconds(std::chrono::seconds s) {
  return std::to_string(s.count()) + " s";
}


/// One connection, over plain TCP or TLS: the same reading, limits and
/// answers; TLS adds the handshake first and close_notify at the end.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

public:
  session(tcp::socket&& socket, std::shared_ptr<shared_state> shared)
    : stream_(std::move(socket)),
      shared_(std::move(shared)),
      cfg_(shared_->cfg),
      // One request's header and body, and a little of the next (pipelining).
      buffer_(header_limit + cfg_.max_body_bytes + 16 * 1024) {
    ++shared_->connections;
  }

  /// TLS: the context in use when the connection was accepted (a reload
  /// on SIGHUP applies to the connections after it).
  session(tcp::socket&& socket, std::shared_ptr<shared_state> shared,
          std::shared_ptr<net::ssl::context> context)
    : context_(std::move(context)),
      stream_(std::move(socket), *context_),
      shared_(std::move(shared)),
      cfg_(shared_->cfg),
      buffer_(header_limit + cfg_.max_body_bytes + 16 * 1024) {
    ++shared_->connections;
  }

  ~session() {
    if (link_)
      link_->ended("the connection ended");
    --shared_->connections;
  }

  void run(bool refuse) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), refuse] {
      if constexpr (tls) {
        // A client that never completes the handshake holds a connection
        // no longer than a slow request would.
        self->lowest().expires_after(self->cfg_.request_timeout);
        self->stream_.async_handshake(net::ssl::stream_base::server,
                                      [self, refuse](beast::error_code ec) {
                                        if (ec)
                                          return self->close_now();
                                        self->begin(refuse);
                                      });
      } else {
        self->begin(refuse);
      }
    });
  }

private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void begin(bool refuse) {
    if (refuse)
      return respond_error(503, "too many connections: this server takes at most "
                                  + std::to_string(cfg_.max_connections)
                                  + " at a time (--max-connections); try again in a moment",
                           false);
    read();
  }

  /// Waits for the next request's first bytes for up to the idle timeout;
  /// the request itself then has the request timeout.
  void read() {
    parser_.emplace();
    parser_->body_limit(cfg_.max_body_bytes);
    parser_->header_limit(header_limit);
    if (buffer_.size() > 0)
      return read_request();  // pipelined: already here
    lowest().expires_after(cfg_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](
                                                     beast::error_code ec, std::size_t n) {
      if (ec)
        return self->close_now();  // idle too long, or the client went away
      self->buffer_.commit(n);
      self->read_request();
    });
  }

  /// The request's own deadline is a timer that cancels the read, not the
  /// stream's timeout: that one closes the socket, and the 408 could not be
  /// written.
  void read_request() {
    lowest().expires_never();
    timed_out_ = false;
    deadline_.expires_after(cfg_.request_timeout);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;  // the request arrived
      self->timed_out_ = true;
      self->lowest().socket().cancel(ec);
    });
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    deadline_.cancel();
    if (timed_out_ && ec)
      return respond_error(408, "the request did not arrive within " + seconds(cfg_.request_timeout)
                                  + " (--request-timeout-s)",
                           false);
    if (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset
        || ec == net::error::operation_aborted)
      return close_now();
    if (ec == bhttp::error::body_limit || ec == bhttp::error::buffer_overflow)
      return respond_error(413, "the request body is larger than the limit of "
                                  + std::to_string(cfg_.max_body_bytes)
                                  + " bytes (--max-body-bytes)",
                           false);
    if (ec == bhttp::error::header_limit)
      return respond_error(431, "the request headers are larger than "
                                  + std::to_string(header_limit) + " bytes",
                           false);
    if (ec)
      return respond_error(400, "malformed HTTP request: " + ec.message(), false);
    handle(parser_->release());
  }

  void handle(bhttp::request<bhttp::string_body> msg) {
    keep_alive_ = msg.keep_alive() && shared_->accepting.load();
    // Kept for the handshake, should the answer be a stream.
    if (beast::websocket::is_upgrade(msg))
      upgrade_.emplace(msg);
    else
      upgrade_.reset();
    version_ = msg.version();
    http_request req;
    req.method = std::string{msg.method_string()};
    req.body = std::move(msg.body());
    if (auto a = msg.find(bhttp::field::authorization); a != msg.end())
      req.authorization = std::string{a->value()};
    if (auto h = msg.find(bhttp::field::host); h != msg.end())
      req.host = std::string{h->value()};
    if (auto o = msg.find(bhttp::field::origin); o != msg.end())
      req.origin = std::string{o->value()};
    if (auto l = msg.find("Last-Event-ID"); l != msg.end())
      req.last_event_id = std::string{l->value()};
    if (auto r = msg.find(bhttp::field::range); r != msg.end())
      req.range = std::string{r->value()};
    beast::error_code ep_ec;
    auto ep = lowest().socket().remote_endpoint(ep_ec);
    req.remote = ep_ec ? "unknown" : ep.address().to_string();
    if (!parse_request_target(std::string{msg.target()}, req))
      return respond_error(400, "malformed URL: invalid percent-encoding in '"
                                  + std::string{msg.target()} + "'",
                           keep_alive_);
    auto self = shared_from_this();
    shared_->requests.begin();
    counted_ = true;
    auto asked = ++asked_;
    answered_ = false;
    if (cfg_.answer_timeout.count() > 0) {
      deadline_.expires_after(cfg_.answer_timeout);
      deadline_.async_wait([self, asked](beast::error_code ec) {
        if (ec || self->asked_ != asked || self->answered_)
          return;
        self->answered_ = true;
        self->write(http_response{503, "application/json",
                                  error_body("no answer within " + seconds(self->cfg_.answer_timeout)
                                             + ": the orchestrator is overloaded or stuck; try "
                                               "again")});
      });
    }
    shared_->handler(std::move(req), [self, asked](http_response resp) {
      // Called on a CAF thread: continue on this connection's strand.
      net::post(self->stream_.get_executor(), [self, asked, resp = std::move(resp)]() mutable {
        if (self->asked_ != asked || self->answered_)
          return;  // too late: the client had its 503
        self->answered_ = true;
        self->deadline_.cancel();
        self->write(std::move(resp));
      });
    });
  }

  void respond_error(int status, const std::string& message, bool keep_alive) {
    keep_alive_ = keep_alive;
    write(http_response{status, "application/json", error_body(message)});
  }

  void write(http_response resp) {
    if (resp.open_stream && upgrade_)
      return hand_over_to_websocket(std::move(resp));
    if (resp.open_stream)
      return start_stream(std::move(resp));
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(resp.status), version_ == 0 ? 11 : version_);
    res->set(bhttp::field::server, server_name);
    res->set(bhttp::field::content_type, resp.content_type);
    if (resp.status == 503)
      res->set(bhttp::field::retry_after, "1");
    for (auto& [name, value] : resp.headers)
      res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    // A client that does not read its answers holds one of them, for this long.
    lowest().expires_after(cfg_.request_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(beast::error_code ec) {
    if (counted_) {
      counted_ = false;
      shared_->requests.end();
    }
    if (ec)
      return close_now();
    if (!keep_alive_)
      return close_gracefully();
    read();
  }

  /// The request asked for a WebSocket and the answer is a stream: the
  /// connection is the WebSocket session's from here (websocket_session.hpp).
  void hand_over_to_websocket(http_response resp) {
    if (counted_) {
      counted_ = false;
      shared_->requests.end();
    }
    if constexpr (tls)
      start_websocket(std::move(stream_), context_, std::move(*upgrade_), shared_,
                      std::move(resp));
    else
      start_websocket(std::move(stream_), std::move(*upgrade_), shared_, std::move(resp));
  }

  // -- a streamed answer ------------------------------------------------------------
  // The header, then chunks as the handler pushes them (HTTP/1.0: raw
  // bytes, ended by closing), then the last chunk and the connection
  // closes. While it streams, a read waits for the client to go away.

  void start_stream(http_response resp) {
    chunked_ = version_ >= 11;
    keep_alive_ = false;
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(
      static_cast<bhttp::status>(resp.status), version_ == 0 ? 11 : version_);
    res->set(bhttp::field::server, server_name);
    res->set(bhttp::field::content_type, resp.content_type);
    res->set(bhttp::field::cache_control, "no-store");
    for (auto& [name, value] : resp.headers)
      res->set(name, value);
    res->keep_alive(false);
    if (chunked_)
      res->chunked(true);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    std::weak_ptr<session> weak = shared_from_this();
    auto executor = stream_.get_executor();
    link_ = std::make_shared<stream_link>(
      stream_link::connection_side{
        [weak, executor] {
          net::post(executor, [weak] {
            if (auto self = weak.lock())
              self->queue_pieces(self->link_->take());
          });
        },
        [weak, executor](stream_link::ending how) {
          net::post(executor, [weak, how = std::move(how)]() mutable {
            if (auto self = weak.lock())
              self->finish_stream(std::move(how));
          });
        }},
      cfg_.stream_buffer_bytes, false);
    shared_->streams.add(link_);
    lowest().expires_after(cfg_.request_timeout);
    bhttp::async_write_header(
      stream_, *sr,
      [self = shared_from_this(), res, sr, open = std::move(resp.open_stream)](
        beast::error_code ec, std::size_t) {
        // A stream is not an answer a stop waits for: it has begun.
        if (self->counted_) {
          self->counted_ = false;
          self->shared_->requests.end();
        }
        if (ec) {
          self->link_->ended("the client went away");
          return self->close_now();
        }
        self->lowest().expires_never();
        self->watch_client();
        open(self->link_);
      });
  }

  /// Anything the client sends now is dropped; its end is the stream's.
  void watch_client() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (self->stream_over_ && ec)
                                return self->close_now();  // after end_stream: gone, or lingered
                              if (ec) {
                                self->stream_over_ = true;
                                self->link_->ended("the client closed the connection");
                                return self->close_now();
                              }
                              self->watch_client();
                            });
  }

  void queue_pieces(std::vector<std::string> pieces) {
    if (stream_over_ || finishing_)
      return;
    for (auto& p : pieces)
      out_ += p;
    pump();
  }

  void finish_stream(stream_link::ending how) {
    if (stream_over_ || finishing_)
      return;
    finishing_ = true;
    if (how.cut) {
      // Too slow for what waits: nothing more is sent, and a write the
      // client has left blocked is not waited for. The connection ends now.
      stream_over_ = true;
      out_.clear();
      link_->ended(how.why);
      return close_now();
    }
    out_ += how.last;
    pump();
  }

  void pump() {
    if (writing_ || stream_over_)
      return;
    if (out_.empty()) {
      if (finishing_)
        end_stream();
      return;
    }
    writing_ = true;
    auto data = std::make_shared<std::string>(std::move(out_));
    out_.clear();
    // A client that stops reading is cut off after this long on one write.
    lowest().expires_after(cfg_.request_timeout);
    auto done = [self = shared_from_this(), data](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      self->link_->written(data->size());
      if (ec) {
        self->stream_over_ = true;
        self->link_->ended("the client did not read for " + seconds(self->cfg_.request_timeout));
        return self->close_now();
      }
      self->lowest().expires_never();
      self->pump();
    };
    if (chunked_)
      net::async_write(stream_, bhttp::make_chunk(net::buffer(*data)), std::move(done));
    else
      net::async_write(stream_, net::buffer(*data), std::move(done));
  }

  void end_stream() {
    stream_over_ = true;
    link_->ended("closed");
    if (!chunked_)
      return linger();
    lowest().expires_after(cfg_.request_timeout);
    net::async_write(stream_, bhttp::make_chunk_last(),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec)
                         return self->close_now();
                       self->linger();
                     });
  }

  /// FIN, and the read watch_client() left waiting ends the connection when
  /// the client closes too, or after linger_time. (TLS: no close_notify,
  /// which would need a second read; the last chunk marks the answer whole.)
  void linger() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      return close_now();
    lowest().expires_after(linger_time);
  }

  /// Sends FIN, then reads and drops what the client still sends until it
  /// closes too (or for linger_time): the answer just written arrives.
  void close_gracefully() {
    if constexpr (tls) {
      // close_notify, then the socket: TLS clients read the answer before it.
      lowest().expires_after(linger_time);
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec)
        return close_now();
      lowest().expires_after(linger_time);
      drain();
    }
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](
                                                          beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > linger_bytes)
        return self->close_now();
      self->drain();
    });
  }

  void close_now() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
  }

  std::shared_ptr<net::ssl::context> context_;  // TLS: outlives the stream that uses it
  Stream stream_;
  std::shared_ptr<shared_state> shared_;
  const http_server_config& cfg_;
  beast::flat_buffer buffer_;
  net::steady_timer deadline_{stream_.get_executor()};
  uint64_t asked_ = 0;         // requests handed to the handler on this connection
  bool answered_ = true;       // the last of them has its answer (or its 503)
  bool timed_out_ = false;                   // the request deadline cancelled the read
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<upgrade_request> upgrade_;   // the request asked for a WebSocket
  bool counted_ = false;                     // a handler's answer is on its way
  bool keep_alive_ = false;
  unsigned version_ = 11;
  size_t drained_ = 0;
  // A streamed answer (start_stream): the handler's side, what waits to be
  // written, and where it is.
  std::shared_ptr<stream_link> link_;
  std::string out_;
  bool chunked_ = true;
  bool writing_ = false;
  bool finishing_ = false;                   // close() or cut off: write what is left, end
  bool stream_over_ = false;
};

} // namespace

void in_flight::begin() {
  std::lock_guard<std::mutex> g{m_};
  ++n_;
}

void in_flight::end() {
  std::lock_guard<std::mutex> g{m_};
  if (--n_ == 0)
    cv_.notify_all();
}

void in_flight::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> g{m_};
  cv_.wait_for(g, timeout, [&] { return n_ == 0; });
}

void start_session(tcp::socket socket, std::shared_ptr<shared_state> shared, bool refuse) {
  if (auto context = shared->tls_context())
    return std::make_shared<session<tls_stream>>(std::move(socket), std::move(shared),
                                                 std::move(context))
      ->run(refuse);
  std::make_shared<session<plain_stream>>(std::move(socket), std::move(shared))->run(refuse);
}

std::shared_ptr<net::ssl::context> shared_state::tls_context() {
  std::lock_guard<std::mutex> g{tls_mutex};
  return tls;
}

void shared_state::set_tls_context(std::shared_ptr<net::ssl::context> c) {
  std::lock_guard<std::mutex> g{tls_mutex};
  tls = std::move(c);
}

/// The message may echo what the client sent (a URL), so it is escaped as
/// JSON, with invalid UTF-8 replaced: the answer is well-formed JSON
/// whatever the bytes were.
std::string error_body(const std::string& message) {
  json_writer w;
  w.begin_object().key("error").value(message).key("success").value(false).end_object();
  return w.take();
}

} // namespace orch::http_detail
