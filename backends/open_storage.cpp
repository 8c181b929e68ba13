#include "backends/open_storage.hpp"

#include "caf/all.hpp"

#include "backends/filesystem/fs_engine.hpp"
#include "backends/rocksdb/rocks_engine.hpp"
#include "backends/actor/engine_actor.hpp"
#include "backends/surrealdb/surreal_storage.hpp"

namespace orch {

storage_actor open_storage(caf::actor_system& sys, const storage_settings& cfg) {
  auto type = canonical_storage_type(cfg.type);
  if (type == "filesystem")
    return spawn_engine_actor(sys, open_filesystem_engine(cfg.data_dir, cfg.read_only));
  if (type == "surrealdb-embedded")
    return spawn_engine_actor(sys, open_rocksdb_engine({cfg.data_dir, cfg.surrealdb_namespace,
                                                        cfg.surrealdb_database, cfg.read_only}));
  if (type == "surrealdb-server")
    return spawn_surreal_storage(sys, cfg);
  throw storage_failure{errc::invalid, "unknown --storage-type '" + cfg.type
                                         + "' (expected filesystem, surrealdb-embedded or "
                                           "surrealdb-server)"};
}

} // namespace orch
