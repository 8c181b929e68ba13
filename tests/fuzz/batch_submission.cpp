// The body of POST /tasks/batch: parse_batch_submission() must answer every
// byte sequence with a whole batch or with reasons (for the body, or for
// items by index), and a batch it accepts must be one the scheduler can store
// in order: at most max_batch_tasks tasks, unique ids, every dependency on a
// task of the batch pointing backwards.
#include "tests/fuzz/fuzz_target.hpp"

#include <map>

#include "runtime/core/batch_submission.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto b = orch::parse_batch_submission(fuzz::as_text(data, size));
  if (!b.problem) {
    if (b.problem.message().empty())
      fuzz::fail("a batch was refused without a message");
    return 0;
  }
  size_t last = 0;
  for (auto& e : b.errors) {
    if (e.message.empty())
      fuzz::fail("an item was refused without a message");
    if (e.index >= orch::max_batch_tasks || e.index < last)
      fuzz::fail("item errors out of range or out of order at index " + std::to_string(e.index));
    last = e.index;
  }
  if (!b.errors.empty())
    return 0;
  if (b.tasks.empty() || b.tasks.size() > orch::max_batch_tasks)
    fuzz::fail("an accepted batch holds " + std::to_string(b.tasks.size()) + " tasks");
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < b.tasks.size(); ++i)
    if (!b.tasks[i].id.empty() && !position.emplace(b.tasks[i].id, i).second)
      fuzz::fail("an accepted batch repeats id " + b.tasks[i].id);
  for (size_t i = 0; i < b.tasks.size(); ++i)
    for (auto& d : b.tasks[i].dependencies)
      if (auto p = position.find(d); p != position.end() && p->second >= i)
        fuzz::fail("an accepted batch has a dependency pointing forwards at " + d);
  return 0;
}
