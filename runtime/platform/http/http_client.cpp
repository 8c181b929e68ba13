#include "runtime/platform/http/http_client.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace orch {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

nlohmann::json http_result::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

struct http_client::impl {
  std::string host;
  uint16_t port;
  net::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::string bearer;

  void connect() {
    stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(std::chrono::seconds(10));
    stream->connect(tcp::endpoint{net::ip::make_address(host), port});
    buffer.clear();
  }

  http_result once(const std::string& method, const std::string& target,
                   const std::string& body) {
    if (!stream)
      connect();
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, host);
    req.keep_alive(true);
    if (!bearer.empty())
      req.set(bhttp::field::authorization, "Bearer " + bearer);
    if (!body.empty() || method == "POST") {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    stream->expires_after(std::chrono::seconds(120));
    bhttp::write(*stream, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    bhttp::read(*stream, buffer, parser);
    auto res = parser.release();
    http_result out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    out.content_type = std::string{res[bhttp::field::content_type]};
    for (auto& field : res) {
      std::string name{field.name_string()};
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string{field.value()};
    }
    if (!res.keep_alive())
      stream.reset();
    return out;
  }
};

http_client::http_client(std::string host, uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

http_client::~http_client() = default;

void http_client::set_bearer(std::string token) {
  impl_->bearer = std::move(token);
}

http_result http_client::request(const std::string& method, const std::string& target,
                                 const std::string& body) {
  // One retry on a fresh connection: a keep-alive connection may have been
  // closed by the server since the last request.
  for (int attempt = 0;; ++attempt) {
    try {
      return impl_->once(method, target, body);
    } catch (const std::exception& e) {
      impl_->stream.reset();
      if (attempt == 1) {
        http_result r;
        r.error = e.what();
        return r;
      }
    }
  }
}

std::string raw_exchange(const std::string& host, uint16_t port, const std::string& bytes,
                         int timeout_ms) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  beast::error_code ec;
  stream.connect(tcp::endpoint{net::ip::make_address(host), port}, ec);
  if (ec)
    return {};
  net::write(stream.socket(), net::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    auto n = stream.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec)
      break;
  }
  return out;
}

} // namespace orch
