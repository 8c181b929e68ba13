// The key that signs the tokens of running tasks (runtime/auth/task_tokens.hpp):
// random for this process, or read from --task-token-key-file, made there
// (owner-only, 64 hex digits) when the file does not exist yet. Instances
// behind one --public-url share the file, so each accepts the others' tasks.
#pragma once

#include <string>

#include "runtime/core/status.hpp"

namespace orch {

/// The key: the file's text without surrounding white space (at least 32
/// characters), or 32 random bytes when `path` is "". An unreadable or short
/// file is an error that says so.
result<std::string> load_task_token_key(const std::string& path);

} // namespace orch
