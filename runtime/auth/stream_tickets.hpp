// One-time tickets for streams a browser opens: EventSource and WebSocket
// cannot send an Authorization header, so a signed-in client asks for a
// ticket (POST /auth/stream-ticket, with its bearer token) and puts it in
// the stream's URL (`?ticket=`). A ticket is 256 random bits, good for one
// stream within its lifetime, then spent: a URL that reaches a log or a
// proxy is worth nothing after. Kept in memory by the process that issued
// it. Pure apart from the random bytes: the caller passes the time.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "runtime/auth/tokens.hpp"
#include "runtime/core/clock.hpp"

namespace orch::auth {

template <class Holder>
class stream_tickets {
public:
  explicit stream_tickets(size_t max_outstanding = 10000) : max_(max_outstanding) {}

  /// A new ticket for `who`, good until now + ttl; nothing if `max_outstanding`
  /// tickets are still unspent and unexpired.
  std::optional<std::string> issue(Holder who, micros now, micros ttl) {
    if (book_.size() >= max_)
      forget_expired(now);
    if (book_.size() >= max_)
      return std::nullopt;
    auto ticket = to_hex(random_bytes(32));
    book_.emplace(ticket, entry{std::move(who), now + ttl});
    return ticket;
  }

  /// Who the ticket was issued to, once: the first use spends it. Nothing
  /// if it is unknown, spent or expired.
  std::optional<Holder> redeem(const std::string& ticket, micros now) {
    auto i = book_.find(ticket);
    if (i == book_.end())
      return std::nullopt;
    auto e = std::move(i->second);
    book_.erase(i);
    if (e.expires <= now)
      return std::nullopt;
    return std::move(e.who);
  }

  size_t outstanding() const { return book_.size(); }

private:
  struct entry {
    Holder who;
    micros expires = 0;
  };
  void forget_expired(micros now) {
    for (auto i = book_.begin(); i != book_.end();)
      i = i->second.expires <= now ? book_.erase(i) : std::next(i);
  }

  size_t max_;
  std::map<std::string, entry> book_;
};

} // namespace orch::auth
