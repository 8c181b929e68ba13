// What a client puts in `Authorization: Bearer ...` and what a user record's
// sessions hold: parse_token() must refuse every string it could not have
// made, and accept its own tokens unchanged; a session entry is read back as
// written; check_token() answers every token against every record without
// crashing, and lets in only the token whose secret was stored.
#include "tests/fuzz/fuzz_target.hpp"

#include "runtime/auth/sessions.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/core/ids.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::as_text(data, size);
  orch::auth::token_parts t;
  if (orch::auth::parse_token(text, t)) {
    if (!orch::is_valid_username(t.username))
      fuzz::fail("a token with an invalid username was accepted");
    if (orch::auth::token_text(t) != text)
      fuzz::fail("an accepted token does not read back as itself");
    // A user whose record holds a session with this id but another secret.
    orch::user u;
    u.username = t.username;
    orch::auth::add_session(u, t.session_id, {1, 0, orch::auth::sha256_hex("other"), {}}, 1);
    if (orch::auth::check_token(u, t, 2).empty() && t.secret != "other")
      fuzz::fail("a token was let in with a secret that was not stored");
    u.sessions[t.session_id] =
      orch::auth::entry_text({1, 0, orch::auth::sha256_hex(t.secret), {}});
    if (!orch::auth::check_token(u, t, 2).empty())
      fuzz::fail("the token whose secret was stored is refused");
  }
  // The same bytes as a stored session entry (a hand-edited or corrupted file).
  orch::auth::session_entry e;
  std::string stored{text};
  if (orch::auth::read_entry(stored, e)) {
    orch::auth::session_entry back;
    if (!orch::auth::read_entry(orch::auth::entry_text(e), back) || back.created != e.created
        || back.expires != e.expires || back.secret_hash != e.secret_hash || back.name != e.name)
      fuzz::fail("a session entry does not read back as written: " + stored);
  }
  orch::user u;
  u.username = "fuzz";
  u.sessions["0123456789abcdef"] = stored;
  orch::auth::token_parts probe{"fuzz", "0123456789abcdef", std::string(64, 'a')};
  (void) orch::auth::check_token(u, probe, 5);
  (void) orch::auth::public_json(u, 5);
  return 0;
}
