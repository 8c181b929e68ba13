#include "runtime/app/access.hpp"

#include <cstdlib>

#include <pwd.h>
#include <unistd.h>

#include "backends/storage_client.hpp"
#include "runtime/app/cli_options.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/clock.hpp"
#include "runtime/core/ids.hpp"

namespace orch {

std::string cli_principal() {
  auto* pw = getpwuid(geteuid());
  return std::string{"cli:"} + (pw && pw->pw_name ? pw->pw_name : std::to_string(geteuid()));
}

bool is_loopback_address(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0
         || address.rfind("::ffff:127.", 0) == 0;
}

bool auth_required(const server_settings& s) {
  return s.auth == "required" || (s.auth == "auto" && !is_loopback_address(s.bind));
}

std::string access_refusal(const server_settings& s) {
  if (s.auth == "disabled" && !is_loopback_address(s.bind))
    return "--auth disabled on --bind " + s.bind
           + " would let anyone who reaches it do everything (submit commands, read and back up "
             "the data). Bind 127.0.0.1, or leave --auth at auto or required and sign in: the "
             "first admin comes from ORCHESTRATOR_ADMIN_PASSWORD or `orchestrator user add NAME "
             "--role admin --password-stdin`";
  if (!is_loopback_address(s.bind) && s.tls_cert.empty() && !s.insecure_http)
    return "serving --bind " + s.bind
           + " over plain HTTP would send passwords and tokens across the network in clear: "
             "give --tls-cert FILE --tls-key FILE, or --insecure-http when a proxy in front "
             "terminates TLS";
  if (s.node_port >= 0 && !is_loopback_address(s.node_bind) && !auth_required(s))
    return "worker nodes on --node-bind " + s.node_bind
           + " without authentication would let anyone who reaches the port offer slots and be "
             "sent tasks with their environment: give --auth required (workers then register "
             "with a token of the worker role, --token-file), or keep --node-bind at 127.0.0.1";
  if (auto incomplete = node_tls_incomplete(s.node_tls, "this orchestrator's", "every worker's");
      !incomplete.empty())
    return incomplete;
  if (s.node_port >= 0 && !is_loopback_address(s.node_bind) && !s.node_tls.enabled()
      && !s.insecure_nodes)
    return "worker nodes on --node-bind " + s.node_bind
           + " would connect without TLS: worker tokens, tasks, their environment and output "
             "would cross the network in clear. Give --node-tls-cert, --node-tls-key and "
             "--node-tls-ca (mutual TLS; workers take the same options), keep --node-bind at "
             "127.0.0.1, or give --insecure-nodes on a network you trust";
  return {};
}

result<std::string> ensure_first_admin(storage_client& db, bool required) {
  std::string password, name = "admin";
  if (const char* p = std::getenv("ORCHESTRATOR_ADMIN_PASSWORD"))
    password = p;
  if (const char* u = std::getenv("ORCHESTRATOR_ADMIN_USER"); u && *u)
    name = u;
  unsetenv("ORCHESTRATOR_ADMIN_PASSWORD");
  unsetenv("ORCHESTRATOR_ADMIN_USER");
  auto users = db.count(record_kind::user);
  if (!users)
    return users.error();
  if (*users > 0)
    return std::string{};
  if (password.empty()) {
    if (!required)
      return std::string{};
    return status{errc::invalid,
                  "authentication is required (--auth) and there are no users yet: set "
                  "ORCHESTRATOR_ADMIN_PASSWORD to create the first admin at this start, or run "
                  "`orchestrator user add NAME --role admin --password-stdin` with the same "
                  "storage options first"};
  }
  if (!is_valid_username(name))
    return status{errc::invalid, "ORCHESTRATOR_ADMIN_USER '" + name + "' is not a valid username"};
  if (auto problem = auth::password_problem(password); !problem.empty())
    return status{errc::invalid, "ORCHESTRATOR_ADMIN_PASSWORD: " + problem};
  user u;
  u.username = name;
  u.password_hash = auth::hash_password(password);
  u.roles = {"admin"};
  auto done = db.commit(auth::create_user(u, {"bootstrap", now_us()}));
  if (!done && done.code() != errc::conflict)  // conflict: another instance made it first
    return done.error();
  return "created the first admin '" + name + "' from ORCHESTRATOR_ADMIN_PASSWORD";
}

} // namespace orch
