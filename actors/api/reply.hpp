// The answer to one request, and the auditing of refusals. A refused
// mutating request (any 4xx or 5xx answer to a route with an action) leaves
// an audit record with its outcome: denied (401, 403, 429), invalid (other
// 4xx), failed (5xx), sent to the audit actor, which stores it. What
// succeeds is audited by the change itself, in the same commit.
#pragma once

#include <memory>
#include <string>

#include "actors/api/context.hpp"

namespace orch::api {

class reply {
public:
  reply(const context& ctx, http_answer answer)
    : self_(ctx.self), peers_(ctx.peers), cfg_(ctx.cfg), answer_(std::move(answer)) {}

  void deliver(http_response r);
  bool pending() const { return answer_.pending(); }

  /// From now on a refusal is audited as this action on this target.
  void audit_as(std::string principal, std::string action, std::string target);

  /// The refusal's principal, once the token says who asks (no-op for reads).
  void audit_by(std::string principal);

private:
  struct note {
    std::string principal;
    std::string action;                      // task.submit, user.create, ...
    std::string target;
  };
  // The gateway's own (its state outlives every request it serves): a reply
  // is copied into each continuation, so it holds pointers, not handles.
  gateway_actor::pointer self_;
  const gateway_peers* peers_;
  const gateway_config* cfg_;
  http_answer answer_;
  std::shared_ptr<note> note_;
};

} // namespace orch::api
