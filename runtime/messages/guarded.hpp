// An exception thrown in a CAF 0.17 handler ends the actor (the exception
// handler only picks the exit reason), and with it every request it was
// serving. guarded(who, handler) returns a handler of the same signature
// that catches what the handler throws: a request handler answers with
// errc::internal and the exception's text, any other handler logs it; the
// actor goes on either way. Long-lived actors wrap their handlers, and the
// response handlers of their requests, in it.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "caf/detail/type_traits.hpp"
#include "caf/result.hpp"

#include "runtime/core/log.hpp"
#include "runtime/messages/types.hpp"

namespace orch {

namespace detail {

template <class R>
struct is_caf_result : std::false_type {};
template <class... Ts>
struct is_caf_result<caf::result<Ts...>> : std::true_type {};

/// What a handler returning R gives back when it threw `what`.
template <class R>
R after_exception(const char* who, const std::string& what) {
  log_error(who, "a request failed on an unexpected error: " + what);
  if constexpr (std::is_void_v<R>) {
    return;
  } else {
    static_assert(is_caf_result<R>::value,
                  "guarded() handlers return void or caf::result<...>");
    return make_error(errc::internal, "internal error in the " + std::string{who} + ": " + what);
  }
}

template <class F, class... Ts>
auto guard_with(const char* who, F f, caf::detail::type_list<Ts...>) {
  using R = decltype(f(std::declval<Ts>()...));
  return [who, f = std::move(f)](Ts... xs) mutable -> R {
    try {
      return f(std::forward<Ts>(xs)...);
    } catch (const std::exception& e) {
      return after_exception<R>(who, e.what());
    } catch (...) {
      return after_exception<R>(who, "an unknown exception");
    }
  };
}

} // namespace detail

/// `handler` with the same signature, catching what it throws (see above).
/// `who` names the actor in the log and in the error.
template <class F>
auto guarded(const char* who, F handler) {
  using trait = caf::detail::get_callable_trait<F>;
  return detail::guard_with(who, std::move(handler), typename trait::arg_types{});
}

} // namespace orch
