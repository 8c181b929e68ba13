// Everything the command line and the config file can set, as plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/engine/storage_settings.hpp"
#include "runtime/core/node_labels.hpp"
#include "runtime/migrate/filter_options.hpp"

namespace orch {

/// --node-tls-cert, --node-tls-key, --node-tls-ca: the node link as mutual
/// TLS (an orchestrator and its workers take the same three); all or none.
struct node_tls_settings {
  std::string cert;                          // this side's PEM certificate (chain)
  std::string key;                           // ... its key
  std::string ca;                            // the CA that signed the other side's
  bool enabled() const { return !cert.empty(); }
};

/// --max-concurrent-tasks not given: twice the number of CPUs (0 is a
/// choice of its own: no slots here).
inline constexpr uint32_t slots_from_cpus = UINT32_MAX;

struct server_settings {
  storage_settings storage;
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  uint32_t max_concurrent_tasks = slots_from_cpus;  // 0: none, tasks run elsewhere
  uint32_t lease_s = 30;
  uint32_t retry_backoff_ms = 1000;
  uint32_t retry_backoff_max_ms = 300000;
  uint32_t shutdown_grace_s = 10;
  uint64_t max_body_bytes = 1 << 20;
  uint64_t max_output_bytes = 1 << 20;
  uint32_t http_threads = 2;
  uint32_t max_connections = 10000;          // open HTTP connections; one more gets 503
  uint32_t request_timeout_s = 30;           // first byte to last; also a slow reader's answer
  uint32_t idle_timeout_s = 60;              // keep-alive connections waiting for a request
  uint64_t stream_buffer_bytes = 1 << 20;    // an event stream's unread bytes before it is cut
  uint32_t metrics_interval_s = 60;
  /// A schedule's firing later than this is missed: catch_up=skip passes it over.
  uint32_t schedule_misfire_grace_s = 60;
  std::string nu_path;
  std::string log_level = "info";
  bool dry_run = false;
  uint32_t storage_timeout_s = 30;           // one request to storage, at most
  bool fault_injection = false;              // POST /debug/fail/{component} (tests)
  bool bench_noop_attempts = false;          // attempts complete without a process (benchmarks)
  /// required: a bearer token on every route but /health and /auth/login;
  /// disabled: none (refused on a non-loopback --bind); auto: required
  /// unless --bind is a loopback address.
  std::string auth = "auto";
  uint32_t token_ttl_s = 12 * 3600;          // how long a sign-in lasts
  std::string backup_dir;                    // default <data-dir>/backups
  std::string workflow_templates;            // templates' directory; "" none
  std::string public_url;                    // tasks' ORCHESTRATOR_URL; "" from --bind/--port
  std::string task_token_key_file;           // signs tasks' ORCHESTRATOR_TOKEN; "" a random key
  std::string tls_cert;                      // PEM chain: serve HTTPS (reloaded on SIGHUP)
  std::string tls_key;
  bool insecure_http = false;                // plain HTTP on a non-loopback --bind
  int32_t node_port = -1;                    // worker nodes connect here (-1: none; 0: any)
  std::string node_bind = "127.0.0.1";
  uint32_t node_timeout_s = 10;              // a worker not heard of this long is lost
  bool insecure_nodes = false;               // a non-loopback --node-bind without TLS
  node_tls_settings node_tls;                // mutual TLS with worker nodes
  label_map labels;                          // --labels of the slots here
};

/// `orchestrator worker`: a process that runs the tasks an orchestrator
/// places on its slots.
struct worker_settings {
  std::vector<std::string> connect;          // HOST:PORT of orchestrators' --node-port
  uint32_t slots = 0;                        // default: twice the number of CPUs
  std::string name;                          // default: the host name
  label_map labels;                          // --labels k=v,k2=v2
  std::string nu_path;
  uint64_t max_output_bytes = 1 << 20;
  std::string log_level = "info";
  std::string token_file;                    // its first line: a worker token
  std::string token;                         // ... or ORCHESTRATOR_TOKEN
  uint32_t node_protocol = 0;                // tests: pretend another release (0: ours)
  uint32_t shutdown_grace_s = 10;            // SIGTERM: attempts may finish this long
  node_tls_settings node_tls;                // mutual TLS with the orchestrator
};


/// `orchestrator backup`: a consistent copy of a backend into a new directory.
struct backup_settings {
  storage_settings storage;
  std::string to;                            // new directory
  std::string url;                           // a running orchestrator to ask (optional)
  std::string token;                         // its bearer token, when it requires one
};

/// `orchestrator user ACTION [NAME]`: manage the API's users, offline on the
/// storage or, while an orchestrator holds it, through that one's API.
struct user_settings {
  storage_settings storage;
  std::string action;                        // add, list, disable, enable, passwd, roles, remove
  std::string name;
  std::vector<std::string> roles;
  bool password_stdin = false;
  std::string url;
  std::string token;
};

/// `orchestrator restore`: put a backup in place as a backend's data.
struct restore_settings {
  storage_settings storage;                  // where to restore to
  std::string from;                          // a directory made by `backup`
  bool force = false;                        // replace existing data (kept aside)
};

/// `orchestrator migrate`: copy every record from one backend to another.
struct migrate_settings {
  storage_settings source;
  storage_settings target;
  uint32_t batch_size = 500;
  bool verify = false;                       // compare source and target afterwards
  bool dry_run = false;                      // read and check everything, write nothing
  bool validate_only = false;                // `migrate validate`: check both ends only
  bool verbose = false;
  bool merge = false;                        // the target may hold records already
  bool resume = false;                       // continue an interrupted run
  bool rollback = false;                     // undo an interrupted run
  migration::filter_options filter;          // which records (kinds, task status and time)
  std::string journal;                       // progress journal; default beside the target
  std::string progress = "auto";             // auto, bar, lines, none
  uint32_t rollback_timeout_s = 120;         // how long to retry an unreachable target
};

} // namespace orch
