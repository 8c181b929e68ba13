#include "backends/engine/read_only_engine.hpp"

namespace orch {

namespace {

class read_only_engine : public storage_engine {
public:
  read_only_engine(std::unique_ptr<storage_engine> inner, std::string what, storage_info info)
    : inner_(std::move(inner)), what_(std::move(what)), empty_info_(std::move(info)) {}

protected:
  std::vector<batch_outcome> do_commit_group(const std::vector<prepared_batch*>& batches) override {
    batch_outcome refused;
    refused.st = {errc::invalid, refusal()};
    return std::vector<batch_outcome>(batches.size(), refused);
  }

  record do_get(record_kind kind, const std::string& key) override {
    if (!inner_)
      throw status_error{errc::not_found, not_found_message(kind, key)};
    return value_or_throw(inner_->get(kind, key));
  }

  record_page do_query(const record_query& q) override {
    return inner_ ? value_or_throw(inner_->query(q)) : record_page{};
  }

  std::vector<record> do_scan(record_kind kind, const std::string& after, uint32_t limit) override {
    return inner_ ? value_or_throw(inner_->scan(kind, after, limit)) : std::vector<record>{};
  }

  uint64_t do_count(record_kind kind) override {
    return inner_ ? value_or_throw(inner_->count(kind)) : 0;
  }

  claim_plan do_plan_claims(const claim_request&, const std::set<std::string>&) override {
    throw status_error{errc::invalid, refusal()};
  }

  std::vector<std::string> do_renew(const std::string&, const std::vector<std::string>&,
                                    micros) override {
    throw status_error{errc::invalid, refusal()};
  }

  storage_info do_info() override {
    auto i = inner_ ? value_or_throw(inner_->info()) : empty_info_;
    i.notes.push_back("opened read-only");
    return i;
  }

  std::string do_backup(const std::string& to) override {
    if (!inner_)
      throw status_error{errc::not_found, what_ + " does not exist: nothing to back up"};
    return value_or_throw(inner_->backup(to));
  }

  void do_close() override {
    if (inner_)
      if (auto st = inner_->close(); !st)
        throw status_error{st};
  }

private:
  std::string refusal() const { return what_ + " is opened read-only: nothing may be written"; }

  std::unique_ptr<storage_engine> inner_;
  std::string what_;
  storage_info empty_info_;
};

} // namespace

std::unique_ptr<storage_engine> make_read_only(std::unique_ptr<storage_engine> inner,
                                               std::string what, storage_info empty_info) {
  return std::make_unique<read_only_engine>(std::move(inner), std::move(what),
                                            std::move(empty_info));
}

} // namespace orch
