#include "backends/open_storage.hpp"

#include "caf/all.hpp"

#include "backends/actor/engine_actor.hpp"
#include "backends/filesystem/fs_engine.hpp"
#include "backends/rocksdb/rocks_engine.hpp"
#include "backends/surrealdb/surreal_storage.hpp"

namespace orch {

namespace {

surreal::options surreal_options_of(const storage_settings& s) {
  surreal::options o;
  o.url = s.surrealdb_url;
  o.ns = s.surrealdb_namespace;
  o.db = s.surrealdb_database;
  o.username = s.surrealdb_username;
  o.password = s.surrealdb_password;
  o.ca_file = s.surrealdb_ca_file;
  o.read_only = s.read_only;
  return o;
}

} // namespace

result<storage_actor> open_storage(caf::actor_system& sys, const storage_settings& cfg) {
  auto type = canonical_storage_type(cfg.type);
  if (type == "surrealdb-server")
    return spawn_surreal_storage(sys, surreal_options_of(cfg));
  if (type != "filesystem" && type != "surrealdb-embedded")
    return status{errc::invalid, "unknown --storage-type '" + cfg.type
                                   + "' (expected filesystem, surrealdb-embedded or "
                                     "surrealdb-server)"};
  // The engines throw what stops them from opening; it stops here.
  std::unique_ptr<storage_engine> engine;
  auto opened = catch_status([&] {
    engine = type == "filesystem"
               ? open_filesystem_engine(cfg.data_dir, cfg.read_only)
               : open_rocksdb_engine({cfg.data_dir, cfg.surrealdb_namespace,
                                      cfg.surrealdb_database, cfg.read_only});
  });
  if (!opened)
    return opened;
  if (!cfg.read_only)
    engine->refuse_writes_below(cfg.data_dir, cfg.min_free_bytes);
  return spawn_engine_actor(sys, std::move(engine));
}

} // namespace orch
