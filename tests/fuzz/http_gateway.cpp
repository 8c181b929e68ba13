// Bytes on a socket to the real HTTP server in front of the real gateway,
// scheduler and embedded (RocksDB) storage, started once in this process.
// Each input is sent on a fresh connection, half-closed, and everything the
// server sends back is read. Invariants (issue 10): every complete response
// is well-formed HTTP with the JSON envelope; none is a 5xx (there is no
// load here, and 503 is for load alone); the connection ends cleanly, never
// reset; and GET /health stays 200 between inputs.
//
// The scheduler has no task slots, so no submitted command ever runs.
// POST /admin/backup is fuzzed too: it writes only under the scratch
// directory's backups/, by name.
//
// Built twice: as http_gateway with authentication disabled, and (with
// ORCH_FUZZ_AUTH_REQUIRED, http_gateway_auth.cpp) with --auth required and
// an admin whose token the seeds carry (fuzz_token below), so the fuzzer
// reaches sign-in, users, tokens, batches and backups as a signed-in user.
#include "tests/fuzz/fuzz_target.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "actors/api/gateway_bridge.hpp"
#include "backends/open_storage.hpp"
#include "backends/storage_client.hpp"
#include "runtime/app/components.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/log.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/http/http_server.hpp"

namespace {

namespace bhttp = boost::beast::http;

struct service {
  std::unique_ptr<orch::http_server> server;
  orch::actor_env env{2};
  orch::components parts;
  uint16_t port = 0;
};

service* running = nullptr;

#ifdef ORCH_FUZZ_AUTH_REQUIRED
constexpr bool auth_required = true;
#else
constexpr bool auth_required = false;
#endif

/// The admin the seeds sign in as ("fuzz-admin" / "fuzz-password") and the
/// session whose token they carry: Authorization: Bearer
/// ZnV6ei1hZG1pbg.0123456789abcdef.<64 x "ab">.
const orch::auth::token_parts fuzz_token{"fuzz-admin", "0123456789abcdef",
                                         std::string(32, 'a') + std::string(32, 'b')};

/// The admin as the seeds expect it: enabled, an admin, the token valid.
orch::user fuzz_admin() {
  static const std::string phc = orch::auth::hash_password("fuzz-password");
  orch::user u;
  u.username = fuzz_token.username;
  u.password_hash = phc;
  u.roles = {"admin"};
  auto now = orch::now_us();
  orch::auth::add_session(u, fuzz_token.session_id,
                          {now, 0, orch::auth::sha256_hex(fuzz_token.secret), "fuzz"}, now);
  return u;
}

/// Stores the admin with its session before the service starts.
void add_fuzz_admin(caf::actor_system& sys, const orch::storage_actor& storage) {
  auto stored = orch::storage_client{sys, storage}.commit(
    orch::auth::create_user(fuzz_admin(), {"fuzz", orch::now_us()}));
  if (!stored)
    fuzz::fail("cannot store the fuzz admin: " + stored.message());
}

/// An input may sign the admin out, revoke or demote it: put it back as it
/// was, so the next inputs are served as a signed-in admin again.
void restore_fuzz_admin() {
  orch::write_batch b;
  orch::put(b, orch::to_record(fuzz_admin()));
  auto stored = orch::storage_client{running->env.sys(), running->parts.storage}.commit(b);
  if (!stored)
    fuzz::fail("cannot restore the fuzz admin: " + stored.message());
}

/// At exit: stop serving and close storage. The actor system itself is left
/// to the end of the process (still reachable, so no leak): CAF 0.17's
/// destructor uses statics that are gone by the time exit handlers run.
void stop_service() {
  if (!running)
    return;
  running->server->stop();
  (void) orch::storage_client{running->env.sys(), running->parts.storage}.close();
  orch::stop_actors(running->parts);
}

void start_service() {
  orch::set_log_level(orch::log_level::off);
  auto s = std::make_unique<service>();
  orch::server_settings cfg;
  cfg.storage.type = "surrealdb-embedded";
  cfg.storage.data_dir = fuzz::scratch_dir() + "/data";
  cfg.max_concurrent_tasks = 0;  // no slots: nothing submitted ever runs
  cfg.max_body_bytes = 64 * 1024;
  cfg.auth = auth_required ? "required" : "disabled";
  cfg.backup_dir = fuzz::scratch_dir() + "/backups";
  auto& sys = s->env.sys();
  auto storage = orch::open_storage(sys, cfg.storage);
  if (!storage)
    fuzz::fail("cannot open storage: " + storage.message());
  auto info = orch::storage_client{sys, *storage}.info();
  if (!info)
    fuzz::fail("storage does not answer: " + info.message());
  if (auth_required)
    add_fuzz_admin(sys, *storage);
  s->parts = orch::start_components(sys, cfg, *storage, *info, "fuzz", "");
  orch::http_server_config hc;
  hc.port = 0;
  hc.max_body_bytes = cfg.max_body_bytes;
  hc.answer_timeout = s->parts.gateway_longest + std::chrono::seconds(10);
  s->server = std::make_unique<orch::http_server>(
    hc, orch::make_gateway_handler(s->parts.gateway.front, s->parts.metric_figures));
  auto port = s->server->start();
  if (!port)
    fuzz::fail("cannot listen: " + port.message());
  s->port = *port;
  running = s.release();
  std::atexit(stop_service);
}

/// Sends `request` on a new connection, half-closes it and returns all the
/// server sent until it closed. Sends and reads at once: a client that
/// pipelines many requests must not deadlock against the server's answers.
std::string exchange(std::string_view request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(running->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fuzz::fail("cannot connect to the server: " + std::string{std::strerror(errno)});
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  std::string got;
  size_t sent = 0;
  bool write_closed = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    if (sent == request.size() && !write_closed) {
      ::shutdown(fd, SHUT_WR);
      write_closed = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    if (std::chrono::steady_clock::now() > deadline)
      fuzz::fail("the server neither answered nor closed the connection within 30 s");
    if (::poll(&p, 1, 1000) <= 0)
      continue;
    if ((p.revents & POLLOUT) && !write_closed) {
      auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        write_closed = true;  // the server closed early; what it said is still to be read
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        // The server has closed its side too. This side half-closed first,
        // so a plain close would leave the port in TIME_WAIT for a minute:
        // at 400 inputs a second the loopback's ephemeral ports run out
        // (EADDRNOTAVAIL). Both sides are done; drop the state at once.
        linger abort_close{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
        break;
      } else if (errno != EAGAIN && errno != EINTR) {
        ::close(fd);
        fuzz::fail("the connection was reset (" + std::string{std::strerror(errno)} + ") after "
                   + std::to_string(got.size()) + " bytes: a response may have been lost");
      }
    }
  }
  ::close(fd);
  return got;
}

void check_envelope(int status, const std::string& content_type, const std::string& body) {
  if (content_type.rfind("text/plain", 0) == 0 && status == 200)
    return;  // /metrics
  if (content_type != "application/json")
    fuzz::fail("a response of type '" + content_type + "'");
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fuzz::fail("a response body that is not a JSON object: " + body);
  auto ok = j.find("success");
  if (ok == j.end() || !ok->is_boolean())
    fuzz::fail("a response without the envelope's success: " + body);
  if (status >= 400) {
    auto e = j.find("error");
    if (ok->get<bool>() || e == j.end() || !e->is_string() || e->get<std::string>().empty())
      fuzz::fail("an error response without an error message: " + body);
  }
}

/// Every response in `bytes`, checked; returns their statuses.
std::vector<int> check_responses(const std::string& bytes) {
  std::vector<int> statuses;
  size_t pos = 0;
  while (pos < bytes.size()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    boost::beast::error_code ec;
    auto used = parser.put(boost::asio::buffer(bytes.data() + pos, bytes.size() - pos), ec);
    if (!ec && !parser.is_done())
      parser.put_eof(ec);
    if (ec || !parser.is_done())
      fuzz::fail("the server sent something that is not an HTTP response (" + ec.message()
                 + "): " + bytes.substr(pos, 200));
    pos += used;
    auto& res = parser.get();
    int status = static_cast<int>(res.result_int());
    if (status >= 500)
      fuzz::fail("a " + std::to_string(status) + " for bytes a client sent: " + res.body());
    if (status < 200)
      fuzz::fail("an informational response " + std::to_string(status));
    check_envelope(status, std::string{res[bhttp::field::content_type]}, res.body());
    statuses.push_back(status);
  }
  return statuses;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  start_service();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = fuzz::as_text(data, size);
  check_responses(exchange(input));
  if (auth_required && (input.find("/auth") != std::string_view::npos
                        || input.find("/users") != std::string_view::npos))
    restore_fuzz_admin();
  static unsigned n = 0;
  if (++n % 256 == 0) {
    auto health = check_responses(exchange("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    if (health.size() != 1 || health[0] != 200)
      fuzz::fail("GET /health is no longer 200");
  }
  return 0;
}
