#include "runtime/app/user_command.hpp"

#include <functional>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "backends/open_storage.hpp"
#include "backends/storage_client.hpp"
#include "runtime/app/access.hpp"
#include "runtime/app/remote_api.hpp"
#include "runtime/auth/passwords.hpp"
#include "runtime/auth/roles.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/messages/actor_env.hpp"
#include "runtime/platform/http/http_client.hpp"

namespace orch {

namespace {

using json = nlohmann::json;

int fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

bool read_password(std::string& out) {
  if (!std::getline(std::cin, out))
    return false;
  if (!out.empty() && out.back() == '\r')
    out.pop_back();
  return true;
}

void print_users(const json& users) {
  std::cout << std::left << std::setw(24) << "USER" << std::setw(28) << "ROLES" << std::setw(10)
            << "STATE" << std::setw(10) << "SESSIONS" << "TOKENS\n";
  for (auto& u : users) {
    std::string roles, tokens;
    for (auto& r : u["roles"])
      roles += (roles.empty() ? "" : ",") + r.get<std::string>();
    for (auto& t : u["tokens"])
      tokens += (tokens.empty() ? "" : ",") + t["name"].get<std::string>();
    std::cout << std::setw(24) << u["username"].get<std::string>() << std::setw(28) << roles
              << std::setw(10) << (u["disabled"].get<bool>() ? "disabled" : "enabled")
              << std::setw(10) << u["sessions"].get<size_t>() << (tokens.empty() ? "-" : tokens)
              << "\n";
  }
}

std::string done_message(const user_settings& s) {
  if (s.action == "add")
    return "user " + s.name + " added";
  if (s.action == "passwd")
    return "password of " + s.name + " changed; its sign-ins ended";
  if (s.action == "roles")
    return "roles of " + s.name + " set; its sign-ins ended";
  if (s.action == "remove")
    return "user " + s.name + " removed";
  return "user " + s.name + " " + s.action + "d";
}

// -- through a running orchestrator -------------------------------------------------------

int through_api(const user_settings& s, const std::string& password, const std::string& locked) {
  auto client = running_orchestrator(s.storage, s.url, s.token);
  if (!client)
    return fail(locked + "; and " + client.message());
  http_result r;
  if (s.action == "list")
    r = (*client)->get("/users?limit=1000");
  else if (s.action == "add")
    r = (*client)->post("/users",
                        json{{"username", s.name}, {"password", password}, {"roles", s.roles}}.dump());
  else if (s.action == "remove")
    r = (*client)->request("DELETE", "/users/" + s.name, "");
  else if (s.action == "passwd")
    r = (*client)->post("/users/" + s.name + "/password", json{{"password", password}}.dump());
  else if (s.action == "roles")
    r = (*client)->post("/users/" + s.name + "/roles", json{{"roles", s.roles}}.dump());
  else
    r = (*client)->post("/users/" + s.name + "/" + s.action, "{}");
  if (r.status == 0)
    return fail(locked + ", and the orchestrator does not answer (" + r.error
                + "); pass --url with its address");
  if (r.status >= 300)
    return fail("the running orchestrator refused: " + api_error(r.body)
                + (r.status == 401 ? " (pass --token, --token-file or ORCHESTRATOR_TOKEN)" : ""));
  if (s.action == "list")
    print_users(r.json()["data"]["users"]);
  else
    std::cout << done_message(s) << " (through the running orchestrator)\n";
  return 0;
}

// -- on the storage ---------------------------------------------------------------------

/// Reads, edits and stores the user, again if it changed meanwhile.
int edit_stored(storage_client& db, const user_settings& s,
                const std::function<std::string(user&)>& edit, const std::string& action,
                const std::string& details) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = db.get(record_kind::user, s.name);
    if (!r)
      return fail(r.code() == errc::not_found ? "no user '" + s.name + "'" : r.message());
    auto u = decode<user>(r->json);
    if (!u)
      return fail("the stored user '" + s.name + "' cannot be read: " + u.message());
    if (auto problem = edit(*u); !problem.empty())
      return fail(problem);
    auto done = db.commit(auth::update_user(*u, action, details, {cli_principal(), now_us()}));
    if (done)
      return 0;
    if (done.code() != errc::conflict)
      return fail(done.message());
  }
  return fail("'" + s.name + "' keeps changing meanwhile; try again");
}

int on_storage(storage_client& db, const user_settings& s, const std::string& password) {
  if (s.action == "list") {
    record_query q;
    q.kind = record_kind::user;
    q.limit = 1000;
    auto page = db.query(q);
    if (!page)
      return fail(page.message());
    auto users = json::array();
    for (auto& r : page->items)
      if (auto u = decode<user>(r.json))
        users.push_back(json::parse(auth::public_json(*u, now_us())));
    print_users(users);
    return 0;
  }
  int rc = 0;
  if (s.action == "add") {
    user u;
    u.username = s.name;
    u.password_hash = auth::hash_password(password);
    u.roles = s.roles;
    auto done = db.commit(auth::create_user(u, {cli_principal(), now_us()}));
    if (!done)
      return fail(done.code() == errc::conflict ? "a user '" + s.name + "' exists already"
                                                : done.message());
  } else if (s.action == "remove") {
    auto r = db.get(record_kind::user, s.name);
    if (!r)
      return fail(r.code() == errc::not_found ? "no user '" + s.name + "'" : r.message());
    auto u = decode<user>(r->json);
    if (!u)
      return fail(u.message());
    auto done = db.commit(auth::remove_user(*u, {cli_principal(), now_us()}));
    if (!done)
      return fail(done.message());
  } else if (s.action == "disable" || s.action == "enable") {
    bool off = s.action == "disable";
    rc = edit_stored(
      db, s,
      [off](user& u) {
        u.disabled = off;
        if (off)
          auth::end_logins(u);
        return std::string{};
      },
      "user." + s.action, off ? "signed out everywhere" : "");
  } else if (s.action == "passwd") {
    auto phc = auth::hash_password(password);
    rc = edit_stored(
      db, s,
      [&phc](user& u) {
        u.password_hash = phc;
        auth::end_logins(u);
        return std::string{};
      },
      "user.password", "signed out everywhere");
  } else if (s.action == "roles") {
    std::string list;
    for (auto& r : s.roles)
      list += (list.empty() ? "" : ",") + r;
    rc = edit_stored(
      db, s,
      [&s](user& u) {
        u.roles = s.roles;
        auth::end_logins(u);
        return std::string{};
      },
      "user.roles", "roles=" + list + "; signed out everywhere");
  }
  if (rc == 0)
    std::cout << done_message(s) << "\n";
  return rc;
}

} // namespace

int run_user(const user_settings& s) {
  std::string password;
  if (s.action == "add" || s.action == "passwd") {
    if (!read_password(password))
      return fail("no password on stdin (--password-stdin reads its first line)");
    if (auto problem = auth::password_problem(password); !problem.empty())
      return fail(problem);
  }
  actor_env env{2};
  auto storage = open_storage(env.sys(), s.storage);
  if (!storage) {
    if (storage.code() != errc::locked)
      return fail(storage.message());
    return through_api(s, password, storage.message());
  }
  storage_client db{env.sys(), *storage};
  auto rc = on_storage(db, s, password);
  (void) db.close();
  return rc;
}

} // namespace orch
