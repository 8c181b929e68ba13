#include "backends/actor/syncer.hpp"

#include "caf/all.hpp"

namespace orch {

syncer::syncer(storage_engine* engine, engine_actor owner)
  : engine_(engine), owner_(std::move(owner)), thread_([this] { run(); }) {}

syncer::~syncer() {
  {
    std::lock_guard<std::mutex> g{m_};
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void syncer::request(uint64_t round) {
  {
    std::lock_guard<std::mutex> g{m_};
    requested_ = round;
  }
  cv_.notify_one();
}

void syncer::run() {
  uint64_t done = 0;
  for (;;) {
    uint64_t target;
    {
      std::unique_lock<std::mutex> g{m_};
      cv_.wait(g, [&] { return stop_ || requested_ > done; });
      if (requested_ <= done)
        break;  // stopping, nothing left to sync
      target = requested_;
    }
    auto st = engine_->sync();
    done = target;
    caf::anon_send(owner_, synced_atom_v, target,
                   st.ok() ? std::string{} : st.message().empty() ? "the sync failed" : st.message());
  }
  owner_ = nullptr;  // let the actor go
}

} // namespace orch
