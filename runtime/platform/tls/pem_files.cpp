#include "runtime/platform/tls/pem_files.hpp"

#include <filesystem>
#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace orch {

namespace {

/// OpenSSL's last error, as text ("" if none).
std::string openssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return {};
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

status bad_file(const std::string& option, const std::string& path, const std::string& what) {
  auto reason = openssl_reason();
  return invalid_input(option + " " + path + ": " + what + (reason.empty() ? "" : " (" + reason + ")"));
}

status readable(const std::string& option, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return invalid_input(option + " " + path + ": no such file");
  return {};
}

} // namespace

status check_mutual_tls_files(const mutual_tls_files& f) {
  if (auto st = readable(f.cert_option, f.cert); !st)
    return st;
  if (auto st = readable(f.key_option, f.key); !st)
    return st;
  if (auto st = readable(f.ca_option, f.ca); !st)
    return st;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return {errc::internal, "OpenSSL cannot make a TLS context: " + openssl_reason()};
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.cert.c_str()) != 1)
    return bad_file(f.cert_option, f.cert, "not a PEM certificate (chain)");
  auto not_its_key = [&] {
    ERR_clear_error();
    return invalid_input(f.key_option + " " + f.key + ": is not the key of " + f.cert_option + " "
                         + f.cert);
  };
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
      return not_its_key();
    return bad_file(f.key_option, f.key, "not an unencrypted PEM private key");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return not_its_key();
  if (SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) != 1)
    return bad_file(f.ca_option, f.ca, "holds no PEM CA certificate");
  return {};
}

} // namespace orch
