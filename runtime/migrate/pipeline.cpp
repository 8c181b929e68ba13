#include "runtime/migrate/pipeline.hpp"

#include <set>

#include "caf/all.hpp"

#include "runtime/migrate/stages.hpp"

namespace orch::migration {

size_t max_records_in_flight(size_t batch_size) {
  // The source's scanned batch, then stage and sink, each holding or owed
  // at most its credit limit.
  return batch_size + 2 * (credit_limit(batch_size) + caf::inbound_path::initial_credit);
}

result<pipeline_report> run_pipeline(caf::actor_system& sys, pipeline_config cfg) {
  caf::scoped_actor self{sys};
  auto coordinator = caf::actor_cast<caf::actor>(self);
  // Each gets a copy of what it needs; the filter is the stage's, the
  // journal the sink's.
  auto for_source = cfg, for_stage = cfg, for_sink = cfg;
  for_source.filter = nullptr;
  for_source.journal = nullptr;
  for_stage.journal = nullptr;
  for_sink.filter = nullptr;
  auto src = spawn_source(sys, for_source, coordinator);
  auto stg = spawn_stage(sys, for_stage, coordinator);
  auto snk = spawn_sink(sys, for_sink, coordinator);
  std::set<caf::actor_addr> running{src.address(), stg.address(), snk.address()};
  for (auto a : {caf::actor_cast<caf::actor>(src), caf::actor_cast<caf::actor>(stg),
                 caf::actor_cast<caf::actor>(snk)})
    self->monitor(a);
  auto pipeline = snk * stg * src;
  self->send(pipeline, caf::open_atom_v);
  std::optional<status> outcome;
  pipeline_report report;
  auto note_seconds = [&](const std::vector<double>& seconds) {
    for (size_t k = 0; k < seconds.size() && k < all_record_kinds.size(); ++k)
      if (seconds[k] > 0)
        report.seconds[static_cast<record_kind>(k)] = seconds[k];
  };
  // The first report decides; a part that ends before any report failed.
  while (!outcome)
    self->receive(
      [&](done_atom, const std::string& error) {
        outcome = error.empty() ? status{} : status{errc::internal, error};
      },
      [&](done_atom, const std::string& error, const std::vector<double>& seconds) {
        note_seconds(seconds);
        outcome = error.empty() ? status{} : status{errc::internal, error};
      },
      [&](caf::down_msg& dm) {
        running.erase(dm.source);
        if (dm.reason && dm.reason != caf::exit_reason::normal)
          outcome = status{errc::internal,
                           "a stage of the migration failed: " + caf::to_string(dm.reason)};
      });
  // Stop them all (a stuck stage obeys only kill), then wait until each has
  // ended: the sink waits for its write in flight as it ends, so after this
  // nothing more reaches the target and a rollback may begin.
  for (auto a : {caf::actor_cast<caf::actor>(src), caf::actor_cast<caf::actor>(stg),
                 caf::actor_cast<caf::actor>(snk)})
    caf::anon_send_exit(a, caf::exit_reason::kill);
  while (!running.empty())
    self->receive([&](caf::down_msg& dm) { running.erase(dm.source); },
                  [&](done_atom, const std::string&) {},
                  [&](done_atom, const std::string&, const std::vector<double>& seconds) {
                    note_seconds(seconds);
                  });
  if (!*outcome)
    return *outcome;
  return report;
}

} // namespace orch::migration
