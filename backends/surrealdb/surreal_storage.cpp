#include "backends/surrealdb/surreal_storage.hpp"

#include <algorithm>
#include <random>

#include "caf/all.hpp"

#include "backends/engine/group_plan.hpp"
#include "backends/engine/storage_engine.hpp"
#include "backends/surrealdb/surreal_actor.hpp"
#include "backends/surrealdb/surreal_queue_layout.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/task_search.hpp"
#include "runtime/messages/guarded.hpp"

namespace orch::surreal {

namespace {

constexpr int max_conflict_retries = 40;

std::chrono::milliseconds retry_delay(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto cap = std::min(5 + attempt * 10, 200);
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(1, cap)(rng));
}

std::string where(const options& o) {
  return o.url + " (namespace " + o.ns + ", database " + o.db + ")";
}

/// The client's reports, as messages to the actor. The client holds only a
/// weak reference, so the actor's life is not tied to its connection.
class mailbox {
public:
  explicit mailbox(const actor_type& a) : weak_(caf::actor_cast<caf::weak_actor_ptr>(a)) {}

  template <class... Ts>
  void post(Ts&&... xs) const {
    if (auto strong = weak_.lock())
      caf::anon_send(caf::actor_cast<actor_type>(strong), std::forward<Ts>(xs)...);
  }

private:
  caf::weak_actor_ptr weak_;
};

void issue(pointer self, uint64_t token) {
  auto& q = self->state.queries.at(token);
  auto params = json::array({q.st.text, q.st.vars});
  mailbox box{actor_type{self}};
  auto on_reply = [box, token](rpc_result r) {
    box.post(rpc_reply_atom_v, token, std::make_shared<rpc_result>(std::move(r)));
  };
  if (q.during_setup)
    self->state.conn->call_during_setup("query", std::move(params), std::move(on_reply));
  else
    self->state.conn->call("query", std::move(params), std::move(on_reply), q.st.allowance);
}

void on_reply(pointer self, uint64_t token, const rpc_result& reply) {
  auto i = self->state.queries.find(token);
  if (i == self->state.queries.end())
    return;
  auto o = interpret(reply);
  auto& q = i->second;
  if (o.retryable && q.attempt < max_conflict_retries) {
    ++q.attempt;
    self->delayed_send(self, retry_delay(q.attempt), rpc_retry_atom_v, token);
    return;
  }
  if (o.retryable)
    o.st = {errc::conflict,
            "gave up after " + std::to_string(q.attempt + 1) + " transaction conflicts"};
  auto done = std::move(q.done);
  self->state.queries.erase(i);
  if (!o.st && self->state.opts.read_only
      && (o.st.message().find("does not exist") != std::string::npos
          || o.st.message().find("Specify a namespace") != std::string::npos
          || o.st.message().find("Specify a database") != std::string::npos)) {
    // Read-only defines and creates nothing, so the tables, or the very
    // namespace or database, of a fresh place are missing: empty.
    o = query_outcome{};
    o.results = {json::array()};
  }
  done(std::move(o));
}

// -- set-up after every (re)connect -------------------------------------------------

/// The live query that brings other instances' task events.
template <class Finish>
void subscribe_events(pointer self, Finish finish) {
  run(
    self, {live_events_statement(), json::object()},
    [finish](query_outcome r) {
      if (!r.st)
        log_warn("surrealdb", "live query on task_events failed (" + r.st.message()
                                + "); events of other instances arrive late");
      finish("");
    },
    true);
}

void set_up(pointer self, setup_done done) {
  auto& o = self->state.opts;
  if (o.read_only)
    return (*done)("");  // define nothing, and no live query: nobody will write
  auto finish = [done](const std::string& error) { (*done)(error); };
  run(
    self, {schema_ns_db(o.ns, o.db), json::object()},
    [self, finish](query_outcome r) {
      // A database-level user may not define them; if they exist, fine.
      if (!r.st && r.st.message().find("IAM error") == std::string::npos)
        return finish("cannot prepare namespace/database on SurrealDB at "
                      + self->state.opts.url + ": " + r.st.message());
      run(
        self, {schema_tables(), json::object()},
        [self, finish](query_outcome r2) {
          if (!r2.st)
            return finish("cannot define the orchestrator's tables on SurrealDB at "
                          + where(self->state.opts) + ": " + r2.st.message()
                          + ". The user needs the EDITOR or OWNER role there");
          run(
            self, queue_layout_upgrade_statement(),
            [self, finish](query_outcome r3) {
              if (!r3.st)
                return finish("cannot build the queue's order on SurrealDB at "
                              + where(self->state.opts) + ": " + r3.st.message());
              subscribe_events(self, finish);
            },
            true);
        },
        true);
    },
    true);
}

/// A live-query notification: a task event some process wrote.
void on_notification(const mailbox& box, const json& n) {
  auto doc = n.find("result");
  auto action = n.find("action");
  if (doc == n.end() || !doc->is_object()
      || (action != n.end() && action->is_string() && action->get<std::string>() == "DELETE"))
    return;
  task_event ev;
  if (decode(to_record(record_kind::event, *doc).json, ev))
    box.post(live_event_atom_v, std::move(ev));
}

// -- storage operations -------------------------------------------------------------

void commit(pointer self, const write_batch& b, caf::typed_response_promise<uint64_t> rp) {
  if (self->state.opts.read_only)
    return void(rp.deliver(refusal(self->state.opts)));
  if (b.ops.empty() && b.expect.empty())
    return void(rp.deliver(uint64_t{0}));
  // Same validation as the local backends: bad records never reach the server.
  auto prepared = prepare_batch(b);
  if (!prepared.error.empty())
    return void(rp.deliver(make_error(prepared.code, prepared.error)));
  auto st = batch_statement(b);
  if (!st)
    return void(rp.deliver(to_error(st.error())));
  auto applied = b.ops.size();
  // Its events go to the feed once committed (the live query brings them
  // again; the events actor passes each on once).
  auto events = std::move(prepared.events);
  run(self, std::move(*st), [self, rp, applied, expect = b.expect,
                             events = std::move(events)](query_outcome o) mutable {
    if (o.st) {
      if (self->state.feed && !events.empty())
        self->send(self->state.feed, publish_atom_v, std::move(events));
      return void(rp.deliver(uint64_t{applied}));
    }
    auto message = o.st.message();
    if (o.precondition >= 0 && static_cast<size_t>(o.precondition) < expect.size()) {
      auto& p = expect[o.precondition];
      auto what = std::string{to_string(p.kind)} + "/" + p.key;
      message = p.check == precondition::absent    ? what + " already exists"
                : p.check == precondition::present ? what + " does not exist"
                                                   : what + " changed concurrently (" + p.field + ")";
    }
    rp.deliver(make_error(o.st.code(), message));
  });
}

void get(pointer self, record_kind kind, const std::string& key,
         caf::typed_response_promise<record> rp) {
  if (!is_valid_key(kind, key))
    return void(rp.deliver(make_error(errc::invalid, "'" + key + "' is not a valid key for "
                                                       + to_string(kind))));
  run(self, get_statement(kind, key), [rp, kind, key](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    if (o.results.empty() || !o.results[0].is_object())
      return void(rp.deliver(make_error(errc::not_found, not_found_message(kind, key))));
    rp.deliver(to_record(kind, o.results[0]));
  });
}

/// The tasks that depend on one: a graph query, searched (GET
/// /tasks?depends_on=&q=) and paged here, as the other backends do.
void dependants(pointer self, record_query q, caf::typed_response_promise<record_page> rp) {
  if (!is_uuid(q.value))
    return void(rp.deliver(record_page{}));
  auto search = apply_search(q);
  if (!search)
    return void(rp.deliver(to_error(search.error())));
  run(self, dependants_statement(q.value), [rp, q, s = *search](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    std::vector<std::pair<micros, record>> found;
    if (!o.results.empty() && o.results[0].is_array())
      for (auto& doc : o.results[0]) {
        if (!doc.is_object())
          continue;
        auto t = time_of(doc.value("created_at", json{}));
        if ((q.since != 0 && t < q.since) || (q.until != 0 && t >= q.until))
          continue;
        auto r = to_record(record_kind::task, doc);
        if (q.search.empty() || search_matches_json(s, r.json))
          found.emplace_back(t, std::move(r));
      }
    std::sort(found.begin(), found.end(), [](auto& a, auto& b) {
      return a.first != b.first ? a.first < b.first : a.second.key < b.second.key;
    });
    if (q.newest_first)
      std::reverse(found.begin(), found.end());
    record_page page;
    page.total = found.size();
    for (uint64_t i = q.offset; i < found.size() && page.items.size() < q.limit; ++i)
      page.items.push_back(std::move(found[i].second));
    rp.deliver(std::move(page));
  });
}

void query(pointer self, const record_query& q, caf::typed_response_promise<record_page> rp) {
  if (q.kind == record_kind::task && q.field == "dependencies")
    return dependants(self, q, rp);
  auto st = query_statement(q);
  if (!st)
    return void(rp.deliver(to_error(st.error())));
  run(self, std::move(*st), [rp, kind = q.kind](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    record_page page;
    if (!o.results.empty() && o.results[0].is_array())
      for (auto& doc : o.results[0])
        if (doc.is_object())
          page.items.push_back(to_record(kind, doc));
    page.total = o.results.size() > 1 ? count_of(o.results[1]) : page.items.size();
    rp.deliver(std::move(page));
  });
}

void scan(pointer self, const scan_request& r, caf::typed_response_promise<std::vector<record>> rp) {
  if (!r.after.empty() && !is_valid_key(r.kind, r.after))
    return void(rp.deliver(make_error(errc::invalid, "'" + r.after + "' is not a valid key for "
                                                       + to_string(r.kind))));
  if (r.limit == 0)
    return void(rp.deliver(std::vector<record>{}));
  run(self, scan_statement(r.kind, r.after, r.limit), [rp, kind = r.kind](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    std::vector<record> out;
    if (!o.results.empty() && o.results[0].is_array())
      for (auto& doc : o.results[0])
        if (doc.is_object())
          out.push_back(to_record(kind, doc));
    rp.deliver(std::move(out));
  });
}

void count(pointer self, record_kind kind, caf::typed_response_promise<uint64_t> rp) {
  run(self, count_statement(kind), [rp](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    rp.deliver(o.results.empty() ? uint64_t{0} : count_of(o.results[0]));
  });
}

/// A round trip, so that GET /health says whether the database answers.
void info(pointer self, caf::typed_response_promise<storage_info> rp) {
  auto& o = self->state.opts;
  auto info = storage_info{"surrealdb-server", o.url, o.ns, o.db, true, {}};
  run(self, {"RETURN true", json::object()}, [rp, info](query_outcome o) mutable {
    if (deliver_failure(rp, o))
      return;
    rp.deliver(info);
  });
}

caf::result<bool> close(pointer self) {
  auto& st = self->state;
  if (!st.conn)
    return make_error(errc::unavailable, "the storage backend has been closed");
  st.conn->stop();
  st.conn.reset();
  // What was in flight fails now: its replies will not reach an actor that quits.
  auto in_flight = std::move(st.queries);
  st.queries.clear();
  for (auto& [token, q] : in_flight) {
    query_outcome closed;
    closed.st = {errc::unavailable, "the storage backend has been closed"};
    q.done(std::move(closed));
  }
  self->quit();
  return true;
}

template <class T>
using promise = caf::typed_response_promise<T>;

actor_type::behavior_type behavior(pointer self) {
  return {
    guarded("storage",
            [=](commit_atom, const write_batch& b) -> caf::result<uint64_t> {
              auto rp = self->make_response_promise<uint64_t>();
              commit(self, b, rp);
              return rp;
            }),
    guarded("storage",
            [=](caf::get_atom, record_kind kind, const std::string& key) -> caf::result<record> {
              auto rp = self->make_response_promise<record>();
              get(self, kind, key, rp);
              return rp;
            }),
    guarded("storage",
            [=](query_atom, const record_query& q) -> caf::result<record_page> {
              auto rp = self->make_response_promise<record_page>();
              query(self, q, rp);
              return rp;
            }),
    guarded("storage",
            [=](scan_atom, const scan_request& r) -> caf::result<std::vector<record>> {
              auto rp = self->make_response_promise<std::vector<record>>();
              scan(self, r, rp);
              return rp;
            }),
    guarded("storage",
            [=](count_atom, record_kind kind) -> caf::result<uint64_t> {
              auto rp = self->make_response_promise<uint64_t>();
              count(self, kind, rp);
              return rp;
            }),
    guarded("storage",
            [=](claim_atom, const claim_request& req) -> caf::result<claim_result> {
              auto rp = self->make_response_promise<claim_result>();
              claim(self, req, rp);
              return rp;
            }),
    guarded("storage",
            [=](renew_atom, const renew_request& r) -> caf::result<std::vector<std::string>> {
              auto rp = self->make_response_promise<std::vector<std::string>>();
              renew(self, r, rp);
              return rp;
            }),
    guarded("storage",
            [=](backup_atom, const std::string&) -> caf::result<std::string> {
              return make_error(errc::invalid,
                                "a surrealdb-server backend is backed up by copying its records: "
                                "run `orchestrator migrate --from surrealdb-server --to "
                                "filesystem --target-dir DIR`, or use SurrealDB's own export");
            }),
    guarded("storage",
            [=](subscribe_atom, event_feed_actor feed) { self->state.feed = std::move(feed); }),
    guarded("storage",
            [=](info_atom) -> caf::result<storage_info> {
              auto rp = self->make_response_promise<storage_info>();
              info(self, rp);
              return rp;
            }),
    guarded("storage", [=](caf::close_atom) -> caf::result<bool> { return close(self); }),
    guarded("storage",
            [=](rpc_reply_atom, uint64_t token, const reply_ptr& reply) {
              on_reply(self, token, *reply);
            }),
    guarded("storage",
            [=](rpc_retry_atom, uint64_t token) {
              if (self->state.conn && self->state.queries.count(token))
                issue(self, token);
            }),
    guarded("storage", [=](connected_atom, const setup_done& done) { set_up(self, done); }),
    guarded("storage",
            [=](live_event_atom, task_event& ev) {
              if (self->state.feed)
                self->send(self->state.feed, publish_atom_v, std::vector<task_event>{std::move(ev)});
            }),
  };
}

} // namespace

