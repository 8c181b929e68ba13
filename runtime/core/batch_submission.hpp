// The decoder of a bulk submission (the body of POST /tasks/batch):
// {"tasks": [<submission>, ...]}, each item held to the rules of a single
// POST /tasks (submission.hpp), decided all-or-nothing so a client never has
// to find out which half of its batch was stored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.hpp"
#include "runtime/core/task.hpp"

namespace orch {

/// Most tasks one batch may carry: enough to amortise a durable commit,
/// few enough that one commit stays a short pause for everything else.
inline constexpr size_t max_batch_tasks = 1000;

struct batch_item_error {
  size_t index = 0;                          // position in "tasks", from 0
  std::string message;
};

struct batch_submission {
  std::vector<task> tasks;                   // all valid, in the body's order
  status problem;                            // the body as a whole is wrong
  std::vector<batch_item_error> errors;      // these items are wrong
  bool ok() const { return problem && errors.empty(); }
};

/// Decodes and checks a batch. Beyond each item's own rules: ids given by the
/// client are unique in the batch, and a dependency on another task of the
/// same batch points at an earlier item (so a batch cannot hold a cycle and
/// is stored in an order in which every dependency exists). Dependencies on
/// tasks outside the batch are checked by the scheduler against storage.
batch_submission parse_batch_submission(std::string_view body);

} // namespace orch
