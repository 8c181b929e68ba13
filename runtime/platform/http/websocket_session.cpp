#include "runtime/platform/http/websocket_session.hpp"

#include <deque>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "runtime/platform/http/stream_link.hpp"

namespace orch::http_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

/// A ping after half of it without a word from the client, and the
/// connection closed after all of it: a client gone without a FIN is
/// found, and proxies see traffic on a quiet stream.
constexpr auto idle_timeout = std::chrono::seconds(30);
/// What a client may send in one message: it is read and dropped.
constexpr size_t client_message_limit = 64 * 1024;
/// RFC 6455: a close frame's reason is at most 123 bytes.
constexpr size_t close_reason_limit = 123;

std::string fitted_reason(std::string why) {
  if (why.size() <= close_reason_limit)
    return why;
  size_t n = close_reason_limit;
  while (n > 0 && (static_cast<unsigned char>(why[n]) & 0xC0) == 0x80)
    --n;  // not inside a UTF-8 sequence
  why.resize(n);
  return why;
}

template <class Stream>
class ws_session : public std::enable_shared_from_this<ws_session<Stream>> {
  using std::enable_shared_from_this<ws_session<Stream>>::shared_from_this;

public:
  ws_session(Stream&& stream, std::shared_ptr<net::ssl::context> context,
             std::shared_ptr<shared_state> shared)
    : context_(std::move(context)), ws_(std::move(stream)), shared_(std::move(shared)) {
    ++shared_->connections;
  }

  ~ws_session() {
    if (link_)
      link_->ended("the connection ended");
    --shared_->connections;
  }

  void run(upgrade_request req, http_response resp) {
    // The WebSocket keeps its own time (below); the TCP stream's would cut it.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = shared_->cfg.request_timeout;
    t.idle_timeout = idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& r) { r.set(beast::http::field::server, server_name); }));
    ws_.read_message_max(client_message_limit);
    ws_.text(true);
    ws_.async_accept(req, [self = shared_from_this(),
                           open = std::move(resp.open_stream)](beast::error_code ec) {
      if (ec)
        return;  // the handshake failed: nothing was streamed, nothing to end
      self->open_link();
      self->read();
      open(self->link_);
    });
  }

private:
  void open_link() {
    std::weak_ptr<ws_session> weak = shared_from_this();
    auto executor = ws_.get_executor();
    link_ = std::make_shared<stream_link>(
      stream_link::connection_side{
        [weak, executor] {
          net::post(executor, [weak] {
            if (auto self = weak.lock())
              self->queue(self->link_->take());
          });
        },
        [weak, executor](stream_link::ending how) {
          net::post(executor, [weak, how = std::move(how)]() mutable {
            if (auto self = weak.lock())
              self->finish(std::move(how));
          });
        }},
      shared_->cfg.stream_buffer_bytes, true);
    shared_->streams.add(link_);
  }

  /// What the client sends is dropped; the read ends with the connection
  /// (its close frame, a reply to ours, a silence past idle_timeout).
  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->over_ = true;
        self->link_->ended(self->closing_ ? self->close_why_
                           : ec == websocket::error::closed
                             ? std::string{"the client closed the connection"}
                             : "the connection ended: " + ec.message());
        return;
      }
      self->in_.clear();
      self->read();
    });
  }

  void queue(std::vector<std::string> messages) {
    if (over_ || finishing_)
      return;
    for (auto& m : messages)
      out_.push_back(std::move(m));
    pump();
  }

  void finish(stream_link::ending how) {
    if (over_ || finishing_)
      return;
    finishing_ = true;
    close_why_ = how.why.empty() ? "closed" : how.why;
    if (how.cut) {
      out_.clear();  // the client is too slow for what waits: it is not sent
      if (writing_) {
        // It has left a write blocked: no close frame can get through.
        over_ = true;
        link_->ended(close_why_);
        beast::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
        return;
      }
      close_code_ = websocket::close_code::policy_error;
    } else {
      if (!how.last.empty())
        out_.push_back(std::move(how.last));
      close_code_ = how.why.empty() ? websocket::close_code::normal
                                    : websocket::close_code::going_away;
    }
    pump();
  }

  /// One write at a time (Beast's rule), the close frame after the last.
  void pump() {
    if (writing_ || over_ || closing_)
      return;
    if (out_.empty()) {
      if (finishing_)
        close();
      return;
    }
    writing_ = true;
    auto data = std::make_shared<std::string>(std::move(out_.front()));
    out_.pop_front();
    ws_.async_write(net::buffer(*data),
                    [self = shared_from_this(), data](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->link_->written(data->size());
                      if (ec) {
                        self->over_ = true;
                        self->link_->ended("the connection ended: " + ec.message());
                        return;
                      }
                      self->pump();
                    });
  }

  void close() {
    closing_ = true;
    websocket::close_reason reason{close_code_};
    reason.reason = fitted_reason(close_why_);
    // The read still waiting gets the client's answering close frame and
    // ends the stream; Beast tears the connection down after it.
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->over_ = true;
        self->link_->ended(self->close_why_);
      }
    });
  }

  std::shared_ptr<net::ssl::context> context_;  // TLS: outlives the stream that uses it
  websocket::stream<Stream> ws_;
  std::shared_ptr<shared_state> shared_;
  std::shared_ptr<stream_link> link_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool finishing_ = false;                   // close() or cut off: write what is left, end
  bool closing_ = false;                     // the close frame is on its way
  bool over_ = false;
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::string close_why_;
};

} // namespace

void start_websocket(plain_stream&& stream, upgrade_request req,
                     std::shared_ptr<shared_state> shared, http_response resp) {
  std::make_shared<ws_session<plain_stream>>(std::move(stream), nullptr, std::move(shared))
    ->run(std::move(req), std::move(resp));
}

void start_websocket(tls_stream&& stream, std::shared_ptr<net::ssl::context> context,
                     upgrade_request req, std::shared_ptr<shared_state> shared,
                     http_response resp) {
  std::make_shared<ws_session<tls_stream>>(std::move(stream), std::move(context),
                                           std::move(shared))
    ->run(std::move(req), std::move(resp));
}

} // namespace orch::http_detail
