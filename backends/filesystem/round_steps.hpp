// The steps of a filesystem group commit's disk protocol, and a hook a test
// sets to end the process at one of them (as kill -9 would) and then check
// that a restart finds the round wholly there or wholly absent. Unset, as in
// the orchestrator, it costs one atomic load per step.
#pragma once

namespace orch::fs {

enum class round_step {
  committed,       // its block in the commit log is durable; nothing else written yet
  half_published,  // the first of its files in place (rounds with two or more)
  published,       // every file, deletion and segment line written; nothing fsynced
};

using round_step_hook = void (*)(round_step);

/// Test-only: `hook` is called at every step of every round (nullptr: none).
void set_round_step_hook(round_step_hook hook);

} // namespace orch::fs
