#include "runtime/platform/http/http_server.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "runtime/core/hex.hpp"
#include "runtime/core/json_writer.hpp"
#include "runtime/core/log.hpp"

namespace orch {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr const char* server_name = "orchestrator";

/// The JSON envelope of an error the server answers itself. The message may
/// echo what the client sent (a URL), so it is escaped as JSON, with invalid
/// UTF-8 replaced: the answer is well-formed JSON whatever the bytes were.
std::string error_body(const std::string& message) {
  json_writer w;
  w.begin_object().key("error").value(message).key("success").value(false).end_object();
  return w.take();
}

/// Requests handed to the handler whose response is not written yet: what a
/// stop waits for, so that no answer already decided is cut off.
class in_flight {
public:
  void begin() {
    std::lock_guard<std::mutex> g{m_};
    ++n_;
  }
  void end() {
    std::lock_guard<std::mutex> g{m_};
    if (--n_ == 0)
      cv_.notify_all();
  }
  void wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g{m_};
    cv_.wait_for(g, timeout, [&] { return n_ == 0; });
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_ = 0;
};

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, const http_server_config& cfg, request_handler& handler,
          std::atomic<bool>& accepting, in_flight& requests)
    : stream_(std::move(socket)),
      cfg_(cfg),
      handler_(handler),
      accepting_(accepting),
      requests_(requests) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::read, shared_from_this()));
  }

private:
  void read() {
    parser_.emplace();
    parser_->body_limit(cfg_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(cfg_.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout
        || ec == net::error::connection_reset || ec == net::error::operation_aborted)
      return close();
    if (ec == bhttp::error::body_limit) {
      return respond_error(413, "the request body is larger than the limit of "
                                  + std::to_string(cfg_.max_body_bytes)
                                  + " bytes (--max-body-bytes)",
                           false);
    }
    if (ec == bhttp::error::header_limit)
      return respond_error(431, "the request headers are too large", false);
    if (ec) {
      if (buffer_.size() == 0 && !parser_->got_some())
        return close();
      return respond_error(400, "malformed HTTP request: " + ec.message(), false);
    }
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive() && accepting_.load();
    version_ = msg.version();
    http_request req;
    req.method = std::string{msg.method_string()};
    req.body = std::move(msg.body());
    beast::error_code ep_ec;
    auto ep = stream_.socket().remote_endpoint(ep_ec);
    req.remote = ep_ec ? "unknown" : ep.address().to_string();
    if (!parse_request_target(std::string{msg.target()}, req))
      return respond_error(400, "malformed URL: invalid percent-encoding in '"
                                  + std::string{msg.target()} + "'",
                           keep_alive_);
    auto self = shared_from_this();
    requests_.begin();
    counted_ = true;
    handler_(std::move(req), [self](http_response resp) {
      // Called on a CAF thread: continue on this connection's strand.
      net::post(self->stream_.get_executor(),
                [self, resp = std::move(resp)]() mutable { self->write(std::move(resp)); });
    });
  }

  void respond_error(int status, const std::string& message, bool keep_alive) {
    keep_alive_ = keep_alive;
    write(http_response{status, "application/json", error_body(message)});
  }

  void write(http_response resp) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(resp.status), version_ == 0 ? 11 : version_);
    res->set(bhttp::field::server, server_name);
    res->set(bhttp::field::content_type, resp.content_type);
    if (resp.status == 405) {
      // The gateway lists the allowed methods in its message; Allow is required.
      auto p = resp.body.find("(allowed: ");
      auto e = p == std::string::npos ? p : resp.body.find(')', p);
      if (e != std::string::npos)
        res->set(bhttp::field::allow, resp.body.substr(p + 10, e - p - 10));
    }
    res->keep_alive(keep_alive_);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    stream_.expires_after(cfg_.idle_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(beast::error_code ec) {
    if (counted_) {
      counted_ = false;
      requests_.end();
    }
    if (ec || !keep_alive_)
      return close();
    read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const http_server_config& cfg_;
  request_handler& handler_;
  std::atomic<bool>& accepting_;
  in_flight& requests_;
  bool counted_ = false;                     // a handler's answer is on its way
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

} // namespace

bool parse_request_target(const std::string& target, http_request& req) {
  auto q = target.find('?');
  if (!percent_decode(target.substr(0, q), req.path, false))
    return false;
  if (q == std::string::npos)
    return true;
  auto query = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string::npos)
      amp = query.size();
    auto part = query.substr(pos, amp - pos);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string k, v;
      if (!percent_decode(part.substr(0, eq), k, true)
          || (eq != std::string::npos && !percent_decode(part.substr(eq + 1), v, true)))
        return false;
      req.query[k] = v;
    }
    pos = amp + 1;
  }
  return true;
}

bool percent_decode(const std::string& in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

struct http_server::impl {
  http_server_config cfg;
  request_handler handler;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::vector<std::thread> threads;
  std::atomic<bool> accepting{true};
  in_flight requests;

  impl(http_server_config c, request_handler h)
    : cfg(std::move(c)), handler(std::move(h)), ioc(static_cast<int>(cfg.threads)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open())
          return;
        log_warn("http", "accept failed: " + ec.message());
      } else {
        std::make_shared<session>(std::move(s), cfg, handler, accepting, requests)->run();
      }
      if (accepting)
        accept();
    });
  }
};

http_server::http_server(http_server_config cfg, request_handler handler)
  : impl_(std::make_unique<impl>(std::move(cfg), std::move(handler))) {}

http_server::~http_server() {
  stop();
}

result<uint16_t> http_server::start() {
  auto& d = *impl_;
  beast::error_code ec;
  auto address = net::ip::make_address(d.cfg.bind, ec);
  if (ec)
    return status{errc::invalid, "--bind '" + d.cfg.bind + "' is not an IP address"};
  tcp::endpoint ep{address, d.cfg.port};
  d.acceptor.open(ep.protocol(), ec);
  if (!ec)
    d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor.bind(ep, ec);
  if (ec)
    return status{errc::unavailable,
                  "cannot listen on " + d.cfg.bind + ":" + std::to_string(d.cfg.port) + ": "
                    + ec.message()
                    + (ec == net::error::address_in_use
                         ? " (another process uses that port: stop it or pass --port)"
                         : "")};
  d.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return status{errc::unavailable, "cannot listen: " + ec.message()};
  auto port = d.acceptor.local_endpoint(ec).port();
  if (ec)
    return status{errc::unavailable, "cannot listen: " + ec.message()};
  d.accept();
  for (unsigned i = 0; i < std::max(1u, d.cfg.threads); ++i)
    d.threads.emplace_back([&d] { d.ioc.run(); });
  return port;
}

void http_server::stop_accepting() {
  auto& d = *impl_;
  d.accepting = false;
  net::post(d.acceptor.get_executor(), [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
  });
}

void http_server::stop() {
  if (!impl_)
    return;
  auto& d = *impl_;
  stop_accepting();
  // Answers already on their way are written first, for a little while.
  d.requests.wait_idle(std::chrono::seconds(2));
  d.ioc.stop();
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
  // No request can reach the handler any more; drop what it holds (actor
  // handles) before the actor system goes away.
  d.handler = nullptr;
}

} // namespace orch
