// The pipeline's three actors (pipeline.hpp), their typed interfaces, and
// the credit cap they share. Internal to runtime/migrate/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/stream.hpp"
#include "caf/typed_actor.hpp"

#include "runtime/migrate/pipeline.hpp"

namespace orch::migration {

/// Scans the source, kind by kind, and streams what it reads.
using source_actor =
  caf::typed_actor<caf::replies_to<caf::open_atom>::with<caf::stream<record>>>;

/// Filters, validates and counts.
using stage_actor =
  caf::typed_actor<caf::replies_to<caf::stream<record>>::with<caf::stream<record>>>;

/// Writes to the target in journalled batches.
using sink_actor = caf::typed_actor<caf::reacts_to<caf::stream<record>>>;

/// Each reports its end once to `coordinator` as (done_atom, error) - the
/// sink also with the seconds spent per kind (a vector indexed by kind) -
/// error "" when it finished well.
source_actor spawn_source(caf::actor_system& sys, const pipeline_config& cfg,
                          caf::actor coordinator);
stage_actor spawn_stage(caf::actor_system& sys, const pipeline_config& cfg,
                        caf::actor coordinator);
sink_actor spawn_sink(caf::actor_system& sys, const pipeline_config& cfg, caf::actor coordinator);

/// CAF 0.17 sizes a path's credit by measured processing time alone, so a fast
/// stage in front of a slow sink would pull the whole source into its output
/// buffer (measured: 500k records read in 2 s while the sink had 60k, and a
/// peak RSS that grew with the data). This caps what one actor has asked for
/// and not yet received, plus what it still holds, at `limit` records.
class credit_cap {
public:
  explicit credit_cap(size_t limit) : limit_(static_cast<int64_t>(limit)) {}

  int32_t grant(int32_t desired, size_t held) {
    auto outstanding = std::max<int64_t>(0, granted_ - received_);
    auto room = limit_ - outstanding - static_cast<int64_t>(held);
    auto n = static_cast<int32_t>(std::clamp<int64_t>(room, 0, desired));
    granted_ += n;
    return n;
  }

  void received(size_t n) { received_ += static_cast<int64_t>(n); }

private:
  int64_t limit_;
  int64_t granted_ = 0;
  int64_t received_ = 0;
};

/// What each of stage and sink may hold or have asked for: four batches (two
/// allowed half the throughput: credit comes in rounds), at least 2000 records.
inline size_t credit_limit(size_t batch_size) {
  return std::max<size_t>(4 * batch_size, 2000);
}

} // namespace orch::migration
