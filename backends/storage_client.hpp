// Blocking calls to a storage actor, for the command-line tools, start-up
// recovery and tests: every operation of the storage interface, through the
// actor. Blocks the calling thread: never use it on a CAF scheduler thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "caf/typed_actor.hpp"

#include "runtime/core/status.hpp"
#include "runtime/messages/storage_actor.hpp"

namespace orch {

class storage_client {
public:
  /// `timeout`: how long one call may take before it fails with errc::unavailable.
  storage_client(caf::actor_system& sys, storage_actor storage,
                 std::chrono::seconds timeout = std::chrono::seconds(120));
  ~storage_client();

  storage_actor handle() const { return storage_; }

  result<uint64_t> commit(const write_batch& b);
  result<record> get(record_kind k, const std::string& key);
  result<record_page> query(const record_query& q);
  result<std::vector<record>> scan(record_kind k, const std::string& after, uint32_t limit);
  result<uint64_t> count(record_kind k);
  result<claim_result> claim(const claim_request& req);
  result<std::vector<std::string>> renew(const std::string& worker,
                                        const std::vector<std::string>& ids, micros until);
  result<storage_info> info();
  result<std::string> backup(const std::string& to);
  result<bool> close();

  /// Puts records (one batch).
  status put(const std::vector<record>& records);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  storage_actor storage_;
};

} // namespace orch
