#include "runtime/core/node_labels.hpp"

namespace orch {

namespace {

constexpr std::string_view label_rule = "1 to 64 letters, digits, '-', '_', '.', '/'";

} // namespace

bool label_text_ok(std::string_view s) {
  return !s.empty() && s.size() <= 64
         && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")
              == std::string_view::npos;
}

bool labels_satisfied(const label_map& required, const label_map& offered) {
  for (auto& [key, value] : required) {
    auto i = offered.find(key);
    if (i == offered.end() || i->second != value)
      return false;
  }
  return true;
}

result<label_map> parse_label_list(std::string_view text, std::string_view option) {
  label_map out;
  size_t from = 0;
  while (from < text.size()) {
    auto comma = text.find(',', from);
    auto item = text.substr(from, comma == std::string_view::npos ? std::string_view::npos
                                                                   : comma - from);
    from = comma == std::string_view::npos ? text.size() : comma + 1;
    auto eq = item.find('=');
    if (eq == std::string_view::npos || !label_text_ok(item.substr(0, eq))
        || !label_text_ok(item.substr(eq + 1)))
      return invalid_input(std::string{option} + ": '" + std::string{item}
                           + "' is not key=value (each " + std::string{label_rule} + ")");
    out[std::string{item.substr(0, eq)}] = std::string{item.substr(eq + 1)};
  }
  if (out.size() > max_node_labels)
    return invalid_input(std::string{option} + ": more than " + std::to_string(max_node_labels)
                         + " labels");
  return out;
}

status check_required_labels(const label_map& labels) {
  if (labels.size() > max_node_labels)
    return invalid_input("field 'node_labels' has more than " + std::to_string(max_node_labels)
                         + " labels");
  for (auto& [key, value] : labels)
    if (!label_text_ok(key) || !label_text_ok(value))
      return invalid_input("field 'node_labels' has '" + key + "': '" + value
                           + "'; keys and values are " + std::string{label_rule}
                           + ", as in a worker's --labels");
  return {};
}

} // namespace orch
