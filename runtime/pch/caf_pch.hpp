// Precompiled header of the layers that use CAF: the heavy, stable headers
// (standard library, CAF, nlohmann_json). Only used through
// target_precompile_headers; no source file includes it directly.
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

#include "caf/all.hpp"
