#include "backends/surrealdb/surreal_search.hpp"

namespace orch::surreal {

namespace {

/// The name's and the command line's text as search_doc reads them.
constexpr const char* name_text = "(name ?? '')";
constexpr const char* command_text =
  "array::join(array::concat([command ?? '', script_file ?? ''], args ?? []), ' ')";

} // namespace

std::string word_start_pattern(const std::string& word) {
  // After the start or a byte that separates words: an ASCII character
  // that is neither a letter nor a digit.
  std::string p = "(?:^|[^0-9A-Za-z\\x{80}-\\x{10FFFF}])";
  for (char c : word) {
    if (c >= 'a' && c <= 'z') {
      p += '[';
      p += static_cast<char>(c - 'a' + 'A');
      p += c;
      p += ']';
    } else {
      p += c;
    }
  }
  return p;
}

void add_search_conditions(const task_search& s, std::vector<std::string>& where,
                           nlohmann::json& vars) {
  size_t n = 0;
  auto var = [&](nlohmann::json value) {
    auto name = "s" + std::to_string(n++);
    vars[name] = std::move(value);
    return "$" + name;
  };
  auto words_in = [&](const std::vector<std::string>& words, bool name, bool command) {
    std::string all;
    for (auto& w : words) {
      auto v = var(word_start_pattern(w));
      std::string one;
      if (name)
        one = std::string{"string::matches("} + name_text + ", " + v + ")";
      if (command)
        one += (one.empty() ? "" : " OR ") + std::string{"string::matches("} + command_text + ", "
               + v + ")";
      all += (all.empty() ? "(" : " AND (") + one + ")";
    }
    return all;
  };
  // Ids are ASCII (UUIDs): lowercasing them is the same on both sides.
  auto id_prefix = [&](const std::string& prefix) {
    return "string::starts_with(string::lowercase(record::id(id)), " + var(prefix) + ")";
  };
  for (auto& t : s.terms) {
    switch (t.field) {
      case search_field::any:
        where.push_back("(" + id_prefix(t.text) + " OR (" + words_in(t.words, true, true) + "))");
        break;
      case search_field::id: where.push_back(id_prefix(t.text)); break;
      case search_field::name: where.push_back(words_in(t.words, true, false)); break;
      case search_field::command: where.push_back(words_in(t.words, false, true)); break;
      case search_field::label:
        if (t.has_value)
          where.push_back("(labels ?? {})[" + var(t.text) + "] = " + var(t.value));
        else
          where.push_back("(labels ?? {})[" + var(t.text) + "] != NONE");
        break;
      case search_field::status: {
        std::vector<std::string> names;
        for (auto st : t.statuses)
          names.emplace_back(to_string(st));
        where.push_back("status IN " + var(names));
        break;
      }
      case search_field::node: where.push_back("node = " + var(t.text)); break;
      case search_field::owner: where.push_back("owner = " + var(t.text)); break;
    }
  }
}

} // namespace orch::surreal
