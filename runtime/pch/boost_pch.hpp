// Precompiled header of the platform layer (no CAF): the standard library,
// nlohmann_json and Boost.Beast. Only used through target_precompile_headers.
#pragma once

#include "std_pch.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
