// Reading the one record a route names (a schedule, a workflow) and
// decoding it, or answering for the route: 404 with its own words when it
// does not exist, 500 when it cannot be read, 503 when storage does not
// answer.
#pragma once

#include <string>

#include "actors/api/context.hpp"
#include "actors/api/envelope.hpp"
#include "actors/api/reply.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/schema.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

/// Reads record `key` of T's kind, then f(T); `missing` is the answer when
/// there is none.
template <class T, class F>
void with_record(const context& ctx, std::string key, reply rp, http_response missing, F f) {
  ctx.ask_storage(caf::get_atom_v, schema::of<T>::kind, key)
    .then(guarded("gateway",
                  [=](const record& r) mutable {
                    T x;
                    if (auto st = decode(r.json, x); !st)
                      return rp.deliver(internal_error(std::string{schema::of<T>::described} + " "
                                                       + key + " cannot be read: " + st.message()));
                    f(std::move(x));
                  }),
          [=](caf::error& e) mutable {
            rp.deliver(error_code(e) == errc::not_found ? missing : from_error(e));
          });
}

} // namespace orch::api
