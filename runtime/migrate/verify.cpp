#include "runtime/migrate/verify.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "runtime/migrate/filter.hpp"
#include "runtime/core/codec.hpp"
#include "backends/storage_client.hpp"

namespace orch::migration {

namespace {

constexpr size_t max_listed = 50;

/// Walks one backend's records of a kind in key order, batch by batch.
class cursor {
public:
  cursor(storage_client& db, record_kind kind, uint32_t batch, record_filter* filter)
    : db_(db), kind_(kind), batch_(batch), filter_(filter) {
    advance();
  }

  bool done() const { return done_; }
  const record& current() const { return buffer_[pos_]; }
  const std::string& error() const { return error_; }

  void advance() {
    for (;;) {
      if (pos_ + 1 < buffer_.size()) {
        ++pos_;
      } else {
        auto next = db_.scan(kind_, after_, batch_);
        if (!next.ok()) {
          error_ = next.message();
          done_ = true;
          return;
        }
        if (next.value().empty()) {
          done_ = true;
          return;
        }
        after_ = next.value().back().key;
        buffer_ = std::move(next.value());
        pos_ = 0;
      }
      if (!filter_ || filter_->include(buffer_[pos_]))
        return;
    }
  }

private:
  storage_client& db_;
  record_kind kind_;
  uint32_t batch_;
  record_filter* filter_;
  std::vector<record> buffer_;
  size_t pos_ = 0;
  std::string after_;
  bool done_ = false;
  std::string error_;
};

} // namespace

std::string record_digest(const std::string& json_text) {
  auto text = canonical(json::parse(json_text, nullptr, false));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

bool is_migration_record(const record& r) {
  if (r.kind != record_kind::audit)
    return false;
  auto j = json::parse(r.json, nullptr, false);
  auto action = j.is_object() ? j.find("action") : j.end();
  return action != j.end() && action->is_string() && *action == migration_audit_action;
}

verify_report verify(caf::actor_system& sys, storage_actor source, storage_actor target,
                     const filter_options& options, uint32_t batch_size,
                     bool allow_extra) {
  verify_report rep;
  record_filter filter{options};  // a fresh one: it remembers the tasks it lets through
  storage_client src{sys, source}, dst{sys, target};
  filter.set_task_lookup([&src](const std::string& id) {
    auto t = src.get(record_kind::task, id);
    return t.ok() ? t.value().json : std::string{};
  });
  auto note = [&](const std::string& what) {
    rep.ok = false;
    if (rep.differences.size() < max_listed)
      rep.differences.push_back(what);
    ++rep.difference_count;
  };
  for (auto kind : migration_order(filter.kinds())) {
    auto name = std::string{to_string(kind)};
    cursor s{src, kind, batch_size, &filter};
    cursor t{dst, kind, batch_size, nullptr};
    auto& [n_src, n_dst] = rep.counts[kind];
    while (!s.done() || !t.done()) {
      int order = s.done() ? 1 : t.done() ? -1 : s.current().key.compare(t.current().key);
      if (order < 0) {
        ++n_src;
        note(name + " " + s.current().key + " is missing in the target");
        s.advance();
      } else if (order > 0) {
        ++n_dst;
        if (!allow_extra && !is_migration_record(t.current()))
          note(name + " " + t.current().key + " is in the target but not in the source");
        t.advance();
      } else {
        ++n_src;
        ++n_dst;
        ++rep.compared;
        if (record_digest(s.current().json) != record_digest(t.current().json))
          note(name + " " + s.current().key + " differs between source and target");
        s.advance();
        t.advance();
      }
    }
    if (!s.error().empty())
      note("reading " + name + " from the source failed: " + s.error());
    if (!t.error().empty())
      note("reading " + name + " from the target failed: " + t.error());
  }
  return rep;
}

} // namespace orch::migration
