#include "tests/e2e/migration_support.hpp"

#include <filesystem>
#include <stdexcept>
#include <sstream>

#include <unistd.h>

#include "runtime/core/codec.hpp"
#include "backends/storage_client.hpp"
#include "backends/open_storage.hpp"
#include "tests/support/must.hpp"
#include "tests/support/open.hpp"
#include "tests/support/child.hpp"
#include "tests/support/surreal_server.hpp"

namespace orch::test {

storage_settings make_place(const std::string& backend, const temp_dir& dir,
                            const std::string& name, const surreal_server* server) {
  storage_settings s;
  s.type = backend;
  s.data_dir = dir / name;
  if (backend == "surrealdb-server") {
    auto& where = server ? *server : surreal_server::shared();
    s.data_dir.clear();
    s.surrealdb_url = where.url();
    s.surrealdb_username = "root";
    s.surrealdb_password = "root";
    s.surrealdb_namespace = "migrate";
    s.surrealdb_database = unique_name(name.substr(0, 20));
  }
  return s;
}

nlohmann::json root_query(const std::string& url, const std::string& text) {
  return surreal_rpc_query(url, "", "", text);
}

std::string local_dir(const storage_settings& place) {
  return place.type == "surrealdb-server" ? std::string{} : place.data_dir;
}

std::vector<std::string> migrate_cmd(const storage_settings& from, const storage_settings& to,
                                     const temp_dir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args{"migrate", "--from", from.type, "--to", to.type};
  bool both_servers = from.type == "surrealdb-server" && to.type == "surrealdb-server";
  for (bool source : {true, false}) {
    auto* end = source ? &from : &to;
    if (end->type != "surrealdb-server") {
      args.insert(args.end(), {source ? "--source-dir" : "--target-dir", end->data_dir});
      continue;
    }
    std::string prefix = both_servers ? (source ? "--source-" : "--target-") : "--";
    args.insert(args.end(), {prefix + "surrealdb-url", end->surrealdb_url, prefix + "username",
                             end->surrealdb_username, prefix + "password",
                             end->surrealdb_password, prefix + "namespace",
                             end->surrealdb_namespace, prefix + "database",
                             end->surrealdb_database});
  }
  if (to.type == "surrealdb-server")
    args.insert(args.end(), {"--journal", dir / ("journal-" + to.surrealdb_database + ".jsonl")});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

run_result run_migrate(std::vector<std::string> args, const std::string& log_base,
                       bool prefixed) {
  if (!prefixed)
    args.insert(args.begin(), orchestrator_binary());
  child c{args, log_base};
  auto code = c.wait_exit(std::chrono::seconds(300));
  return {code, c.out(), c.err()};
}

std::vector<std::string> as_unprivileged(std::vector<std::string> args) {
  args.insert(args.begin(), orchestrator_binary());
  auto prefix = unprivileged_prefix();
  args.insert(args.begin(), prefix.begin(), prefix.end());
  return args;
}

uint64_t spec_total(const dataset_spec& spec) {
  uint64_t total = 0;
  for (auto& [kind, n] : expected_counts(spec))
    total += n;
  return total;
}

std::vector<std::string> summary_row(const std::string& out, const std::string& kind) {
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words{line};
    std::string first;
    words >> first;
    if (first != kind)
      continue;
    std::vector<std::string> row;
    for (std::string w; row.size() < 4 && words >> w;)
      row.push_back(w);
    return row;
  }
  return {};
}

std::vector<nlohmann::json> journal_entries(const std::string& path, const std::string& type) {
  std::vector<nlohmann::json> out;
  std::istringstream in{slurp(path)};
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains(type))
      out.push_back(j[type]);
  }
  return out;
}

void put_changed_copies(caf::actor_system& sys, const storage_settings& from,
                        const storage_settings& into, size_t n) {
  auto tasks = dump(sys, from)[record_kind::task];
  std::vector<record> changed;
  for (auto& [key, text] : tasks) {
    if (changed.size() == n)
      break;
    auto j = nlohmann::json::parse(text);
    j["name"] = j["name"].get<std::string>() + " (changed)";
    changed.push_back({record_kind::task, key, canonical(j)});
  }
  storage_client db{sys, open_or_throw(sys, into)};
  if (auto put = db.put(changed); !put)
    throw std::runtime_error(put.message());
  test::must(db.close(), "closing after the changed copies");
}

} // namespace orch::test
