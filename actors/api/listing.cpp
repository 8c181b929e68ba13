#include "actors/api/listing.hpp"

namespace orch::api {

std::string page_json(const record_page& page, const char* items_name, const record_query& q) {
  std::string out = "{\"";
  out += items_name;
  out += "\":[";
  for (size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0)
      out += ',';
    out += page.items[i].json;
  }
  out += "],\"total\":" + std::to_string(page.total) + ",\"limit\":" + std::to_string(q.limit)
         + ",\"offset\":" + std::to_string(q.offset) + "}";
  return out;
}

} // namespace orch::api
