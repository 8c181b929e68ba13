// Verification after a migration: both ends scanned side by side in key
// order, kind by kind; counts and a SHA-256 digest of every record's
// canonical JSON compared. Memory stays flat: two batches at a time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/messages/storage_actor.hpp"
#include "runtime/migrate/filter_options.hpp"

namespace orch::migration {

struct verify_report {
  bool ok = true;
  uint64_t compared = 0;
  std::map<record_kind, std::pair<uint64_t, uint64_t>> counts;  // source, target
  std::vector<std::string> differences;                        // the first ones, in words
  uint64_t difference_count = 0;
};

/// The action of the audit record a migration writes into its target when
/// the copy is done. Such a record in the target and not in the source is
/// the migration's own, not a difference.
inline constexpr const char* migration_audit_action = "migrate.copy";

/// Is this record (of any kind) the audit record of a migration?
bool is_migration_record(const record& r);

/// `filter` says which records the migration moves: only they are compared,
/// `batch_size` records of each end at a time. Extra records in the target count as differences unless
/// `allow_extra` (a merge into a target that held records before).
verify_report verify(caf::actor_system& sys, storage_actor source, storage_actor target,
                     const filter_options& filter, uint32_t batch_size,
                     bool allow_extra);

/// SHA-256 (hex) of a record's canonical JSON.
std::string record_digest(const std::string& json_text);

} // namespace orch::migration
