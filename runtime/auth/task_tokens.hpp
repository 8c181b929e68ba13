// The token a running task is given (ORCHESTRATOR_TOKEN in its environment),
// limited to submitting, reading, waiting for and cancelling its own child
// tasks: "task:<task id>:<attempt>:<HMAC-SHA256(key, id:attempt) in hex>".
// Nothing is stored for it: the orchestrator that starts an attempt signs
// its id and number with a key (random at start-up, or --task-token-key-file
// to share it between instances behind one address and across restarts),
// and a request with it is let in while that task is Running that attempt,
// so the token ends with the attempt, and a retry gets another.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace orch::auth {

/// Bytes of a task-token key.
inline constexpr size_t task_token_key_bytes = 32;

struct task_token {
  std::string task_id;
  uint32_t attempt = 0;
  std::string mac;                           // 64 lower-case hex digits
};

/// The token of the attempt, signed with `key`.
std::string task_token_text(std::string_view key, const std::string& task_id, uint32_t attempt);

/// Is `text` shaped as a task token ("task:" + id + ":" + attempt + ":" + mac)?
/// Says nothing of its signature: see task_token_signed.
bool parse_task_token(std::string_view text, task_token& out);

/// Was the token signed with `key`? Compared in constant time.
bool task_token_signed(std::string_view key, const task_token& t);

/// The name a task's token acts under in audit records: "task:<id>".
std::string task_principal(const std::string& task_id);

} // namespace orch::auth
