#include "backends/engine/group_plan.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/core/record_scan.hpp"
#include "runtime/core/codec.hpp"

namespace orch {

status stage_put(const record& r, staged_record& out) {
  record_summary sum;
  if (auto st = scan_record(r.kind, r.json, sum); !st)
    return st.context(std::string{to_string(r.kind)} + " record " + r.key);
  if (sum.key != r.key)
    return {errc::invalid, std::string{to_string(r.kind)} + " record key '" + r.key
                             + "' does not match the record's own id '" + sum.key + "'"};
  out.removed = false;
  // Stored as given: the codec writes canonical JSON, and migration's verify
  // compares canonical forms.
  out.json = r.json;
  out.time = sum.time;
  out.meta = {sum.status, sum.created_at, sum.revision, std::move(sum.dependencies)};
  out.search = std::move(sum.search);
  out.entry = std::move(sum.entry);
  out.task_id = std::move(sum.task_id);
  return {};
}

namespace {

/// The current value of a precondition's field, seen through the overlay.
bool current_field(const record_overlay& overlay, const committed_field_fn& lookup,
                   const precondition& p, std::string& value) {
  auto i = overlay.find({p.kind, p.key});
  if (i == overlay.end())
    return lookup(p.kind, p.key, p.check == precondition::field_in ? p.field : std::string{},
                  value);
  if (i->second.removed)
    return false;
  if (p.check == precondition::field_in)
    scan_field(i->second.json, p.field, value);
  return true;
}

std::string check(const record_overlay& overlay, const committed_field_fn& lookup,
                  const precondition& p) {
  auto where = std::string{to_string(p.kind)} + "/" + p.key;
  std::string actual;
  bool found = current_field(overlay, lookup, p, actual);
  switch (p.check) {
    case precondition::absent:
      return found ? where + " already exists" : std::string{};
    case precondition::present:
      return found ? std::string{} : where + " does not exist";
    case precondition::field_in:
      if (!found)
        return where + " does not exist";
      if (std::find(p.values.begin(), p.values.end(), actual) != p.values.end())
        return {};
      return where + " changed concurrently: " + p.field + " is '" + actual + "'";
  }
  return {};
}

} // namespace

prepared_batch prepare_batch(const write_batch& b) {
  prepared_batch out;
  out.expect = b.expect;
  out.stamp_events = b.stamp_events;
  out.staged.reserve(b.ops.size());
  for (auto& op : b.ops) {
    if (!is_valid_key(op.rec.kind, op.rec.key)) {
      out.code = errc::invalid;
      out.error = "'" + op.rec.key + "' is not a valid key for " + to_string(op.rec.kind);
      return out;
    }
    staged_record s;
    if (op.op == record_op::remove) {
      s.removed = true;
    } else if (auto st = stage_put(op.rec, s); !st) {
      out.code = st.code();
      out.error = st.message();
      return out;
    } else if (op.rec.kind == record_kind::event) {
      task_event ev;
      if (auto decoded = decode(op.rec.json, ev); !decoded) {
        out.code = decoded.code();
        out.error = decoded.context("event record " + op.rec.key).message();
        return out;
      }
      out.events.push_back(std::move(ev));
    }
    out.staged.emplace_back(record_id{op.rec.kind, op.rec.key}, std::move(s));
  }
  return out;
}

std::vector<batch_outcome> plan_group(const std::vector<prepared_batch*>& batches,
                                      record_overlay& overlay, const committed_field_fn& lookup) {
  std::vector<batch_outcome> outcomes(batches.size());
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    auto& b = *batches[bi];
    auto& out = outcomes[bi];
    if (!b.error.empty()) {
      out.st = {b.code, b.error};
      continue;
    }
    for (auto& p : b.expect)
      if (auto err = check(overlay, lookup, p); !err.empty()) {
        out.st = {errc::conflict, err};
        break;
      }
    if (!out.ok())
      continue;
    for (auto& [id, s] : b.staged)
      overlay[id] = std::move(s);
    out.applied = b.staged.size();
  }
  return outcomes;
}

} // namespace orch
