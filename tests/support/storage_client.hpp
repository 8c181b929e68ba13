// Blocking calls to a storage actor, for tests and tools: every operation of
// the storage interface, going through the actor (never the engine itself).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/storage.hpp"

namespace orch::test {

/// The outcome of a call: a value or an error (errc + message).
template <class T>
struct reply {
  bool ok = false;
  T value{};
  errc code = errc::internal;
  std::string error;
};

class storage_client {
public:
  storage_client(caf::actor_system& sys, storage_actor storage);
  ~storage_client();

  storage_actor handle() const { return storage_; }

  reply<uint64_t> commit(const write_batch& b);
  reply<record> get(record_kind k, const std::string& key);
  reply<record_page> query(const record_query& q);
  reply<std::vector<record>> scan(record_kind k, const std::string& after, uint32_t limit);
  reply<uint64_t> count(record_kind k);
  reply<claim_result> claim(const claim_request& req);
  reply<std::vector<std::string>> renew(const std::string& worker,
                                        const std::vector<std::string>& ids, micros until);
  reply<storage_info> info();
  reply<bool> close();

  /// Puts records (one batch); throws on failure.
  void put(const std::vector<record>& records);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  storage_actor storage_;
};

/// An actor system configured like the orchestrator's (message types
/// registered), together with the config it refers to.
class actor_env {
public:
  actor_env();
  ~actor_env();
  caf::actor_system& sys() { return *sys_; }

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

} // namespace orch::test
