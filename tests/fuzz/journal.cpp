// A migration journal as found after anything (a crash mid-append, a file
// that is not a journal): read_journal's parser must say what it holds or
// why it is not a journal, and never crash; what comes before a header is
// nothing.
#include "tests/fuzz/fuzz_target.hpp"

#include "runtime/migrate/journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto st = orch::migration::parse_journal(fuzz::as_text(data, size), "fuzz.journal");
  if (!st) {
    if (st.code() != orch::errc::invalid || st.message().find("fuzz.journal") == std::string::npos)
      fuzz::fail("a journal was refused without naming it: " + st.message());
    return 0;
  }
  if (!st->exists && (st->done || st->rolled_back || !st->touched.empty()))
    fuzz::fail("a journal without a header says something happened");
  return 0;
}
