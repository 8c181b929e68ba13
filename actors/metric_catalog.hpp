// Every metric the orchestrator exports, named once with what it means: the
// `# HELP` line of /metrics comes from here, and a test checks that what a
// running orchestrator exports is all described (and passes promtool).
#pragma once

#include <string_view>

namespace orch {

/// The HELP text of a metric family; empty if the name is not known.
std::string_view metric_help(std::string_view name);

} // namespace orch
