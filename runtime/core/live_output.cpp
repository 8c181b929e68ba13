#include "runtime/core/live_output.hpp"

#include <algorithm>

namespace orch {

const char* to_string(output_stream s) {
  return s == output_stream::out ? "stdout" : "stderr";
}

void live_output::append(output_stream s, const char* data, size_t n) {
  std::lock_guard<std::mutex> g{m_};
  append_locked(s, data, n);
}

bool live_output::append_at(output_stream s, uint64_t offset, std::string_view piece) {
  std::lock_guard<std::mutex> g{m_};
  auto have = kept(s).size();
  if (offset > have)
    return false;
  auto known = static_cast<size_t>(have - offset);
  if (known < piece.size())
    append_locked(s, piece.data() + known, piece.size() - known);
  return true;
}

void live_output::append_locked(output_stream s, const char* data, size_t n) {
  auto& text = kept(s);
  auto take = static_cast<size_t>(std::min<uint64_t>(n, limit_ > text.size() ? limit_ - text.size() : 0));
  if (take == 0)
    return;
  text.append(data, take);
  std::string_view piece{data, take};
  followers_.erase(std::remove_if(followers_.begin(), followers_.end(),
                                  [&](auto& f) { return !f.first(s, piece); }),
                   followers_.end());
}

bool live_output::follow(follower fn, std::function<void()> ended) {
  std::lock_guard<std::mutex> g{m_};
  if (finished_)
    return false;
  if ((!out_.empty() && !fn(output_stream::out, out_))
      || (!err_.empty() && !fn(output_stream::err, err_)))
    return true;  // gone already: not kept
  followers_.emplace_back(std::move(fn), std::move(ended));
  return true;
}

void live_output::finish() {
  std::vector<std::pair<follower, std::function<void()>>> told;
  {
    std::lock_guard<std::mutex> g{m_};
    finished_ = true;
    told.swap(followers_);
  }
  for (auto& f : told)
    if (f.second)
      f.second();
}

std::string live_output::text(output_stream s) {
  std::lock_guard<std::mutex> g{m_};
  return kept(s);
}

} // namespace orch
