// Who may reach the API, decided at start: whether tokens are required
// (--auth and --bind), and the first admin from ORCHESTRATOR_ADMIN_PASSWORD.
#pragma once

#include <string>

#include "runtime/app/settings.hpp"
#include "runtime/core/status.hpp"

namespace orch {

class storage_client;

/// The audit principal of a command run on this machine: "cli:<user>".
std::string cli_principal();

/// Is the address one only this machine can reach (127.0.0.0/8, ::1)?
bool is_loopback_address(const std::string& address);

/// --auth required, or auto on an address other machines can reach.
bool auth_required(const server_settings& s);

/// Why the server must not start with these settings ("" if it may): auth
/// disabled, or plain HTTP without --insecure-http, on an address other
/// machines can reach.
std::string access_refusal(const server_settings& s);

/// With no users stored: creates the first admin from
/// ORCHESTRATOR_ADMIN_PASSWORD (user ORCHESTRATOR_ADMIN_USER, default
/// "admin") and says so; refuses to start with auth required and no way to
/// sign in. Removes both variables from the environment either way, so no
/// task the orchestrator runs inherits them.
result<std::string> ensure_first_admin(storage_client& db, bool required);

} // namespace orch
