#include "actors/credentials.hpp"

#include "caf/all.hpp"

#include "runtime/auth/passwords.hpp"

namespace orch {

namespace {

credentials_actor::behavior_type one_shot(credentials_actor::pointer self) {
  return {
    [=](hash_atom, const std::string& password) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      rp.deliver(auth::hash_password(password));
      self->quit();
      return rp;
    },
    [=](verify_atom, const std::string& phc, const std::string& password) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      rp.deliver(auth::verify_password(phc, password));
      self->quit();
      return rp;
    },
  };
}

} // namespace

credentials_actor spawn_credentials(caf::local_actor* parent) {
  return parent->spawn<caf::detached>(one_shot);
}

} // namespace orch
