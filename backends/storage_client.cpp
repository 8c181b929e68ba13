#include "backends/storage_client.hpp"

#include <cstdlib>
#include <optional>

#include "caf/all.hpp"

namespace orch {

struct storage_client::impl {
  impl(caf::actor_system& sys, std::chrono::seconds t) : self(sys), timeout(t) {}
  caf::scoped_actor self;
  std::chrono::seconds timeout;

  template <class T, class... Ts>
  result<T> call(const storage_actor& dest, Ts&&... xs) {
    std::optional<result<T>> out;
    self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& v) { out.emplace(std::move(v)); },
               [&](caf::error& e) { out.emplace(to_status(e)); });
    return std::move(*out);
  }
};

storage_client::storage_client(caf::actor_system& sys, storage_actor storage,
                               std::chrono::seconds timeout)
  : impl_(std::make_unique<impl>(sys, timeout)), storage_(std::move(storage)) {}

storage_client::~storage_client() = default;

result<uint64_t> storage_client::commit(const write_batch& b) {
  return impl_->call<uint64_t>(storage_, commit_atom_v, b);
}
result<record> storage_client::get(record_kind k, const std::string& key) {
  return impl_->call<record>(storage_, caf::get_atom_v, k, key);
}
result<record_page> storage_client::query(const record_query& q) {
  return impl_->call<record_page>(storage_, query_atom_v, q);
}
result<std::vector<record>> storage_client::scan(record_kind k, const std::string& after,
                                                uint32_t limit) {
  return impl_->call<std::vector<record>>(storage_, scan_atom_v, scan_request{k, after, limit});
}
result<uint64_t> storage_client::count(record_kind k) {
  return impl_->call<uint64_t>(storage_, count_atom_v, k);
}
result<claim_result> storage_client::claim(const claim_request& req) {
  return impl_->call<claim_result>(storage_, claim_atom_v, req);
}
result<std::vector<std::string>> storage_client::renew(const std::string& worker,
                                                      const std::vector<std::string>& ids,
                                                      micros until) {
  return impl_->call<std::vector<std::string>>(storage_, renew_atom_v,
                                              renew_request{worker, ids, until});
}
result<storage_info> storage_client::info() {
  return impl_->call<storage_info>(storage_, info_atom_v);
}
result<std::string> storage_client::backup(const std::string& to) {
  return impl_->call<std::string>(storage_, backup_atom_v, to);
}
result<bool> storage_client::close() {
  return impl_->call<bool>(storage_, caf::close_atom_v);
}

status storage_client::put(const std::vector<record>& records) {
  write_batch b;
  for (auto& r : records)
    b.ops.push_back({record_op::put, r});
  return commit(b).error();
}

} // namespace orch
