#include "runtime/core/event_filter.hpp"

#include <algorithm>

#include "runtime/core/codec.hpp"
#include "runtime/core/event_kinds.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/node_labels.hpp"
#include "runtime/core/query_params.hpp"

namespace orch {

namespace {

std::set<std::string> comma_list(const std::string& text) {
  auto parts = split_nonempty(text, ',');
  return {parts.begin(), parts.end()};
}


constexpr size_t max_filter_values = 100;

} // namespace

bool event_filter::matches(const task_event& ev) const {
  return (tasks.empty() || tasks.count(ev.task_id) > 0)
         && (statuses.empty() || statuses.count(ev.status) > 0)
         && (kinds.empty() || kinds.count(ev.kind) > 0)
         && (nodes.empty() || nodes.count(ev.node) > 0);
}

bool labels_match(const event_filter& f, const std::map<std::string, std::string>& labels) {
  return labels_satisfied(f.labels, labels);
}

result<event_filter> parse_event_filter(const std::map<std::string, std::string>& query,
                                        const std::string& last_event_id) {
  static const std::set<std::string> known{"task", "status", "kind", "node", "label", "after"};
  for (auto& [name, value] : query)
    if (!known.count(name))
      return invalid_input("unknown parameter " + shown_value(name)
                             + " (GET /events takes task, status, kind, node, label and after)");
  event_filter f;
  auto get = [&](const char* name) {
    auto i = query.find(name);
    return i == query.end() ? std::string{} : i->second;
  };
  f.tasks = comma_list(get("task"));
  for (auto& id : f.tasks)
    if (!is_uuid(id))
      return invalid_input("task " + shown_value(id) + " is not a task id (a UUID)");
  for (auto& name : comma_list(get("status"))) {
    task_status s;
    if (auto st = status_param(name, s); !st)
      return st;
    f.statuses.insert(to_string(s));
  }
  f.kinds = comma_list(get("kind"));
  for (auto& k : f.kinds)
    if (std::none_of(std::begin(event_kind::all), std::end(event_kind::all),
                     [&](const char* known_kind) { return k == known_kind; })) {
      std::string list;
      for (auto* known_kind : event_kind::all)
        list += (list.empty() ? "" : ", ") + std::string{known_kind};
      return invalid_input("unknown event kind " + shown_value(k) + " (expected one of " + list + ")");
    }
  f.nodes = comma_list(get("node"));
  auto labels = parse_label_list(get("label"), "label");
  if (!labels)
    return invalid_input(labels.message() + " (label=KEY=VALUE,KEY2=VALUE2: tasks with all of them)");
  f.labels = std::move(*labels);
  // Statuses and kinds are few and checked above; task ids and names are not.
  if (f.tasks.size() > max_filter_values || f.nodes.size() > max_filter_values)
    return invalid_input("at most " + std::to_string(max_filter_values)
                           + " values per filter");
  // ?after= wins over the header: a client that sets it means it.
  f.after = query.count("after") ? get("after") : last_event_id;
  if (!f.after.empty() && !is_uuid(f.after))
    return invalid_input("after (or Last-Event-ID) " + shown_value(f.after)
                           + " is not an event id (a UUID, as the stream's id: lines give)");
  return f;
}

std::shared_ptr<const published_event> publish_form(task_event ev) {
  auto p = std::make_shared<published_event>();
  p->json = encode(ev);
  // The JSON has no line breaks (canonical text escapes them), so one
  // data: line carries it.
  p->sse = "id: " + ev.id + "\ndata: " + p->json + "\n\n";
  p->ev = std::move(ev);
  return p;
}

} // namespace orch
