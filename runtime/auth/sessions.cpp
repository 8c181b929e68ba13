#include "runtime/auth/sessions.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/auth/tokens.hpp"

namespace orch::auth {

namespace {

bool read_number(std::string_view s, micros& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out >= 0;
}

bool live(const session_entry& e, micros now) {
  return e.expires == 0 || e.expires > now;
}

} // namespace

bool read_entry(const std::string& text, session_entry& out) {
  std::vector<std::string_view> parts;
  std::string_view rest{text};
  while (!rest.empty() && parts.size() < 5) {
    auto sp = rest.find(' ');
    parts.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  }
  if (parts.size() < 3 || parts.size() > 4 || !rest.empty())
    return false;
  // Exactly what entry_text writes: no empty field, a SHA-256, a valid name.
  if (!is_lower_hex(parts[2], 64) || (parts.size() == 4 && !is_valid_username(parts[3])))
    return false;
  session_entry e;
  if (!read_number(parts[0], e.created) || !read_number(parts[1], e.expires))
    return false;
  e.secret_hash = std::string{parts[2]};
  if (parts.size() == 4)
    e.name = std::string{parts[3]};
  out = std::move(e);
  return true;
}

std::string entry_text(const session_entry& e) {
  auto out = std::to_string(e.created) + " " + std::to_string(e.expires) + " " + e.secret_hash;
  return e.named() ? out + " " + e.name : out;
}

void add_session(user& u, const std::string& session_id, const session_entry& e, micros now) {
  std::vector<std::pair<micros, std::string>> logins;
  for (auto i = u.sessions.begin(); i != u.sessions.end();) {
    session_entry old;
    if (!read_entry(i->second, old) || !live(old, now)) {
      i = u.sessions.erase(i);
      continue;
    }
    if (!old.named())
      logins.emplace_back(old.created, i->first);
    ++i;
  }
  if (!e.named() && logins.size() >= max_login_sessions) {
    std::sort(logins.begin(), logins.end());
    for (size_t k = 0; k + max_login_sessions <= logins.size(); ++k)
      u.sessions.erase(logins[k].second);
  }
  u.sessions[session_id] = entry_text(e);
}

std::string check_token(const user& u, const token_parts& t, micros now, session_entry* found) {
  if (u.disabled)
    return "the user is disabled";
  auto i = u.sessions.find(t.session_id);
  session_entry e;
  if (i == u.sessions.end() || !read_entry(i->second, e))
    return "no such session (signed out, revoked, or never issued)";
  if (!constant_time_equal(e.secret_hash, sha256_hex(t.secret)))
    return "the token's secret does not match";
  if (!live(e, now))
    return "the token expired";
  if (found)
    *found = std::move(e);
  return {};
}

void end_logins(user& u) {
  for (auto i = u.sessions.begin(); i != u.sessions.end();) {
    session_entry e;
    if (!read_entry(i->second, e) || !e.named())
      i = u.sessions.erase(i);
    else
      ++i;
  }
}

bool end_session(user& u, const std::string& session_id) {
  return u.sessions.erase(session_id) > 0;
}

std::string named_token_id(const user& u, const std::string& name) {
  for (auto& [id, text] : u.sessions) {
    session_entry e;
    if (read_entry(text, e) && e.name == name)
      return id;
  }
  return {};
}

std::string public_json(const user& u, micros now) {
  size_t logins = 0;
  auto tokens = nlohmann::json::array();
  for (auto& [id, text] : u.sessions) {
    session_entry e;
    if (!read_entry(text, e) || !live(e, now))
      continue;
    if (!e.named()) {
      ++logins;
      continue;
    }
    tokens.push_back({{"name", e.name},
                      {"created_at", format_rfc3339(e.created)},
                      {"expires_at", e.expires ? nlohmann::json(format_rfc3339(e.expires))
                                               : nlohmann::json(nullptr)}});
  }
  nlohmann::json j{{"username", u.username},
                   {"roles", u.roles},
                   {"disabled", u.disabled},
                   {"created_at", format_rfc3339(u.created_at)},
                   {"updated_at", u.updated_at ? nlohmann::json(format_rfc3339(u.updated_at))
                                               : nlohmann::json(nullptr)},
                   {"sessions", logins},
                   {"tokens", std::move(tokens)}};
  return canonical(j);
}

} // namespace orch::auth
