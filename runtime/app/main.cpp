// orchestrator: process entry. Parses the command line and runs the command.
#include "runtime/app/server.hpp"
#include "runtime/app/cli.hpp"
#include "runtime/app/migrate_command.hpp"
#include "runtime/app/tools.hpp"
#include "runtime/app/user_command.hpp"
#include "runtime/app/worker_command.hpp"

int main(int argc, char** argv) {
  auto cl = orch::parse_command_line(argc, argv);
  switch (cl.kind) {
    case orch::command_kind::exit:
      return cl.exit_code;
    case orch::command_kind::serve:
      return orch::run_server(cl.server);
    case orch::command_kind::backup:
      return orch::run_backup(cl.backup);
    case orch::command_kind::restore:
      return orch::run_restore(cl.restore);
    case orch::command_kind::migrate:
      return orch::run_migrate(cl.migrate);
    case orch::command_kind::user:
      return orch::run_user(cl.user);
    case orch::command_kind::worker:
      return orch::run_worker(cl.worker);
  }
  return 0;
}
