// Password hashing with Argon2id (libargon2), stored as a PHC string
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") so the parameters travel
// with the hash and can be raised later without breaking stored users.
#pragma once

#include <string>
#include <string_view>

namespace orch::auth {

/// The cost of a new hash: OWASP's first Argon2id recommendation (19 MiB,
/// two passes, one lane), about 57 ms on one core of the CI machine.
struct argon2_params {
  uint32_t memory_kib = 19456;
  uint32_t passes = 2;
  uint32_t lanes = 1;
};

constexpr size_t min_password_bytes = 8;
constexpr size_t max_password_bytes = 1024;  // hashing cost must not be the client's choice

/// "" if the password may be set, else what is wrong with it (never the
/// password itself).
std::string password_problem(std::string_view password);

/// A new PHC string for the password, with a fresh random salt. Throws
/// std::runtime_error only if the system has no randomness or memory.
std::string hash_password(std::string_view password, const argon2_params& p = {});

/// Does the password match the PHC string? False for any string that is not
/// a valid Argon2id hash. Takes the hash's own cost, in constant time in the
/// password's content.
bool verify_password(const std::string& phc, std::string_view password);

} // namespace orch::auth
