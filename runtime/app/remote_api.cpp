#include "runtime/app/remote_api.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/platform/http/http_client.hpp"

namespace orch {

std::string admin_url_file(const storage_settings& s) {
  auto base = s.data_dir.empty() ? std::string{"."} : s.data_dir;
  return base + "/orchestrator.url";
}

result<std::unique_ptr<http_client>> running_orchestrator(const storage_settings& s,
                                                          const std::string& url,
                                                          const std::string& token) {
  auto address = url;
  if (address.empty()) {
    std::ifstream in{admin_url_file(s)};
    std::getline(in, address);
  }
  if (address.empty())
    return status{errc::unavailable, "no --url was given, and no orchestrator.url in the data "
                                     "directory says where the running orchestrator listens"};
  if (address.rfind("https://", 0) == 0)
    return status{errc::unavailable,
                  "the running orchestrator serves HTTPS (" + address
                    + "), and this command speaks plain HTTP only: run it where the data is "
                      "not held (stop the orchestrator), or use the REST API with curl"};
  auto rest = address.substr(address.find("://") == std::string::npos ? 0
                                                                      : address.find("://") + 3);
  auto colon = rest.rfind(':');
  int port = 0;
  try {
    port = colon == std::string::npos ? 0 : std::stoi(rest.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port <= 0 || port > 65535)
    return status{errc::invalid, "cannot read host:port from '" + address + "'"};
  auto client = std::make_unique<http_client>(rest.substr(0, colon), static_cast<uint16_t>(port));
  client->set_bearer(token);
  return client;
}

std::string api_error(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"].get<std::string>();
  return body;
}

} // namespace orch
