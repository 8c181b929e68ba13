#include "actors/api/reply.hpp"

#include <nlohmann/json.hpp>

#include "caf/all.hpp"

#include "runtime/auth/user_changes.hpp"
#include "runtime/core/clock.hpp"

namespace orch::api {

void reply::audit_as(std::string principal, std::string action, std::string target) {
  note_ = std::make_shared<note>(note{std::move(principal), std::move(action), std::move(target)});
}

void reply::audit_by(std::string principal) {
  if (note_)
    note_->principal = std::move(principal);
}

void reply::deliver(http_response r) {
  if (note_ && r.status >= 400) {
    auto outcome = r.status == 401 || r.status == 403 || r.status == 429 ? "denied"
                   : r.status < 500                                       ? "invalid"
                                                                          : "failed";
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    auto why = body.is_object() && body.contains("error") && body["error"].is_string()
                 ? body["error"].get<std::string>()
                 : std::string{};
    auth::change_context ctx{note_->principal, now_us()};
    auto a = auth::audit_entry(ctx, note_->action, note_->target, outcome,
                               std::to_string(r.status) + " " + why.substr(0, 300));
    // The refusal goes out at once; the audit actor stores its record with
    // the others arriving meanwhile (and limits what anonymous floods store).
    self_->request(peers_->audit, cfg_->storage_timeout, audit_atom_v, std::move(a))
      .then([](bool) {}, [](caf::error&) {});
    note_.reset();
  }
  answer_(std::move(r));
}

} // namespace orch::api
