#include "caf/message.hpp"
#include "caf/sec.hpp"

#include "runtime/messages/types.hpp"

namespace orch {

caf::error make_error(errc code, std::string message) {
  return caf::make_error(code, std::move(message));
}

std::string error_text(const caf::error& e) {
  if (!e)
    return {};
  if (e.category() == caf::atom("orch")) {
    const auto& ctx = e.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
    return to_string(static_cast<errc>(e.code()));
  }
  if (e == caf::sec::request_timeout)
    return "the request timed out inside the orchestrator (a component is overloaded or stuck)";
  if (e == caf::sec::request_receiver_down)
    return "a component of the orchestrator is not running (it is restarting, or the "
           "orchestrator is shutting down); retry in a moment";
  return caf::to_string(e);
}

errc error_code(const caf::error& e) {
  if (e.category() == caf::atom("orch"))
    return static_cast<errc>(e.code());
  if (e == caf::sec::request_timeout || e == caf::sec::request_receiver_down)
    return errc::unavailable;
  return errc::internal;
}

caf::error to_error(const status& s) {
  return s.ok() ? caf::error{} : make_error(s.code(), s.message());
}

status to_status(const caf::error& e) {
  return e ? status{error_code(e), error_text(e)} : status{};
}

} // namespace orch
