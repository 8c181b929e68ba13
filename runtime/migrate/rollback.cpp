#include "runtime/migrate/rollback.hpp"

#include <thread>

#include "runtime/core/log.hpp"
#include "backends/storage_client.hpp"

namespace orch::migration {

status rollback(caf::actor_system& sys, storage_actor target, const journal_state& journal,
                uint32_t batch_size, std::chrono::seconds timeout) {
  storage_client db{sys, target};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto commit = [&](const write_batch& b) -> status {
    for (auto delay = std::chrono::milliseconds(200);; delay = std::min(delay * 2, std::chrono::milliseconds(5000))) {
      auto r = db.commit(b);
      if (r.ok())
        return {};
      if (r.code() != errc::unavailable || std::chrono::steady_clock::now() + delay > deadline)
        return r.error();
      log_warn("migrate", "rollback: the target is unreachable (" + r.message() + "); retrying");
      std::this_thread::sleep_for(delay);
    }
  };
  for (auto& [kind, keys] : journal.touched) {
    auto replaced = journal.replaced.find(kind);
    write_batch b;
    for (auto& key : keys) {
      const std::string* earlier = nullptr;
      if (replaced != journal.replaced.end())
        if (auto i = replaced->second.find(key); i != replaced->second.end())
          earlier = &i->second;
      if (earlier)
        b.ops.push_back({record_op::put, {kind, key, *earlier}});
      else
        b.ops.push_back({record_op::remove, {kind, key, {}}});
      if (b.ops.size() >= batch_size) {
        if (auto st = commit(b); !st)
          return st;
        b.ops.clear();
      }
    }
    if (!b.ops.empty())
      if (auto st = commit(b); !st)
        return st;
  }
  return {};
}

} // namespace orch::migration
