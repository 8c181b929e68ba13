// Minimal thread-safe logging to stderr: "<time> <LEVEL> <component>: <message>".
#pragma once

#include <string>
#include <string_view>

namespace orch {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_log_level(log_level lvl);
bool parse_log_level(std::string_view text, log_level& out);
bool log_enabled(log_level lvl);

void log(log_level lvl, std::string_view component, std::string_view message);

inline void log_debug(std::string_view c, std::string_view m) { log(log_level::debug, c, m); }
inline void log_info(std::string_view c, std::string_view m) { log(log_level::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log(log_level::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log(log_level::error, c, m); }

} // namespace orch
