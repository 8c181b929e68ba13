// A record file as the filesystem backend finds it on disk (a task, queue
// entry or user file; the first byte picks the kind), and any stored
// record's text: storage's streaming scanner and the codec's full decoder
// must agree on every input, accepting the same records with the same key,
// and the fast canonical form must be the one a full parse writes.
#include "tests/fuzz/fuzz_target.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/canonical_text.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/query_match.hpp"
#include "runtime/core/record_scan.hpp"

namespace {

template <class T>
orch::status decode_as(std::string_view text, std::string& key) {
  T x;
  auto st = orch::decode(text, x);
  if (st)
    key = orch::to_record(x).key;
  return st;
}

orch::status decode_kind(orch::record_kind k, std::string_view text, std::string& key) {
  switch (k) {
    case orch::record_kind::task: return decode_as<orch::task>(text, key);
    case orch::record_kind::queue: return decode_as<orch::queue_entry>(text, key);
    case orch::record_kind::user: return decode_as<orch::user>(text, key);
    case orch::record_kind::audit: return decode_as<orch::audit_record>(text, key);
    case orch::record_kind::metric: return decode_as<orch::metric_sample>(text, key);
    case orch::record_kind::event: return decode_as<orch::task_event>(text, key);
    case orch::record_kind::schedule: return decode_as<orch::schedule>(text, key);
    case orch::record_kind::workflow: return decode_as<orch::workflow>(text, key);
  }
  return {};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto kind = orch::all_record_kinds[fuzz::pick(data, size, orch::all_record_kinds.size())];
  auto text = fuzz::as_text(data, size);
  orch::record_summary sum;
  auto scanned = orch::scan_record(kind, text, sum);
  std::string key;
  auto decoded = decode_kind(kind, text, key);
  if (static_cast<bool>(scanned) != static_cast<bool>(decoded))
    fuzz::fail(std::string{"scanner and decoder disagree on a "} + orch::to_string(kind)
               + " record: scanner " + (scanned ? "accepts" : scanned.message()) + ", decoder "
               + (decoded ? "accepts" : decoded.message()));
  if (scanned && sum.key != key)
    fuzz::fail("scanner and decoder read different keys: '" + sum.key + "' and '" + key + "'");
  std::string fast;
  if (orch::canonical_from_text(text, fast)) {
    auto full = nlohmann::json::parse(text, nullptr, false);
    if (full.is_discarded())
      fuzz::fail("canonical_from_text accepted text that is not JSON");
    if (orch::canonical(full) != fast)
      fuzz::fail("canonical_from_text differs from a full parse:\n" + fast + "\n"
                 + orch::canonical(full));
  }
  orch::record_query q;
  q.kind = kind;
  q.field = "status";
  q.value = "Queued";
  q.since = 1;
  (void) orch::matches(q, text);
  (void) orch::record_time(kind, text);
  return 0;
}
