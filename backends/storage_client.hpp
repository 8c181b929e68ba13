// Blocking calls to a storage actor, for the command-line tools, start-up
// recovery and tests: every operation of the storage interface, through the
// actor. Blocks the calling thread: never use it on a CAF scheduler thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "caf/typed_actor.hpp"

#include "runtime/messages/storage_actor.hpp"

namespace orch {

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
  reply<std::string> backup(const std::string& to);
  reply<bool> close();

  /// Puts records (one batch); throws on failure.
  void put(const std::vector<record>& records);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  storage_actor storage_;
};

} // namespace orch
