#include "backends/engine/storage_settings.hpp"

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

} // namespace orch
