#include "runtime/auth/task_tokens.hpp"

#include <charconv>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "runtime/auth/tokens.hpp"
#include "runtime/core/ids.hpp"

namespace orch::auth {

namespace {

constexpr std::string_view prefix = "task:";

std::string mac_of(std::string_view key, const std::string& task_id, uint32_t attempt) {
  auto message = task_id + ":" + std::to_string(attempt);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len)
      == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return to_hex({reinterpret_cast<const char*>(md), len});
}

} // namespace

std::string task_token_text(std::string_view key, const std::string& task_id, uint32_t attempt) {
  return std::string{prefix} + task_id + ":" + std::to_string(attempt) + ":"
         + mac_of(key, task_id, attempt);
}

bool parse_task_token(std::string_view text, task_token& out) {
  if (text.substr(0, prefix.size()) != prefix)
    return false;
  text.remove_prefix(prefix.size());
  auto first = text.find(':');
  auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos)
    return false;
  task_token t;
  t.task_id = std::string{text.substr(0, first)};
  auto number = text.substr(first + 1, second - first - 1);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), t.attempt);
  t.mac = std::string{text.substr(second + 1)};
  if (!is_uuid(t.task_id) || ec != std::errc{} || end != number.data() + number.size()
      || number.empty() || !is_lower_hex(t.mac, 64))
    return false;
  out = std::move(t);
  return true;
}

bool task_token_signed(std::string_view key, const task_token& t) {
  return !key.empty() && constant_time_equal(mac_of(key, t.task_id, t.attempt), t.mac);
}

std::string task_principal(const std::string& task_id) {
  return std::string{prefix} + task_id;
}

} // namespace orch::auth
