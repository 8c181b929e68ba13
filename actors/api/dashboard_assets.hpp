// The dashboard's files (dashboard/), built into the binary by
// cmake/embed_files.cmake: served at / and /ui/{file} with no files to
// install and nothing fetched from elsewhere.
#pragma once

#include <string_view>
#include <vector>

namespace orch::api {

struct dashboard_asset {
  std::string_view name;                     // "app.js"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<dashboard_asset>& embedded_assets();

} // namespace orch::api
