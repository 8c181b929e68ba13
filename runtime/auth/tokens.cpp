#include "runtime/auth/tokens.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "runtime/core/ids.hpp"

namespace orch::auth {

namespace {

constexpr size_t session_id_bytes = 8;
constexpr size_t secret_bytes = 32;
constexpr const char* b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64url[(acc >> bits) & 63];
    }
  }
  if (bits > 0)
    out += b64url[(acc << (6 - bits)) & 63];
  return out;
}

/// Only the canonical text (what base64url() writes): a length that
/// leaves 6 bits over, or bits over that are not zero, would be a second
/// spelling of the same name.
bool from_base64url(std::string_view in, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c == '\0' ? nullptr : std::char_traits<char>::find(b64url, 64, c);
    if (!p)
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - b64url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return bits < 6 && (acc & ((1u << bits) - 1)) == 0;
}

} // namespace

bool is_lower_hex(std::string_view s, size_t digits) {
  return s.size() == digits && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("the system's random number generator failed");
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return to_hex({reinterpret_cast<const char*>(md), len});
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

token_parts new_token(const std::string& username) {
  return {username, to_hex(random_bytes(session_id_bytes)), to_hex(random_bytes(secret_bytes))};
}

std::string token_text(const token_parts& t) {
  return base64url(t.username) + "." + t.session_id + "." + t.secret;
}

bool parse_token(std::string_view text, token_parts& out) {
  auto first = text.find('.');
  auto second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos || first == 0 || first > 128)
    return false;
  token_parts t;
  if (!from_base64url(text.substr(0, first), t.username) || !is_valid_username(t.username))
    return false;
  t.session_id = std::string{text.substr(first + 1, second - first - 1)};
  t.secret = std::string{text.substr(second + 1)};
  if (!is_lower_hex(t.session_id, session_id_bytes * 2) || !is_lower_hex(t.secret, secret_bytes * 2))
    return false;
  out = std::move(t);
  return true;
}

} // namespace orch::auth
