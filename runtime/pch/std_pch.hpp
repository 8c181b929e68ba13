// Precompiled header of the CAF-free layers: the standard library and
// nlohmann_json. Only used through target_precompile_headers.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
