// Node labels: what a worker node (or the orchestrator's own slots) offers
// (`--labels gpu=yes,zone=a`) and what a task requires (`"node_labels":
// {"gpu": "yes"}`). A task runs only on a node that has every label it asks
// for, with the same value.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "runtime/core/status.hpp"

namespace orch {

using label_map = std::map<std::string, std::string>;

/// At most this many labels on a node or a task.
constexpr size_t max_node_labels = 32;

/// A label key or value: 1 to 64 letters, digits, '-', '_', '.', '/'.
bool label_text_ok(std::string_view s);

/// Does a node offering `offered` satisfy a task requiring `required`?
bool labels_satisfied(const label_map& required, const label_map& offered);

/// "k=v,k2=v2" (a command-line option named `option`) into labels; an empty
/// text is no labels.
result<label_map> parse_label_list(std::string_view text, std::string_view option);

/// The labels a task requires, as submitted: a refusal names the bad one.
status check_required_labels(const label_map& labels);

} // namespace orch
