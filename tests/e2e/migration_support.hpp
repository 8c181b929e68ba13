// Helpers of the migration tests and the migration script tests: the places a
// migration runs between, the command line for them, and reading what it
// left behind (summary table, journal).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/app/settings.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/orchestrator_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unprivileged.hpp"

namespace orch::test {

class surreal_server;

/// A fresh place of a backend: `dir/name` for a local one, a new database on
/// `server` (default: the shared test server) for surrealdb-server.
storage_settings make_place(const std::string& backend, const temp_dir& dir,
                            const std::string& name, const surreal_server* server = nullptr);

/// The data directory of a local place, "" for a server.
std::string local_dir(const storage_settings& place);

/// `migrate --from A --to B` with the options that reach both places (shared
/// server options when one end is a server, --source-/--target- ones when
/// both are); a server target keeps its journal in `dir`.
std::vector<std::string> migrate_cmd(const storage_settings& from, const storage_settings& to,
                                     const temp_dir& dir, std::vector<std::string> extra);

/// Runs the orchestrator with `args` (or, `prefixed`, the whole argv as given).
run_result run_migrate(std::vector<std::string> args, const std::string& log_base,
                       bool prefixed = false);

/// The argv that runs the orchestrator with `args` as an unprivileged user
/// when the tests run as root (who ignores file permissions); as is otherwise.
std::vector<std::string> as_unprivileged(std::vector<std::string> args);

/// Runs SurrealQL as root on a test server (outside any namespace unless the
/// text says USE); the statements' results, or throws with the server's message.
nlohmann::json root_query(const std::string& url, const std::string& text);

/// Records of a data set, all kinds together.
uint64_t spec_total(const dataset_spec& spec);

/// The numbers of one kind's row of the summary table (read, written,
/// unchanged, skipped), without the seconds.
std::vector<std::string> summary_row(const std::string& out, const std::string& kind);

/// The bodies of the journal's entries of one type (header, intent, commit, done...).
std::vector<nlohmann::json> journal_entries(const std::string& path, const std::string& type);

/// Copies the first `n` tasks of `from` into `into` with another name: records
/// a migration from `into` to `from` replaces.
void put_changed_copies(caf::actor_system& sys, const storage_settings& from,
                        const storage_settings& into, size_t n);

} // namespace orch::test
