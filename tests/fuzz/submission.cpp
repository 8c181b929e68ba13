// The body of POST /tasks: parse_submission() must answer every byte
// sequence with a task or a message, and a task it accepts must be one the
// codec writes and reads back unchanged, and one storage's scanner accepts.
#include "tests/fuzz/fuzz_target.hpp"

#include "runtime/core/codec.hpp"
#include "runtime/core/record_scan.hpp"
#include "runtime/core/submission.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = orch::parse_submission(fuzz::as_text(data, size));
  if (!t) {
    if (t.message().empty())
      fuzz::fail("a submission was refused without a message");
    return 0;
  }
  // What the scheduler adds before storing it.
  if (t->id.empty())
    t->id = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
  t->created_at = 1764547200000000;
  auto text = orch::encode(*t);
  orch::task back;
  if (auto st = orch::decode(text, back); !st)
    fuzz::fail("an accepted submission does not decode once stored: " + st.message() + "\n" + text);
  if (orch::encode(back) != text)
    fuzz::fail("an accepted submission changes when stored and read back:\n" + text + "\n"
               + orch::encode(back));
  orch::record_summary sum;
  if (auto st = orch::scan_record(orch::record_kind::task, text, sum); !st)
    fuzz::fail("storage's scanner refuses an accepted submission: " + st.message() + "\n" + text);
  if (sum.key != t->id || sum.dependencies != t->dependencies)
    fuzz::fail("storage's scanner reads an accepted submission differently:\n" + text);
  return 0;
}
