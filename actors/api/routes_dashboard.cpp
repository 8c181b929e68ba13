// The dashboard: GET / (its page) and GET /ui/{file} (its script and
// style), served from the files built into the binary. Public: the page
// signs in through the API, and every call it makes is checked there.
#include <string>

#include "actors/api/dashboard_assets.hpp"
#include "actors/api/envelope.hpp"
#include "actors/api/route.hpp"

namespace orch::api {

namespace {

http_response asset_response(const dashboard_asset& a) {
  http_response r{200, std::string{a.content_type} + "; charset=utf-8", std::string{a.body}};
  // Everything it loads comes from here; nothing may frame it.
  r.headers["Content-Security-Policy"] =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Referrer-Policy"] = "no-referrer";
  // Built into this binary: a new version is a new process, so revalidate.
  r.headers["Cache-Control"] = "no-cache";
  return r;
}

const dashboard_asset* find_asset(std::string_view name) {
  for (auto& a : embedded_assets())
    if (a.name == name)
      return &a;
  return nullptr;
}

void page(const context&, const http_request&, const route_args&, reply rp) {
  auto* a = find_asset("index.html");
  rp.deliver(a ? asset_response(*a) : json_error(404, "this build has no dashboard"));
}

void file(const context&, const http_request&, const route_args& args, reply rp) {
  auto* a = args.file == "index.html" ? nullptr : find_asset(args.file);
  rp.deliver(a ? asset_response(*a)
               : json_error(404, "the dashboard has no file '" + args.file + "'"));
}

} // namespace

std::vector<route> dashboard_routes() {
  return {
    {"GET", {}, page, public_route},
    {"GET", {"ui", "{file}"}, file, public_route},
  };
}

} // namespace orch::api
