// PEM files for mutual TLS, checked before anything uses them: CAF's OpenSSL
// module aborts the process on a certificate it cannot load (and only when
// the first connection comes), so every problem is found and named here,
// at start-up, with the option that gave the file.
#pragma once

#include <string>

#include "runtime/core/status.hpp"

namespace orch {

/// The three files of one side of a mutual-TLS link, and the option names
/// they came from (for the messages).
struct mutual_tls_files {
  std::string cert, key, ca;
  std::string cert_option, key_option, ca_option;
};

/// The certificate chain loads, the key loads and is the certificate's, and
/// the CA file holds at least one certificate; else an `invalid` status that
/// names the option, the file and what is wrong.
status check_mutual_tls_files(const mutual_tls_files& f);

} // namespace orch
