#include "runtime/platform/http/stream_link.hpp"

#include <algorithm>
#include <thread>

namespace orch::http_detail {

bool stream_link::push(std::string bytes) {
  std::function<void(ending)> cut;
  std::string reason;
  {
    std::lock_guard<std::mutex> g{m_};
    if (closing_ || over_ || !side_.wake)
      return false;
    if (queued_ + bytes.size() > limit_) {
      // Never wait for a slow client: whoever pushes (an actor serving
      // many) goes on, and this client is let go.
      closing_ = true;
      cut = side_.finish;
      reason = "the client read too slowly: more than " + std::to_string(limit_)
               + " bytes were waiting for it";
    } else {
      queued_ += bytes.size();
      pending_.push_back(std::move(bytes));
      // Under load many pushes ride on one wake: one hop to the
      // connection's thread per batch, not per event.
      if (!woken_) {
        woken_ = true;
        side_.wake();
      }
      return true;
    }
  }
  cut(ending{{}, std::move(reason), true});
  return false;
}

size_t stream_link::queued() {
  std::lock_guard<std::mutex> g{m_};
  return queued_;
}

void stream_link::close(std::string last, std::string why) {
  std::function<void(ending)> finish;
  {
    std::lock_guard<std::mutex> g{m_};
    if (closing_ || over_)
      return;
    closing_ = true;
    finish = side_.finish;
  }
  if (finish)
    finish(ending{std::move(last), std::move(why), false});
}

void stream_link::on_ended(std::function<void(const std::string& why)> fn) {
  std::string why;
  {
    std::lock_guard<std::mutex> g{m_};
    if (!over_) {
      on_ended_ = std::move(fn);
      return;
    }
    why = why_;
  }
  fn(why);  // it ended before anyone listened
}

std::vector<std::string> stream_link::take() {
  std::lock_guard<std::mutex> g{m_};
  woken_ = false;
  return std::move(pending_);
}

void stream_link::written(size_t n) {
  std::lock_guard<std::mutex> g{m_};
  queued_ -= std::min(queued_, n);
}

void stream_link::ended(const std::string& why) {
  std::function<void(const std::string&)> fn;
  connection_side side;
  {
    std::lock_guard<std::mutex> g{m_};
    if (over_)
      return;
    over_ = true;
    closing_ = true;
    why_ = why;
    fn = std::move(on_ended_);
    side = std::move(side_);  // released outside the lock: they hold the connection
    side_ = {};
    pending_.clear();
  }
  if (fn)
    fn(why);
}

bool stream_link::over() {
  std::lock_guard<std::mutex> g{m_};
  return over_;
}

void stream_registry::close_all(const std::string& why, std::chrono::milliseconds timeout) {
  std::vector<std::shared_ptr<stream_link>> open;
  {
    std::lock_guard<std::mutex> g{m_};
    for (auto& w : links_)
      if (auto l = w.lock())
        open.push_back(std::move(l));
  }
  for (auto& l : open)
    l->close(l->messages() ? std::string{} : ": " + why + "\n\n", why);
  // A stop, not a hot path: a short poll until each has written its end.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline
         && std::any_of(open.begin(), open.end(), [](auto& l) { return !l->over(); }))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void stream_registry::add(const std::shared_ptr<stream_link>& link) {
  std::lock_guard<std::mutex> g{m_};
  links_.erase(std::remove_if(links_.begin(), links_.end(),
                              [](const std::weak_ptr<stream_link>& w) { return w.expired(); }),
               links_.end());
  links_.push_back(link);
}

void stream_registry::end_all(const std::string& why) {
  std::vector<std::weak_ptr<stream_link>> links;
  {
    std::lock_guard<std::mutex> g{m_};
    links.swap(links_);
  }
  for (auto& w : links)
    if (auto l = w.lock())
      l->ended(why);
}

} // namespace orch::http_detail
