// The pipeline's stage: lets through what the filter chooses, refuses
// records that are not valid (the source is damaged: better to stop than to
// copy garbage), and counts what it skipped.
#include "caf/all.hpp"

#include "backends/storage_client.hpp"
#include "runtime/core/record_scan.hpp"
#include "runtime/migrate/stages.hpp"

namespace orch::migration {

namespace {

class stage_driver final
  : public caf::stream_stage_driver<record, caf::broadcast_downstream_manager<record>> {
public:
  stage_driver(caf::broadcast_downstream_manager<record>& out, std::shared_ptr<record_filter> filter,
               std::shared_ptr<counters> counts, size_t batch_size, caf::actor coordinator)
    : stream_stage_driver(out),
      filter_(std::move(filter)),
      counts_(std::move(counts)),
      cap_(credit_limit(batch_size)),
      coordinator_(std::move(coordinator)) {}

  void process(caf::downstream<record>& out, std::vector<record>& xs) override {
    cap_.received(xs.size());
    for (auto& r : xs) {
      if (failed_)
        return;
      auto k = static_cast<size_t>(r.kind);
      // One scan serves the filter and the check.
      record_summary sum;
      auto scanned = scan_record(r.kind, r.json, sum);
      if (!filter_->include(r, sum, scanned.ok())) {
        ++counts_->skipped[k];
        continue;
      }
      if (!scanned || sum.key != r.key) {
        failed_ = true;
        caf::anon_send(coordinator_, done_atom_v,
                       "the source holds an invalid " + std::string{to_string(r.kind)} + " record "
                         + r.key + ": "
                         + (scanned ? "its key does not match its content" : scanned.message())
                         + "; nothing of it was written. Repair or remove it, or leave its kind "
                           "out with --kinds");
        return;
      }
      out.push(std::move(r));
    }
  }

  int32_t acquire_credit(caf::inbound_path*, int32_t desired) override {
    return cap_.grant(desired, out_.buffered());
  }

private:
  std::shared_ptr<record_filter> filter_;
  std::shared_ptr<counters> counts_;
  credit_cap cap_;
  caf::actor coordinator_;
  bool failed_ = false;
};

stage_actor::behavior_type stage_fn(stage_actor::pointer self, pipeline_config cfg,
                                    caf::actor coordinator) {
  // Tasks the filter has not seen are looked up in the source (blocking: the
  // stage runs detached).
  cfg.filter->set_task_lookup([sys = &self->system(), source = cfg.source](const std::string& id) {
    auto t = storage_client{*sys, source}.get(record_kind::task, id);
    return t ? t->json : std::string{};
  });
  return {
    [=](caf::stream<record> in) -> caf::result<caf::stream<record>> {
      // Spelled out: attach_stream_stage<Driver> collides with its overload
      // for callbacks in CAF 0.17.
      auto mgr = caf::detail::make_stream_stage<stage_driver>(self, cfg.filter, cfg.counts,
                                                              cfg.batch_size, coordinator);
      auto in_slot = mgr->add_inbound_path(in);
      auto out_slot = mgr->add_outbound_path();
      return caf::make_stage_result_t<record, caf::broadcast_downstream_manager<record>>{
        in_slot, out_slot, std::move(mgr)};
    },
  };
}

} // namespace

stage_actor spawn_stage(caf::actor_system& sys, const pipeline_config& cfg,
                        caf::actor coordinator) {
  return sys.spawn<caf::detached>(stage_fn, cfg, std::move(coordinator));
}

} // namespace orch::migration
