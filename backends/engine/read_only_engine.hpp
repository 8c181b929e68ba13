// A read-only view of a local engine, for a migration's source and a dry run's
// target: reads pass through, every write, claim and lease renewal is refused
// with errc::invalid. Without an inner engine (the data does not exist yet)
// it is an empty store, so reading creates nothing on disk.
#pragma once

#include <memory>
#include <string>

#include "backends/engine/storage_engine.hpp"

namespace orch {

/// `what` names the data in messages ("the filesystem data in ./data").
/// `inner` may be null: an empty store.
std::unique_ptr<storage_engine> make_read_only(std::unique_ptr<storage_engine> inner,
                                               std::string what, storage_info empty_info = {});

} // namespace orch
