// Passwords, bearer tokens, the sessions kept in user records, roles.
#include <catch2/catch.hpp>

#include "runtime/auth/passwords.hpp"
#include "runtime/auth/roles.hpp"
#include "runtime/auth/sessions.hpp"
#include "runtime/auth/task_tokens.hpp"
#include "runtime/auth/tokens.hpp"
#include "runtime/auth/user_changes.hpp"
#include "runtime/core/codec.hpp"

using namespace orch;
using namespace orch::auth;

TEST_CASE("auth: an Argon2id hash keeps its parameters and checks only its password", "[auth]") {
  auto phc = hash_password("correct horse battery");
  CHECK(phc.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK(verify_password(phc, "correct horse battery"));
  CHECK_FALSE(verify_password(phc, "correct horse batterz"));
  CHECK_FALSE(verify_password(phc, ""));
  // Fresh salt: the same password never gives the same string.
  CHECK(hash_password("correct horse battery") != phc);
  // A hash made with other parameters is checked with its own.
  auto cheaper = hash_password("pw-with-other-cost", {8192, 1, 1});
  CHECK(cheaper.find("m=8192,t=1,p=1") != std::string::npos);
  CHECK(verify_password(cheaper, "pw-with-other-cost"));
  for (std::string bad : {"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                          "$argon2id$v=19$m=1,t=1,p=1$$", "$argon2id$garbage"})
    CHECK_FALSE(verify_password(bad, "anything"));
}

TEST_CASE("auth: password rules say what is wrong without repeating it", "[auth]") {
  CHECK(password_problem("12345678").empty());
  CHECK(password_problem("short").find("at least 8") != std::string::npos);
  CHECK(password_problem(std::string(2000, 'x')).find("at most 1024") != std::string::npos);
  CHECK(password_problem(std::string("abcdefgh\0ij", 11)).find("NUL") != std::string::npos);
  CHECK(password_problem("short").find("short\"") == std::string::npos);
}

TEST_CASE("auth: a bearer token names its user and session and nothing else parses", "[auth]") {
  auto t = new_token("alice.smith-2");
  auto text = token_text(t);
  token_parts back;
  REQUIRE(parse_token(text, back));
  CHECK(back.username == "alice.smith-2");
  CHECK(back.session_id == t.session_id);
  CHECK(back.secret == t.secret);
  CHECK(t.secret.size() == 64);
  CHECK(new_token("alice").secret != new_token("alice").secret);
  for (std::string bad : std::vector<std::string>{"", ".", "..", "YWxpY2U..", "YWxpY2U.0123456789abcdef",
                          "YWxpY2U.0123456789abcdef.short", "!!!.0123456789abcdef." + t.secret,
                          "YWxpY2U.0123456789ABCDEF." + t.secret,
                          "Li4vZXRj.0123456789abcdef." + t.secret /* "../etc" */,
                          "YWxpY2T.0123456789abcdef." + t.secret /* "alice", spelt twice */})
    CHECK_FALSE(parse_token(bad, back));
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
}

TEST_CASE("auth: a task token is signed for one task and attempt, and no other text parses as "
          "one", "[auth]") {
  auto key = random_bytes(task_token_key_bytes);
  const std::string id = "0190b6c4-2f2a-7c3e-8a1b-3f4e5d6c7b8a";
  auto text = task_token_text(key, id, 3);
  task_token t;
  REQUIRE(parse_task_token(text, t));
  CHECK(t.task_id == id);
  CHECK(t.attempt == 3);
  CHECK(task_token_signed(key, t));
  CHECK_FALSE(task_token_signed(random_bytes(task_token_key_bytes), t));
  CHECK_FALSE(task_token_signed("", t));
  // The signature covers the id and the attempt: neither can be changed.
  auto later = t;
  later.attempt = 4;
  CHECK_FALSE(task_token_signed(key, later));
  auto other = t;
  other.task_id[0] = '1';
  CHECK_FALSE(task_token_signed(key, other));
  CHECK(task_token_text(key, id, 3) == text);
  CHECK(task_principal(id) == "task:" + id);
  for (const std::string& bad : std::vector<std::string>{"", "task:", "task:" + id, "task:" + id + ":3",
                          "task:" + id + ":x:" + t.mac, "task:" + id + ":-1:" + t.mac,
                          "task:" + id + "::" + t.mac, "task:nope:3:" + t.mac,
                          "task:" + id + ":3:" + t.mac.substr(1), "Task:" + id + ":3:" + t.mac,
                          text + "0"})
    CHECK_FALSE(parse_task_token(bad, t));
  // A user's token is not a task's, nor the other way round.
  token_parts u;
  CHECK_FALSE(parse_token(text, u));
  CHECK_FALSE(parse_task_token(token_text(new_token("alice")), t));
}

TEST_CASE("auth: sessions in a user record are checked - expire - end and are capped", "[auth]") {
  user u;
  u.username = "bob";
  micros now = 1'000'000'000;
  auto t = new_token("bob");
  session_entry e{now, now + 60 * us_per_second, sha256_hex(t.secret), {}};
  add_session(u, t.session_id, e, now);
  CHECK(check_token(u, t, now + 1).empty());
  auto wrong = t;
  wrong.secret[0] = wrong.secret[0] == 'a' ? 'b' : 'a';
  CHECK(check_token(u, wrong, now + 1).find("does not match") != std::string::npos);
  CHECK(check_token(u, t, now + 61 * us_per_second).find("expired") != std::string::npos);
  u.disabled = true;
  CHECK(check_token(u, t, now + 1).find("disabled") != std::string::npos);
  u.disabled = false;

  // A named token outlives a password change; a sign-in does not.
  auto named = new_token("bob");
  add_session(u, named.session_id, {now, 0, sha256_hex(named.secret), "ci"}, now);
  CHECK(named_token_id(u, "ci") == named.session_id);
  end_logins(u);
  CHECK_FALSE(check_token(u, t, now + 1).empty());
  CHECK(check_token(u, named, now + 365LL * 86400 * us_per_second).empty());
  CHECK(end_session(u, named.session_id));
  CHECK_FALSE(end_session(u, named.session_id));

  // Past the cap the oldest sign-ins end; expired ones are dropped on the way.
  user many;
  many.username = "many";
  std::vector<token_parts> tokens;
  for (size_t i = 0; i < max_login_sessions + 5; ++i) {
    tokens.push_back(new_token("many"));
    add_session(many, tokens.back().session_id,
                {now + static_cast<micros>(i), now + us_per_second, sha256_hex(tokens.back().secret), {}},
                now);
  }
  CHECK(many.sessions.size() == max_login_sessions);
  CHECK_FALSE(check_token(many, tokens.front(), now).empty());
  CHECK(check_token(many, tokens.back(), now).empty());
  add_session(many, new_token("many").session_id, {now, now + 10 * us_per_second, sha256_hex("x"), {}},
              now + 2 * us_per_second);
  CHECK(many.sessions.size() == 1);

  // What the API shows of a user holds no hash at all.
  auto shown = public_json(u, now);
  CHECK(shown.find("sha") == std::string::npos);
  CHECK(shown.find(sha256_hex(t.secret)) == std::string::npos);
  CHECK(shown.find("password") == std::string::npos);
}

TEST_CASE("auth: roles parse - describe and check their names", "[auth]") {
  CHECK(roles_of({"admin", "viewer", "nonsense"}) == (bit(role::admin) | bit(role::viewer)));
  CHECK(describe(bit(role::operator_) | bit(role::worker)) == "operator, worker");
  CHECK(describe(0) == "none");
  CHECK(check_role_names({"operator"}).empty());
  CHECK(check_role_names({}).find("at least one") != std::string::npos);
  CHECK(check_role_names({"root"}).find("unknown role 'root'") != std::string::npos);
}

TEST_CASE("auth: a user change is revision-checked and audited in the same batch", "[auth]") {
  user u;
  u.username = "carol";
  u.password_hash = "$argon2id$x";
  u.roles = {"viewer"};
  auto created = create_user(u, {"cli:root", 42});
  REQUIRE(created.expect.size() == 1);
  CHECK(created.expect[0].check == precondition::absent);
  REQUIRE(created.ops.size() == 2);
  CHECK(created.ops[1].rec.kind == record_kind::audit);
  auto audit = decode<audit_record>(created.ops[1].rec.json);
  REQUIRE(audit);
  CHECK(audit->principal == "cli:root");
  CHECK(audit->action == "user.create");
  CHECK(audit->target == "user:carol");
  CHECK(audit->details.find("argon") == std::string::npos);

  u.revision = 7;
  auto changed = update_user(u, "user.roles", "roles=admin", {"alice", 43});
  CHECK(u.revision == 8);
  REQUIRE(changed.expect.size() == 1);
  CHECK(changed.expect[0].check == precondition::field_in);
  CHECK(changed.expect[0].field == "revision");
  CHECK(changed.expect[0].values == std::vector<std::string>{"7"});
  auto stored = decode<user>(changed.ops[0].rec.json);
  REQUIRE(stored);
  CHECK(stored->revision == 8);
  CHECK(stored->updated_at == 43);
}
