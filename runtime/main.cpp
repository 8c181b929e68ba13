// orchestrator: process entry. Parses the command line and runs the command.
#include "runtime/app.hpp"
#include "runtime/cli.hpp"

int main(int argc, char** argv) {
  auto cl = orch::parse_command_line(argc, argv);
  switch (cl.kind) {
    case orch::command_kind::exit:
      return cl.exit_code;
    case orch::command_kind::serve:
      return orch::run_server(cl.server);
  }
  return 0;
}
