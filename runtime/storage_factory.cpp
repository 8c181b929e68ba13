#include "runtime/storage_factory.hpp"

#include "caf/all.hpp"

#include "backends/filesystem/fs_engine.hpp"
#include "backends/rocksdb/rocks_engine.hpp"
#include "backends/storage_engine.hpp"
#include "backends/surrealdb/surreal_storage.hpp"

namespace orch {

std::string canonical_storage_type(const std::string& value) {
  if (value == "filesystem" || value == "fs")
    return "filesystem";
  if (value == "surrealdb-embedded" || value == "rocksdb" || value == "embedded")
    return "surrealdb-embedded";
  if (value == "surrealdb-server" || value == "server")
    return "surrealdb-server";
  return {};
}

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
