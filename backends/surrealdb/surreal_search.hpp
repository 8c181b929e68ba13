// A task search (runtime/core/task_search.hpp) as SurrealQL conditions with
// the same meaning as search_matches(): SurrealDB evaluates them on its
// side, so only the page and its count travel. Words are matched with
// regular expressions built from the search's own words (letters, digits
// and non-ASCII bytes only, so nothing in them is a regex operator).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/task_search.hpp"

namespace orch::surreal {

/// Appends one condition per term to `where`, their values to `vars`
/// (named s0, s1, ...).
void add_search_conditions(const task_search& s, std::vector<std::string>& where,
                           nlohmann::json& vars);

/// The regular expression for "a word starts with `word`" (ASCII letters
/// in either case), for string::matches.
std::string word_start_pattern(const std::string& word);

} // namespace orch::surreal
