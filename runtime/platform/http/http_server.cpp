#include "runtime/platform/http/http_server.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/ssl.h>

#include "runtime/core/hex.hpp"
#include "runtime/core/log.hpp"
#include "runtime/platform/http/http_session.hpp"

namespace orch {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

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

namespace {

/// A server context from PEM files: TLS 1.2 at least, the key checked
/// against the certificate, every problem named with its file.
result<std::shared_ptr<net::ssl::context>> load_tls(const std::string& cert,
                                                    const std::string& key) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2
                   | net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1
                   | net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert, ec);
  if (ec)
    return status{errc::invalid, "cannot use --tls-cert " + cert + " (a PEM certificate chain): "
                                   + ec.message()};
  ctx->use_private_key_file(key, net::ssl::context::pem, ec);
  if (ec && ec.message().find("key values mismatch") != std::string::npos)
    return status{errc::invalid, "--tls-key " + key + " is not the key of --tls-cert " + cert};
  if (ec)
    return status{errc::invalid, "cannot use --tls-key " + key + " (a PEM private key): "
                                   + ec.message()};
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return status{errc::invalid, "--tls-key " + key + " is not the key of --tls-cert " + cert};
  return ctx;
}

} // namespace

struct http_server::impl {
  std::shared_ptr<http_detail::shared_state> shared;
  const http_server_config& cfg;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_pause{acceptor.get_executor()};
  std::vector<std::thread> threads;

  impl(http_server_config c, request_handler h)
    : shared(std::make_shared<http_detail::shared_state>()),
      cfg(shared->cfg),
      ioc(static_cast<int>(std::max(1u, c.threads))) {
    shared->cfg = std::move(c);
    shared->handler = std::move(h);
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open())
          return;
        // Out of file descriptors (or another passing failure): accepting
        // again at once would spin; connections wait in the backlog meanwhile.
        log_warn("http", "accept failed: " + ec.message() + "; pausing new connections for 100 ms");
        accept_pause.expires_after(std::chrono::milliseconds(100));
        accept_pause.async_wait([this](beast::error_code e) {
          if (!e && shared->accepting)
            accept();
        });
        return;
      }
      // At the cap, the connection is answered with a 503 and closed.
      bool refuse = shared->connections.load() >= cfg.max_connections;
      http_detail::start_session(std::move(s), shared, refuse);
      if (shared->accepting)
        accept();
    });
  }
};

http_server::http_server(http_server_config cfg, request_handler handler)
  : impl_(std::make_unique<impl>(std::move(cfg), std::move(handler))) {}

http_server::~http_server() {
  stop();
}

status http_server::reload_tls() {
  auto& d = *impl_;
  if (d.cfg.tls_cert.empty())
    return {};
  auto ctx = load_tls(d.cfg.tls_cert, d.cfg.tls_key);
  if (!ctx)
    return ctx.error();
  d.shared->set_tls_context(std::move(*ctx));
  return {};
}

result<uint16_t> http_server::start() {
  auto& d = *impl_;
  if (d.cfg.tls_cert.empty() != d.cfg.tls_key.empty())
    return status{errc::invalid, "give both --tls-cert and --tls-key, or neither"};
  if (auto st = reload_tls(); !st)
    return st;
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
  d.shared->accepting = false;
  net::post(d.acceptor.get_executor(), [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
    d.accept_pause.cancel();
  });
}

void http_server::stop() {
  if (!impl_)
    return;
  auto& d = *impl_;
  stop_accepting();
  // Answers already on their way are written first, for a little while.
  d.shared->requests.wait_idle(std::chrono::seconds(2));
  // Streams do not end by themselves: each is closed in good order (its
  // client sees why, and a whole answer), and their handlers are told now,
  // while what they hold (actors) is still there.
  d.shared->streams.close_all("the server is stopping", std::chrono::seconds(1));
  d.shared->streams.end_all("the server is stopping");
  d.ioc.stop();
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
  // No request can reach the handler any more; drop what it holds (actor
  // handles) before the actor system goes away.
  d.shared->handler = nullptr;
}

} // namespace orch
