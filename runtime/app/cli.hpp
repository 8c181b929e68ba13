// The command line (CLI11): `orchestrator [options]` serves; subcommands
// (migrate, backup) come with their own options. A config file (--config,
// TOML) can hold any long option; options on the command line override it.
#pragma once

#include <iosfwd>
#include <string>

#include "runtime/app/settings.hpp"

namespace orch {

enum class command_kind { serve, backup, restore, migrate, user, worker, exit };

struct command_line {
  command_kind kind = command_kind::serve;
  int exit_code = 0;                         // for command_kind::exit
  server_settings server;
  backup_settings backup;
  restore_settings restore;
  migrate_settings migrate;
  user_settings user;
  worker_settings worker;
};

/// Parses argv. Help, version and errors are printed here and come back as
/// command_kind::exit with the exit code to use.
command_line parse_command_line(int argc, char** argv);

/// The same, printing help and version to `text` and errors to `errors`.
command_line parse_command_line(int argc, char** argv, std::ostream& text, std::ostream& errors);

} // namespace orch
