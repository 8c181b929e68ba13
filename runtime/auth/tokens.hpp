// Bearer tokens: "<base64url(username)>.<session id>.<secret>". The
// username and session id say where to look (the user's record); only the
// SHA-256 of the secret is stored, and it is compared in constant time.
#pragma once

#include <string>
#include <string_view>

namespace orch::auth {

struct token_parts {
  std::string username;
  std::string session_id;                    // 16 hex digits
  std::string secret;                        // 64 hex digits (256 random bits)
};

/// A new session id and secret for `username`.
token_parts new_token(const std::string& username);

/// The bearer token's text.
std::string token_text(const token_parts& t);

/// Splits a bearer token; false if it is not one this server could have made.
bool parse_token(std::string_view text, token_parts& out);

/// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes).
std::string random_bytes(size_t n);

/// Lower-case hex of the bytes.
std::string to_hex(std::string_view bytes);

/// Exactly `digits` lower-case hex digits, as to_hex writes them.
bool is_lower_hex(std::string_view s, size_t digits);

/// Lower-case hex of SHA-256(text).
std::string sha256_hex(std::string_view text);

/// Equal in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace orch::auth
