// Generated data sets of every record kind, written straight into a backend,
// and record-by-record dumps of a backend to compare with. For the migration
// tests and benchmark.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/clock.hpp"
#include "runtime/core/records.hpp"
#include "runtime/app/settings.hpp"

namespace caf {
class actor_system;
}

namespace orch::test {

struct dataset_spec {
  size_t tasks = 600;                        // every status; created an hour apart
  size_t users = 20;
  size_t audit = 600;
  size_t metrics = 300;
  size_t schedules = 12;
  size_t workflows = 10;
  size_t events_per_task = 2;
  micros first_created = 1767225600000000;   // 2026-01-01T00:00:00Z
  micros spacing = 3600000000;               // one hour between tasks
  uint32_t batch = 500;                      // records per write batch
};

/// Records per kind that fill() writes for `spec`.
std::map<record_kind, size_t> expected_counts(const dataset_spec& spec);

/// Writes the data set into the (empty) storage; throws on failure.
void fill(caf::actor_system& sys, const storage_settings& where, const dataset_spec& spec);

/// Every record of every kind, as canonical JSON by key. Opens the storage
/// read-only, so dumping changes nothing.
using dump_t = std::map<record_kind, std::map<std::string, std::string>>;
dump_t dump(caf::actor_system& sys, const storage_settings& where);

/// Opens the storage for writing and closes it, as the orchestrator's next
/// start would: a filesystem directory whose writer was killed while it
/// wrote a committed round's files gets them written from its commit log (a
/// read-only open refuses such a directory).
void settle(caf::actor_system& sys, const storage_settings& where);

/// The dump without the audit records migrations wrote about themselves
/// (migrate.copy): what a copy must match, record for record.
dump_t copied_records(dump_t d);

/// The migrate.copy audit records of a dump, as JSON.
std::vector<nlohmann::json> migration_records(const dump_t& d);

/// A digest of every file's path, size and bytes below `dir` (missing: "");
/// equal digests mean the tree is unchanged byte for byte.
std::string tree_digest(const std::string& dir);

/// Records per kind of a dump.
std::map<record_kind, size_t> counts_of(const dump_t& d);

} // namespace orch::test
