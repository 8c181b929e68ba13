// One Argon2id hash or check, on a thread of its own: spawn one per sign-in
// or password change; it answers one request and ends. The gateway's own
// thread never spends tens of milliseconds on a hash, and the number of
// these in flight is the gateway's to bound.
#pragma once

#include "caf/fwd.hpp"

#include "runtime/messages/interfaces.hpp"

namespace orch {

/// A detached one-shot actor: hash_atom(password) -> PHC string,
/// verify_atom(phc, password) -> matches.
credentials_actor spawn_credentials(caf::local_actor* parent);

} // namespace orch
