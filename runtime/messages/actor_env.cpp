#include "runtime/messages/actor_env.hpp"

#include <algorithm>
#include <thread>

#include "caf/all.hpp"

#include "runtime/messages/types.hpp"

namespace orch {

actor_env::actor_env(size_t threads) : cfg_(std::make_unique<caf::actor_system_config>()) {
  cfg_->add_message_types<caf::id_block::orch>();
  cfg_->set("logger.console", caf::atom("none"));
  cfg_->set("logger.file-verbosity", caf::atom("quiet"));
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  cfg_->set("scheduler.max-threads", threads);
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
}

actor_env::~actor_env() {
  sys_.reset();  // waits for every actor to finish
}

} // namespace orch
