#include "tests/support/ws_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace orch::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

struct ws_client::impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
};

ws_client::ws_client(uint16_t port, const std::string& target,
                     const std::map<std::string, std::string>& headers)
  : impl_(std::make_unique<impl>()) {
  auto& ws = impl_->ws;
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws).connect(
    net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& r) {
    for (auto& [name, value] : headers)
      r.set(name, value);
  }));
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1:" + std::to_string(port), target, ec);
  status_ = static_cast<int>(res.result_int());
  if (ec && status_ != 101)
    refusal_ = res.body();
}

ws_client::~ws_client() = default;

std::optional<std::string> ws_client::next(std::chrono::milliseconds timeout) {
  if (status_ != 101 || closed_)
    return std::nullopt;
  auto& io = impl_->io;
  auto& ws = impl_->ws;
  impl_->buffer.clear();
  bool done = false;
  beast::error_code result;
  ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
    done = true;
    result = ec;
  });
  io.restart();
  io.run_for(timeout);
  if (!done) {
    // Too long: the read is abandoned with the connection.
    beast::get_lowest_layer(ws).cancel();
    io.restart();
    io.run();
    closed_ = true;
    return std::nullopt;
  }
  if (result) {
    closed_ = true;
    // Set once a close frame came, whatever became of the answer to it.
    close_code_ = ws.reason().code;
    close_reason_ = std::string{ws.reason().reason.c_str()};
    return std::nullopt;
  }
  return beast::buffers_to_string(impl_->buffer.data());
}

void ws_client::close() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
  closed_ = true;
}

} // namespace orch::test
