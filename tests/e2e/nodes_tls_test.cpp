// Worker nodes over mutual TLS (CAF's OpenSSL module): certificates made by
// the test with the openssl command, a CA for the orchestrator and its
// workers and another CA for a worker that must not get in.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/nodes_support.hpp"

using namespace orch;
using namespace orch::test;

namespace {

void openssl(const temp_dir& d, const std::string& log, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  child c{args, d / ("openssl-" + log)};
  auto code = c.wait_exit(std::chrono::seconds(60));
  INFO(c.err());
  REQUIRE(code == 0);
}

/// A CA: <name>.pem and <name>.key.
void make_ca(const temp_dir& d, const std::string& name) {
  openssl(d, name, {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=" + name, "-keyout", d / (name + ".key"), "-out", d / (name + ".pem")});
}

/// A certificate for either end of a link, signed by the CA `ca`.
void make_leaf(const temp_dir& d, const std::string& name, const std::string& ca) {
  {
    std::ofstream ext{d / (name + ".ext")};
    ext << "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n";
  }
  openssl(d, name + "-req", {"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                             "-keyout", d / (name + ".key"), "-out", d / (name + ".csr")});
  openssl(d, name + "-sign",
          {"x509", "-req", "-in", d / (name + ".csr"), "-CA", d / (ca + ".pem"), "-CAkey",
           d / (ca + ".key"), "-CAcreateserial", "-days", "2", "-extfile", d / (name + ".ext"),
           "-out", d / (name + ".pem")});
}

std::vector<std::string> tls_args(const temp_dir& d, const std::string& name,
                                  const std::string& ca) {
  return {"--node-tls-cert", d / (name + ".pem"), "--node-tls-key", d / (name + ".key"),
          "--node-tls-ca", d / (ca + ".pem")};
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

/// Waits until the worker has failed to reach its orchestrator `times`
/// times (it keeps trying); says what it logged if not.
bool kept_out(child& worker, size_t times) {
  auto out = wait_until([&] { return count_of(worker.err(), "cannot reach the orchestrator") >= times; },
                        std::chrono::seconds(30));
  if (!out)
    WARN("the worker's log:\n" << worker.err());
  return out;
}

} // namespace

TEST_CASE("nodes: workers with a certificate of the orchestrator's CA run tasks over mutual "
          "TLS, a worker without TLS or with another CA's certificate is kept out",
          "[nodes][tls]") {
  temp_dir certs{"orch-node-tls"};
  make_ca(certs, "ca");
  make_ca(certs, "other-ca");
  make_leaf(certs, "orchestrator", "ca");
  make_leaf(certs, "w1", "ca");
  make_leaf(certs, "intruder", "other-ca");

  auto args = coordinator_args();
  auto tls = tls_args(certs, "orchestrator", "ca");
  args.insert(args.end(), tls.begin(), tls.end());
  e2e_fixture f{args};
  auto port = f.orch->node_port();
  CHECK(f.orch->proc().out().find("(mutual TLS)") != std::string::npos);

  auto w1 = start_worker(f.dir, port, "w1", 2, "", tls_args(certs, "w1", "ca"));
  REQUIRE(joined(*f.orch, "w1", *w1));
  auto t = f.orch->wait_terminal(
    f.orch->submit({{"command", "sh"}, {"args", {"-c", "echo $PPID"}}})["id"]);
  CHECK(t["status"] == "Completed");
  CHECK(t["node"] == "w1");
  CHECK(t["output"] == std::to_string(w1->pid()) + "\n");

  // No TLS at all: the handshake fails, again and again.
  auto plain = start_worker(f.dir, port, "plain", 1);
  CHECK(kept_out(*plain, 2));
  // A certificate signed by another CA: the same.
  auto intruder = start_worker(f.dir, port, "intruder", 1, "", tls_args(certs, "intruder", "other-ca"));
  CHECK(kept_out(*intruder, 2));
  // A worker whose CA is not the orchestrator's does not trust it either.
  auto wary = start_worker(f.dir, port, "wary", 1, "", tls_args(certs, "w1", "other-ca"));
  CHECK(kept_out(*wary, 2));
  // Only w1 ever registered (a loaded machine may have made w1 itself
  // reconnect meanwhile: that is a join of w1 again, not of another).
  auto joins = f.orch->http().get("/audit?action=node.join").json()["data"]["records"];
  REQUIRE_FALSE(joins.empty());
  for (auto& j : joins)
    CHECK(j["target"] == "node:w1");
  bool w1_listed = wait_until([&] {
    auto listed = nodes(*f.orch)["nodes"];
    return listed.size() == 1 && listed[0]["name"] == "w1";
  });
  if (!w1_listed)
    WARN("the orchestrator's log:\n" << f.orch->proc().out() << f.orch->proc().err());
  CHECK(w1_listed);
  if (joins.size() > 1)
    WARN("w1 registered " << joins.size() << " times:\n" << w1->err());
}

TEST_CASE("nodes: TLS files are checked before anything starts, each problem named",
          "[nodes][tls]") {
  temp_dir d{"orch-node-tls-files"};
  make_ca(d, "ca");
  make_leaf(d, "orchestrator", "ca");
  make_leaf(d, "w1", "ca");
  auto serve = [&](std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> args{"--data-dir", d / "data", "--port", "0", "--node-port", "0",
                                  "--dry-run"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_orchestrator(args, d / log);
  };
  auto work = [&](std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> args{"worker", "--connect", "127.0.0.1:1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_orchestrator(args, d / log);
  };

  auto only_cert = serve({"--node-tls-cert", d / "orchestrator.pem"}, "a");
  CHECK(only_cert.exit_code == 2);
  CHECK(only_cert.err.find("give all three of --node-tls-cert") != std::string::npos);

  auto missing = serve({"--node-tls-cert", d / "nothing.pem", "--node-tls-key",
                        d / "orchestrator.key", "--node-tls-ca", d / "ca.pem"}, "b");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--node-tls-cert " + d / "nothing.pem" + ": no such file")
        != std::string::npos);

  auto wrong_key = serve({"--node-tls-cert", d / "orchestrator.pem", "--node-tls-key",
                          d / "w1.key", "--node-tls-ca", d / "ca.pem"}, "c");
  CHECK(wrong_key.exit_code == 2);
  CHECK(wrong_key.err.find("--node-tls-key " + d / "w1.key") != std::string::npos);
  CHECK(wrong_key.err.find("is not the key of") != std::string::npos);

  auto key_as_ca = serve({"--node-tls-cert", d / "orchestrator.pem", "--node-tls-key",
                          d / "orchestrator.key", "--node-tls-ca", d / "ca.key"}, "d");
  CHECK(key_as_ca.exit_code == 2);
  CHECK(key_as_ca.err.find("--node-tls-ca " + d / "ca.key" + ": holds no PEM CA certificate")
        != std::string::npos);

  auto cert_as_key = work({"--node-tls-cert", d / "w1.pem", "--node-tls-key", d / "w1.pem",
                           "--node-tls-ca", d / "ca.pem"}, "e");
  CHECK(cert_as_key.exit_code == 2);
  CHECK(cert_as_key.err.find("--node-tls-key " + d / "w1.pem") != std::string::npos);

  auto worker_half = work({"--node-tls-ca", d / "ca.pem"}, "f");
  CHECK(worker_half.exit_code == 2);
  CHECK(worker_half.err.find("give all three of --node-tls-cert") != std::string::npos);

  // With TLS, worker nodes may be reached from other machines (with
  // authentication): no --insecure-nodes needed.
  auto open = serve({"--auth", "required", "--node-bind", "0.0.0.0", "--node-tls-cert",
                     d / "orchestrator.pem", "--node-tls-key", d / "orchestrator.key",
                     "--node-tls-ca", d / "ca.pem"}, "g");
  INFO(open.err);
  CHECK(open.exit_code == 0);
}
