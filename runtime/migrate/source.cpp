// The pipeline's source: scans the source backend kind by kind in key order,
// a batch at a time (blocking: it runs detached), and streams the records.
#include "caf/all.hpp"

#include "backends/storage_client.hpp"
#include "runtime/migrate/stages.hpp"

namespace orch::migration {

namespace {

/// Where the scan is: the kind, the last key read, the batch being sent.
struct scan_position {
  size_t kind_index = 0;
  std::string cursor;
  std::vector<record> buffer;
  size_t pos = 0;
  bool finished = false;
  bool started = false;
};

struct source_config {
  storage_actor source;
  std::vector<record_kind> order;
  std::map<record_kind, std::string> resume_after;
  uint32_t batch_size = 500;
  std::shared_ptr<counters> counts;
  caf::actor coordinator;
};

/// How many records are read but neither filtered out nor at the sink: the
/// backpressure the pipeline promises, observed (reported by --verbose).
void sample_in_flight(counters& c) {
  auto in_flight = c.read_total() - c.skipped_total() - c.delivered;
  for (auto seen = c.max_in_flight.load();
       in_flight > seen && !c.max_in_flight.compare_exchange_weak(seen, in_flight);) {
  }
}

/// Fills the buffer with the next batch (a blocking scan); false once done
/// or failed (then the coordinator has been told).
bool refill(caf::actor_system& sys, const source_config& cfg, scan_position& at) {
  while (at.kind_index < cfg.order.size()) {
    auto kind = cfg.order[at.kind_index];
    if (!at.started) {
      at.started = true;
      auto r = cfg.resume_after.find(kind);
      at.cursor = r == cfg.resume_after.end() ? std::string{} : r->second;
      cfg.counts->current_kind = static_cast<int>(kind);
    }
    auto batch = storage_client{sys, cfg.source}.scan(kind, at.cursor, cfg.batch_size);
    if (!batch) {
      caf::anon_send(cfg.coordinator, done_atom_v,
                     "reading " + std::string{to_string(kind)} + " from the source failed: "
                       + batch.message());
      at.finished = true;
      return false;
    }
    if (batch->empty()) {  // this kind is done
      ++at.kind_index;
      at.started = false;
      continue;
    }
    at.cursor = batch->back().key;
    cfg.counts->read[static_cast<size_t>(kind)] += batch->size();
    sample_in_flight(*cfg.counts);
    at.buffer = std::move(*batch);
    at.pos = 0;
    return true;
  }
  at.finished = true;
  return false;
}

source_actor::behavior_type source_fn(source_actor::pointer self, source_config cfg) {
  return {
    [=](caf::open_atom) -> caf::result<caf::stream<record>> {
      return caf::attach_stream_source(
        self, [](scan_position&) {},
        [=](scan_position& at, caf::downstream<record>& out, size_t hint) {
          for (size_t n = 0; n < hint && !at.finished; ++n) {
            if (at.pos == at.buffer.size() && !refill(self->system(), cfg, at))
              break;
            out.push(std::move(at.buffer[at.pos++]));
          }
        },
        [](const scan_position& at) { return at.finished; },
        [](scan_position&, const caf::error&) {});
    },
  };
}

} // namespace

source_actor spawn_source(caf::actor_system& sys, const pipeline_config& cfg,
                          caf::actor coordinator) {
  source_config sc{cfg.source, cfg.order, cfg.resume_after, cfg.batch_size, cfg.counts,
                   std::move(coordinator)};
  return sys.spawn<caf::detached>(source_fn, std::move(sc));
}

} // namespace orch::migration