void run(pointer self, statement st, query_done done, bool during_setup) {
  if (!self->state.conn) {
    query_outcome closed;
    closed.st = {errc::unavailable, "the storage backend has been closed"};
    return done(std::move(closed));
  }
  auto token = ++self->state.next_token;
  self->state.queries.emplace(token, pending_query{std::move(st), std::move(done), 0, during_setup});
  issue(self, token);
}

caf::error refusal(const options& o) {
  return make_error(errc::invalid, "the SurrealDB database at " + where(o)
                                     + " is opened read-only: nothing may be written");
}

} // namespace orch::surreal

namespace orch {

result<storage_actor> spawn_surreal_storage(caf::actor_system& sys, const surreal::options& o) {
  using namespace surreal;
  if (o.url.empty())
    return status{errc::invalid, "--storage-type surrealdb-server needs --surrealdb-url "
                                 "(ws://host:port or wss://host:port)"};
  if (!is_valid_ns_name(o.ns) || !is_valid_ns_name(o.db))
    return status{errc::invalid, "--surrealdb-namespace and --surrealdb-database must be "
                                 "1-64 characters of A-Z a-z 0-9 _ -"};
  client_config c{o.url, o.ns, o.db, o.username, o.password, o.ca_file};
  c.create_missing = !o.read_only;
  auto conn = std::make_shared<client>(c);
  auto actor = sys.spawn([conn, o](pointer self) {
    self->state.opts = o;
    self->state.conn = conn;
    return behavior(self);
  });
  // The actor sets each connection up; this thread waits for the first one.
  mailbox box{actor};
  conn->set_handlers(
    [box](std::function<void(std::string)> done) {
      box.post(connected_atom_v, std::make_shared<std::function<void(std::string)>>(std::move(done)));
    },
    [box](const json& n) { on_notification(box, n); });
  if (auto err = conn->start(); !err.empty()) {
    caf::anon_send(storage_actor{actor}, caf::close_atom_v);
    return status{errc::unavailable, err};
  }
  return storage_actor{actor};
}

} // namespace orch
