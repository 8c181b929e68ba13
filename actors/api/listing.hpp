// A page of records as the API answers it: {"<items>": [...], "total",
// "limit", "offset"}, read from the storage or, for the audit trail, from
// the audit actor.
#pragma once

#include <string>

#include "actors/api/context.hpp"
#include "actors/api/envelope.hpp"
#include "actors/api/reply.hpp"
#include "runtime/core/records.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::api {

/// The page's JSON, its items under `items_name`.
std::string page_json(const record_page& page, const char* items_name, const record_query& q);

/// Answers with the page of `q` that `from` reads.
template <class Source>
void list_records(const context& ctx, reply rp, record_query q, const char* items_name,
                  const Source& from) {
  ctx.self->request(from, ctx.cfg->storage_timeout, query_atom_v, q)
    .then(guarded("gateway",
                  [=](const record_page& page) mutable {
                    rp.deliver(json_ok(200, page_json(page, items_name, q)));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

/// Answers with the page of `q` read from storage, each record shown as
/// `show(record)` gives it (a user without its hash, a schedule with its
/// next firings); a record `show` cannot show ("") is left out.
template <class Show>
void list_shown(const context& ctx, reply rp, record_query q, const char* items_name, Show show) {
  ctx.ask_storage(query_atom_v, q)
    .then(guarded("gateway",
                  [=](record_page page) mutable {
                    std::vector<record> shown;
                    for (auto& r : page.items)
                      if (auto text = show(r); !text.empty())
                        shown.push_back({r.kind, r.key, std::move(text)});
                    page.items = std::move(shown);
                    rp.deliver(json_ok(200, page_json(page, items_name, q)));
                  }),
          [=](caf::error& e) mutable { rp.deliver(from_error(e)); });
}

} // namespace orch::api
