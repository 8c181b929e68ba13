#include "backends/storage_client.hpp"

#include <cstdlib>
#include <stdexcept>

#include "caf/all.hpp"

namespace orch {

namespace {

constexpr auto call_timeout = std::chrono::seconds(120);

} // namespace

struct storage_client::impl {
  explicit impl(caf::actor_system& sys) : self(sys) {}
  caf::scoped_actor self;

  template <class T, class... Ts>
  reply<T> call(const storage_actor& dest, Ts&&... xs) {
    reply<T> out;
    self->request(dest, call_timeout, std::forward<Ts>(xs)...)
      .receive(
        [&](T& v) {
          out.ok = true;
          out.value = std::move(v);
        },
        [&](caf::error& e) {
          out.code = error_code(e);
          out.error = error_text(e);
        });
    return out;
  }
};

storage_client::storage_client(caf::actor_system& sys, storage_actor storage)
  : impl_(std::make_unique<impl>(sys)), storage_(std::move(storage)) {}

storage_client::~storage_client() = default;

reply<uint64_t> storage_client::commit(const write_batch& b) {
  return impl_->call<uint64_t>(storage_, commit_atom_v, b);
}
reply<record> storage_client::get(record_kind k, const std::string& key) {
  return impl_->call<record>(storage_, caf::get_atom_v, k, key);
}
reply<record_page> storage_client::query(const record_query& q) {
  return impl_->call<record_page>(storage_, query_atom_v, q);
}
reply<std::vector<record>> storage_client::scan(record_kind k, const std::string& after,
                                                uint32_t limit) {
  return impl_->call<std::vector<record>>(storage_, scan_atom_v, k, after, limit);
}
reply<uint64_t> storage_client::count(record_kind k) {
  return impl_->call<uint64_t>(storage_, count_atom_v, k);
}
reply<claim_result> storage_client::claim(const claim_request& req) {
  return impl_->call<claim_result>(storage_, claim_atom_v, req);
}
reply<std::vector<std::string>> storage_client::renew(const std::string& worker,
                                                      const std::vector<std::string>& ids,
                                                      micros until) {
  return impl_->call<std::vector<std::string>>(storage_, renew_atom_v, worker, ids, until);
}
reply<storage_info> storage_client::info() {
  return impl_->call<storage_info>(storage_, info_atom_v);
}
reply<std::string> storage_client::backup(const std::string& to) {
  return impl_->call<std::string>(storage_, backup_atom_v, to);
}
reply<bool> storage_client::close() {
  return impl_->call<bool>(storage_, caf::close_atom_v);
}

void storage_client::put(const std::vector<record>& records) {
  write_batch b;
  for (auto& r : records)
    b.ops.push_back({record_op::put, r});
  auto r = commit(b);
  if (!r.ok)
    throw std::runtime_error("put failed: " + r.error);
}

} // namespace orch
