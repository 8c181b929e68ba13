// The TOML config file (--config): any bytes in it must give settings or a
// usage error (exit status 2), never a crash or an exception that escapes.
#include "tests/fuzz/fuzz_target.hpp"

#include <fstream>
#include <sstream>

#include "runtime/app/cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = fuzz::scratch_dir() + "/config.toml";
  {
    std::ofstream f{path, std::ios::binary | std::ios::trunc};
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::string argv0 = "orchestrator", opt = "--config";
  char* argv[] = {argv0.data(), opt.data(), path.data(), nullptr};
  std::ostringstream text, errors;
  auto cl = orch::parse_command_line(3, argv, text, errors);
  if (cl.kind == orch::command_kind::exit && cl.exit_code != 0 && cl.exit_code != 2)
    fuzz::fail("a config file gave exit status " + std::to_string(cl.exit_code));
  if (cl.kind == orch::command_kind::exit && cl.exit_code == 2 && errors.str().empty())
    fuzz::fail("a config file was refused without a message");
  return 0;
}
