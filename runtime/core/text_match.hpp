// Placeholders in text: each match of a pattern replaced by what a function
// makes of it (a dependency's output for {{tasks.KEY.output}}, a parameter's
// value for {{params.NAME}}).
#pragma once

#include <regex>
#include <string>

namespace orch {

/// `text` with each match of `re` replaced by f(match); the rest as it is.
template <class F>
std::string replace_matches(const std::string& text, const std::regex& re, F&& f) {
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator i{text.begin(), text.end(), re}, end; i != end; ++i) {
    out.append(last, (*i)[0].first);
    out += f(*i);
    last = (*i)[0].second;
  }
  out.append(last, text.cend());
  return out;
}

} // namespace orch
