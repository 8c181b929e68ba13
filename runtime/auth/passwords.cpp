#include "runtime/auth/passwords.hpp"

#include <array>
#include <stdexcept>

#include <argon2.h>

#include "runtime/auth/tokens.hpp"

namespace orch::auth {

namespace {

constexpr size_t salt_bytes = 16;
constexpr size_t hash_bytes = 32;

} // namespace

std::string password_problem(std::string_view password) {
  if (password.size() < min_password_bytes)
    return "the password is too short: use at least " + std::to_string(min_password_bytes)
           + " characters";
  if (password.size() > max_password_bytes)
    return "the password is too long: at most " + std::to_string(max_password_bytes) + " bytes";
  if (password.find('\0') != std::string_view::npos)
    return "the password must not contain a NUL byte";
  return {};
}

std::string hash_password(std::string_view password, const argon2_params& p) {
  auto salt = random_bytes(salt_bytes);
  std::string out(argon2_encodedlen(p.passes, p.memory_kib, p.lanes, salt_bytes, hash_bytes,
                                    Argon2_id),
                  '\0');
  int rc = argon2id_hash_encoded(p.passes, p.memory_kib, p.lanes, password.data(), password.size(),
                                 salt.data(), salt.size(), hash_bytes, out.data(), out.size());
  if (rc != ARGON2_OK)
    throw std::runtime_error(std::string{"hashing a password failed: "} + argon2_error_message(rc));
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

bool verify_password(const std::string& phc, std::string_view password) {
  if (phc.rfind("$argon2id$", 0) != 0 || password.size() > max_password_bytes)
    return false;
  return argon2id_verify(phc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

} // namespace orch::auth
