// What `orchestrator migrate` checks and says about its two ends before it
// copies anything: where they are (for messages and the journal), whether
// they are the same place, whether the target can be written, whether there
// is room for the copy. Internal to runtime/app/.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "backends/engine/storage_settings.hpp"
#include "backends/storage_client.hpp"
#include "runtime/migrate/progress.hpp"

namespace orch::migrate_checks {

bool is_local(const storage_settings& s);

/// An absolute, normalised directory.
std::string absolute(const std::string& dir);

/// "filesystem at /abs/dir/queue.rkvs", "surrealdb-server at ws://... (namespace n, database d)".
std::string describe(const storage_settings& s);

/// The same data (so a migration would read and write one store)?
bool same_place(const storage_settings& a, const storage_settings& b);

/// Where the journal goes by default: beside a local target, in the current
/// directory for a server.
std::string default_journal(const storage_settings& target);

/// Opens one end; a failure's message says which end and what to do.
result<storage_actor> open_end(caf::actor_system& sys, const storage_settings& s, const char* end);

/// Free bytes on the filesystem that holds `dir` (or its nearest parent).
uint64_t free_bytes(std::string dir);

/// Bytes the target will need for the source's records: an average record
/// size from a sample, times the count, plus per-record overhead.
uint64_t estimate_bytes(storage_client& src, const storage_settings& target,
                        const std::set<record_kind>& kinds, const migration::counters& counts);

/// Whether the target can be written: a probe file in the target directory
/// (or the nearest existing parent it would be created in) for a local
/// target, a probe record (written, read back, removed) for a server.
status check_writable(storage_client& dst, const storage_settings& target);

/// 1.5 GiB, 12 MiB, 40 KiB: sizes for people.
std::string human_bytes(uint64_t n);

/// This process's peak resident memory (VmHWM), 0 if unknown.
double peak_memory_mib();

} // namespace orch::migrate_checks
