// HTTPS for the API: a certificate made by the test (openssl), a client that
// verifies it (curl with --cacert), a reload on SIGHUP, and plain HTTP on a
// non-loopback address refused unless asked for.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include "tests/e2e/e2e_support.hpp"
#include "tests/support/raw_socket.hpp"

using namespace orch;
using namespace orch::test;

namespace {

struct ran {
  int code;
  std::string out;
  std::string err;
};

ran run(std::vector<std::string> argv, const std::string& log) {
  child c{std::move(argv), log};
  int code = c.wait_exit(std::chrono::seconds(60));
  return {code, c.out(), c.err()};
}

/// A self-signed certificate for 127.0.0.1 (its own CA, as curl --cacert takes it).
void make_certificate(const temp_dir& d, const std::string& name, const std::string& cn) {
  auto r = run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", d / (name + ".key"), "-out", d / (name + ".pem")},
               d / ("openssl-" + name));
  INFO(r.err);
  REQUIRE(r.code == 0);
}

/// curl's exit code and the HTTP status it printed.
ran curl(uint16_t port, const std::vector<std::string>& extra, const temp_dir& d,
         const std::string& log) {
  std::vector<std::string> argv{"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                "--max-time", "10"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("https://127.0.0.1:" + std::to_string(port) + "/health");
  return run(argv, d / log);
}

} // namespace

TEST_CASE("tls: the API serves HTTPS that a verifying client accepts and reloads on SIGHUP",
          "[tls]") {
  temp_dir d{"orch-tls"};
  make_certificate(d, "first", "first");
  make_certificate(d, "second", "second");
  std::filesystem::copy_file(d / "first.pem", d / "serving.pem");
  std::filesystem::copy_file(d / "first.key", d / "serving.key");
  orchestrator_process o{{"--data-dir", d / "data", "--tls-cert", d / "serving.pem", "--tls-key",
                          d / "serving.key", "--log-level", "info"},
                         d / "orch"};
  CHECK(o.proc().out().find("listening on https://127.0.0.1:") != std::string::npos);

  auto verified = curl(o.port(), {"--cacert", d / "first.pem"}, d, "verified");
  INFO(verified.err);
  CHECK(verified.code == 0);
  CHECK(verified.out == "200");
  // A client that verifies and does not trust the certificate refuses it.
  auto untrusted = curl(o.port(), {}, d, "untrusted");
  CHECK(untrusted.code == 60);  // CURLE_PEER_FAILED_VERIFICATION
  // Nothing older than TLS 1.2 is spoken.
  auto old = curl(o.port(), {"--cacert", d / "first.pem", "--tlsv1.1", "--tls-max", "1.1"}, d,
                  "old");
  CHECK(old.code != 0);
  // Plain HTTP on the TLS port gets no HTTP answer.
  auto plain = raw_exchange("127.0.0.1", o.port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 3000);
  CHECK(plain.find("HTTP/1.1 200") == std::string::npos);

  // Renewed certificate: SIGHUP, and new connections get it.
  std::filesystem::copy_file(d / "second.pem", d / "serving.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(d / "second.key", d / "serving.key",
                             std::filesystem::copy_options::overwrite_existing);
  ::kill(o.proc().pid(), SIGHUP);
  CHECK(wait_until([&] { return curl(o.port(), {"--cacert", d / "second.pem"}, d, "second").code == 0; },
                   std::chrono::seconds(20), std::chrono::milliseconds(100)));
  CHECK(curl(o.port(), {"--cacert", d / "first.pem"}, d, "first-again").code == 60);
  // A file that does not load leaves the certificate in use.
  { std::ofstream{d / "serving.pem"} << "not a certificate\n"; }
  ::kill(o.proc().pid(), SIGHUP);
  CHECK(wait_until([&] { return o.proc().err().find("still serving") != std::string::npos; }));
  CHECK(curl(o.port(), {"--cacert", d / "second.pem"}, d, "kept").code == 0);
  CHECK(o.proc().running());
}

TEST_CASE("tls: bad certificate options are refused at start with the file named", "[tls]") {
  temp_dir d{"orch-tls-bad"};
  make_certificate(d, "one", "one");
  make_certificate(d, "two", "two");
  auto mismatch = run_orchestrator({"--data-dir", d / "data", "--port", "0", "--tls-cert",
                                    d / "one.pem", "--tls-key", d / "two.key"},
                                   d / "mismatch");
  CHECK(mismatch.exit_code != 0);
  CHECK(mismatch.err.find("is not the key of --tls-cert") != std::string::npos);
  auto half = run_orchestrator({"--data-dir", d / "data", "--port", "0", "--tls-cert",
                                d / "one.pem"},
                               d / "half");
  CHECK(half.exit_code != 0);
  CHECK(half.err.find("give both --tls-cert and --tls-key") != std::string::npos);
  auto not_pem = d / "garbage.pem";
  { std::ofstream{not_pem} << "garbage\n"; }
  auto garbage = run_orchestrator({"--data-dir", d / "data", "--port", "0", "--tls-cert", not_pem,
                                   "--tls-key", d / "one.key"},
                                  d / "garbage");
  CHECK(garbage.exit_code != 0);
  CHECK(garbage.err.find("cannot use --tls-cert " + std::string{not_pem}) != std::string::npos);
  // Plain HTTP on an address other machines reach needs saying so.
  auto exposed = run_orchestrator({"--data-dir", d / "data", "--bind", "0.0.0.0", "--port", "0"},
                                  d / "exposed");
  CHECK(exposed.exit_code == 2);
  CHECK(exposed.err.find("--insecure-http") != std::string::npos);
}
