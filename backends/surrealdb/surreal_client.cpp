#include "backends/surrealdb/surreal_client.hpp"

#include "backends/surrealdb/surreal_client_impl.hpp"
#include "backends/surrealdb/surreal_frame.hpp"
#include "runtime/core/log.hpp"

namespace orch::surreal {

bool is_retryable_conflict(const std::string& message) {
  return message.find("can be retried") != std::string::npos
         || message.find("Transaction conflict") != std::string::npos;
}

void client::impl::report_first(const std::string& error) {
  if (!first_reported) {
    first_reported = true;
    first.set_value(error);
  }
}

void client::impl::fail_all(const std::string& why) {
  auto calls = std::move(pending);
  pending.clear();
  for (auto& [id, p] : calls) {
    p.timer->cancel();
    p.done(status{errc::unavailable, why});
  }
}

void client::impl::read_loop(uint64_t gen) {
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

void client::impl::dispatch(const bytes& data) {
  auto frame = decode_frame(data);
  switch (frame.what) {
    case server_frame::kind::unreadable:
      log_warn("surrealdb", "unreadable message from the server: " + frame.problem);
      return;
    case server_frame::kind::ignored:
      return;
    case server_frame::kind::notification:
      if (on_notification)
        on_notification(frame.notification);
      return;
    case server_frame::kind::reply:
      break;
  }
  auto it = pending.find(frame.id);
  if (it == pending.end())
    return;  // timed out already
  auto p = std::move(it->second);
  pending.erase(it);
  p.timer->cancel();
  p.done(std::move(frame.outcome));
}

void client::impl::send(const std::string& method, json params, rpc_callback done,
                        std::chrono::milliseconds allowance) {
  if (!conn) {
    done(status{errc::unavailable, "SurrealDB at " + url.shown + " is not reachable: " + last_error});
    return;
  }
  auto id = ++next_id;
  auto frame = std::make_shared<const bytes>(
    json::to_cbor(json{{"id", id}, {"method", method}, {"params", std::move(params)}}));
  auto timer = std::make_shared<net::steady_timer>(ioc);
  auto limit = cfg.request_timeout + allowance;
  timer->expires_after(limit);
  timer->async_wait([this, self = shared_from_this(), id, limit](beast::error_code ec) {
    if (ec)
      return;  // answered (cancelled)
    auto it = pending.find(id);
    if (it == pending.end())
      return;
    auto p = std::move(it->second);
    pending.erase(it);
    p.done(status{errc::unavailable, "SurrealDB at " + url.shown + " did not answer '" + p.method
                                       + "' within "
                                       + std::to_string(limit.count() / 1000)
                                       + " s"});
  });
  pending.emplace(id, pending_call{method, std::move(done), std::move(timer)});
  out_queue.push_back(std::move(frame));
  pump();
}

void client::impl::pump() {
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

void client::call(const std::string& method, nlohmann::json params, rpc_callback done,
                  std::chrono::milliseconds allowance) {
  auto self = impl_;
  net::post(self->ioc, [self, method, params = std::move(params), done = std::move(done),
                        allowance]() mutable {
    if (!self->is_ready) {
      done(status{errc::unavailable,
                  "SurrealDB at " + self->url.shown + " is not reachable: " + self->last_error});
      return;
    }
    self->send(method, std::move(params), std::move(done), allowance);
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
