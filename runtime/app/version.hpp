#pragma once

namespace orch {

inline constexpr const char* orchestrator_version = "0.1.0";

} // namespace orch
