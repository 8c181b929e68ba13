#include "tests/support/open.hpp"
#include "tests/support/must.hpp"
#include "tests/support/backend_under_test.hpp"

#include <stdexcept>

#include "backends/engine/storage_engine.hpp"
#include "backends/open_storage.hpp"
#include "tests/support/surreal_server.hpp"

namespace orch::test {

namespace {

std::string& backend_name() {
  static std::string name = "filesystem";
  return name;
}

bool& least_privilege() {
  static bool on = false;
  return on;
}

} // namespace

void select_surreal_user(const std::string& kind) {
  if (kind != "root" && kind != "editor")
    throw std::invalid_argument("unknown --surreal-user " + kind + " (root or editor)");
  least_privilege() = kind == "editor";
}

bool surreal_least_privilege() {
  return least_privilege();
}

void select_backend(const std::string& name) {
  auto canonical = canonical_storage_type(name);
  if (canonical.empty())
    throw std::invalid_argument("unknown backend " + name);
  backend_name() = canonical;
}

const std::string& selected_backend() {
  return backend_name();
}

storage_settings fresh_storage(const temp_dir& dir) {
  storage_settings s;
  s.type = selected_backend();
  s.data_dir = dir / "data";
  if (s.type == "surrealdb-server") {
    auto& server = surreal_server::shared();
    s.surrealdb_url = server.url();
    s.surrealdb_username = "root";
    s.surrealdb_password = "root";
    // A database of its own for every test: nothing left over from others.
    s.surrealdb_namespace = "test";
    s.surrealdb_database = unique_name("db");
    if (least_privilege()) {
      // As the README tells an operator to: root defines the database's
      // user once, and the orchestrator never signs in as root.
      surreal_query(server.url(), s.surrealdb_namespace, s.surrealdb_database,
                    "DEFINE USER orchestrator ON DATABASE PASSWORD 'editor-pw' ROLES EDITOR");
      s.surrealdb_username = "orchestrator";
      s.surrealdb_password = "editor-pw";
    }
  }
  return s;
}

std::vector<std::string> storage_args(const storage_settings& s) {
  std::vector<std::string> args{"--storage-type", s.type, "--data-dir", s.data_dir};
  if (s.type == "surrealdb-server") {
    for (auto& [flag, value] :
         {std::pair{"--surrealdb-url", s.surrealdb_url},
          {"--surrealdb-namespace", s.surrealdb_namespace},
          {"--surrealdb-database", s.surrealdb_database},
          {"--surrealdb-username", s.surrealdb_username},
          {"--surrealdb-password", s.surrealdb_password}}) {
      args.push_back(flag);
      args.push_back(value);
    }
  } else if (s.type == "surrealdb-embedded") {
    args.insert(args.end(), {"--surrealdb-namespace", s.surrealdb_namespace,
                             "--surrealdb-database", s.surrealdb_database});
  }
  return args;
}

backend_under_test::backend_under_test() : settings_(fresh_storage(dir_)) {
  open();
}

backend_under_test::~backend_under_test() {
  // A test that wanted the close checked called close() itself; a destructor
  // must not throw.
  if (client_)
    (void)client_->close();
}

void backend_under_test::open() {
  client_ = std::make_unique<storage_client>(env_.sys(), open_or_throw(env_.sys(), settings_));
}

void backend_under_test::close() {
  if (client_) {
    auto closed = client_->close();
    client_.reset();
    must(closed, "closing the " + settings_.type + " storage");
  }
}

void backend_under_test::reopen() {
  close();
  open();
}

} // namespace orch::test
