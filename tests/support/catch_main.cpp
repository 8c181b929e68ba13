// Catch2's implementation and the main of every test program, compiled
// once (it is the slowest file of the suite to compile). Suites that run
// against every storage backend take the backend under test as
// `--backend NAME` (CTest registers them once per backend); the others run
// on the default and ignore it.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/support/backend_under_test.hpp"

int main(int argc, char** argv) {
  Catch::Session session;
  std::string backend = "filesystem";
  std::string surreal_user = "root";
  using namespace Catch::clara;
  session.cli(session.cli()
              | Opt(backend, "name")["--backend"](
                "storage backend under test: filesystem, surrealdb-embedded or surrealdb-server")
              | Opt(surreal_user, "root|editor")["--surreal-user"](
                "surrealdb-server: sign in as root, or as a database-level EDITOR user"));
  if (int rc = session.applyCommandLine(argc, argv); rc != 0)
    return rc;
  orch::test::select_backend(backend);
  orch::test::select_surreal_user(surreal_user);
  return session.run();
}
