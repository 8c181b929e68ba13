#include "backends/surrealdb/surreal_storage.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <set>

#include "caf/all.hpp"

#include "backends/engine/group_plan.hpp"
#include "runtime/core/ids.hpp"
#include "backends/engine/storage_engine.hpp"
#include "backends/surrealdb/surreal_client.hpp"
#include "backends/surrealdb/surreal_queries.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/transitions.hpp"

namespace orch {

namespace {

using surreal::json;
using surreal::statement;

constexpr int max_conflict_retries = 40;

/// What one `query` RPC came to.
struct outcome {
  bool ok = false;
  errc code = errc::internal;
  std::string message;
  int precondition = -1;                     // index of the failed precondition
  std::vector<json> results;                 // each statement's result, on success
};

std::chrono::milliseconds retry_delay(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto cap = std::min(5 + attempt * 10, 200);
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(1, cap)(rng));
}

/// Reads a `query` reply: any statement with status ERR makes it fail. A
/// thrown precondition wins over everything (the other entries only say
/// "not executed"); a transaction conflict is retryable.
outcome interpret(const surreal::rpc_result& r, bool& retry) {
  outcome o;
  retry = false;
  if (!r.ok) {
    o.code = r.code == errc::unavailable ? errc::unavailable : errc::internal;
    o.message = r.message;
    retry = r.code == errc::conflict;
    return o;
  }
  if (!r.value.is_array()) {
    o.message = "unexpected reply to a query: " + r.value.dump();
    return o;
  }
  std::string first_error;
  bool conflict = false;
  for (auto& entry : r.value) {
    if (!entry.is_object() || entry.value("status", std::string{}) != "ERR") {
      if (entry.is_object())
        o.results.push_back(entry.contains("result") ? entry["result"] : json{});
      continue;
    }
    auto msg = entry.contains("result") && entry["result"].is_string()
                 ? entry["result"].get<std::string>()
                 : entry.dump();
    if (auto p = msg.find("orch-precondition:"); p != std::string::npos) {
      o.precondition = std::atoi(msg.c_str() + p + 18);
      o.code = errc::conflict;
      o.message = msg;
      return o;
    }
    if (surreal::is_retryable_conflict(msg))
      conflict = true;
    else if (first_error.empty() && msg.find("not executed") == std::string::npos)
      first_error = msg;
  }
  if (conflict) {
    retry = true;
    o.code = errc::conflict;
    o.message = "transaction conflict";
    return o;
  }
  if (!first_error.empty()) {
    o.message = "SurrealDB refused the query: " + first_error;
    return o;
  }
  o.ok = true;
  return o;
}

caf::error to_error(const outcome& o) {
  return make_error(o.code, o.message);
}

uint64_t count_of(const json& result) {
  if (result.is_array() && !result.empty() && result[0].is_object())
    return result[0].value("count", uint64_t{0});
  return 0;
}

micros time_of(const json& v) {
  micros t = 0;
  if (v.is_string())
    parse_rfc3339(v.get_ref<const std::string&>(), t);
  return t;
}

/// The connection and everything done with it; callbacks run on the client's
/// thread and touch nothing but this object and the promises they carry.
surreal::client_config client_config_of(const storage_settings& s) {
  surreal::client_config c{s.surrealdb_url, s.surrealdb_namespace, s.surrealdb_database,
                           s.surrealdb_username, s.surrealdb_password, s.surrealdb_ca_file};
  c.create_missing = !s.read_only;
  return c;
}

class surreal_store : public std::enable_shared_from_this<surreal_store> {
public:
  explicit surreal_store(const storage_settings& s)
    : settings_(s),
      client_(client_config_of(s)) {}

  std::string start() {
    auto weak = weak_from_this();
    client_.set_handlers(
      [weak](std::function<void(std::string)> done) {
        if (auto self = weak.lock())
          self->set_up(std::move(done));
        else
          done("");
      },
      [weak](const json& n) {
        if (auto self = weak.lock())
          self->on_notification(n);
      });
    return client_.start();
  }

  void stop() { client_.stop(); }

  const std::string& where() const { return client_.where(); }

  // -- running queries ---------------------------------------------------------------

  /// Runs a statement; transaction conflicts are retried with a growing,
  /// randomised delay. `setup`: also while the connection is being set up.
  void run(statement st, std::function<void(outcome)> done, int attempt = 0,
           bool setup = false) {
    auto self = shared_from_this();
    auto params = json::array({st.text, st.vars});
    auto on_reply = [self, st, done, attempt, setup](surreal::rpc_result r) mutable {
      bool retry = false;
      auto o = interpret(r, retry);
      if (retry && attempt < max_conflict_retries) {
        self->client_.after(retry_delay(attempt), [self, st = std::move(st),
                                                   done = std::move(done), attempt, setup]() mutable {
          self->run(std::move(st), std::move(done), attempt + 1, setup);
        });
        return;
      }
      if (retry)
        o.message = "gave up after " + std::to_string(attempt + 1) + " transaction conflicts";
      if (!o.ok && self->settings_.read_only
          && (o.message.find("does not exist") != std::string::npos
              || o.message.find("Specify a namespace") != std::string::npos
              || o.message.find("Specify a database") != std::string::npos)) {
        // Read-only defines and creates nothing, so the tables, or the very
        // namespace or database, of a fresh place are missing: empty.
        o.ok = true;
        o.results = {json::array()};
      }
      done(std::move(o));
    };
    if (setup)
      client_.call_during_setup("query", std::move(params), std::move(on_reply));
    else
      client_.call("query", std::move(params), std::move(on_reply));
  }

  // -- set-up after every (re)connect ---------------------------------------------

  void set_up(std::function<void(std::string)> done) {
    if (settings_.read_only)
      return done("");  // define nothing, and no live query: nobody will write
    auto self = shared_from_this();
    auto ns = settings_.surrealdb_namespace, db = settings_.surrealdb_database;
    run(
      {surreal::schema_ns_db(ns, db), json::object()},
      [self, done](outcome o) {
        // A database-level user may not define them; if they exist, fine.
        if (!o.ok && o.message.find("IAM error") == std::string::npos) {
          done("cannot prepare namespace/database on SurrealDB at " + self->where() + ": "
               + o.message);
          return;
        }
        self->run(
          {surreal::schema_tables(), json::object()},
          [self, done](outcome o2) {
            if (!o2.ok) {
              done("cannot define the orchestrator's tables on SurrealDB at " + self->where()
                   + " (namespace " + self->settings_.surrealdb_namespace + ", database "
                   + self->settings_.surrealdb_database + "): " + o2.message
                   + ". The user needs the EDITOR or OWNER role there");
              return;
            }
            self->run(
              {surreal::live_events_statement(), json::object()},
              [self, done](outcome o3) {
                if (!o3.ok)
                  log_warn("surrealdb", "live query on task_events failed (" + o3.message
                                          + "); events of other instances arrive late");
                done("");
              },
              0, true);
          },
          0, true);
      },
      0, true);
  }

  void on_notification(const json& n) {
    auto doc = n.find("result");
    if (doc == n.end() || !doc->is_object() || n.value("action", std::string{}) == "DELETE")
      return;
    task_event ev;
    if (!decode(surreal::to_record(record_kind::event, *doc).json, ev))
      return;
    event_feed_actor feed;
    {
      std::lock_guard<std::mutex> g{feed_mutex_};
      feed = feed_;
    }
    if (feed)
      caf::anon_send(feed, publish_atom_v, std::vector<task_event>{std::move(ev)});
  }

  void set_feed(event_feed_actor feed) {
    std::lock_guard<std::mutex> g{feed_mutex_};
    feed_ = std::move(feed);
  }

  // -- storage operations ---------------------------------------------------------

  using commit_done = std::function<void(caf::expected<uint64_t>)>;

  /// Read-only (a migration's source, a dry run's target): writes refused.
  bool refuse_writes() const { return settings_.read_only; }
  caf::error refusal() const {
    return make_error(errc::invalid, "the SurrealDB database at " + where() + " (namespace "
                                       + settings_.surrealdb_namespace + ", database "
                                       + settings_.surrealdb_database
                                       + ") is opened read-only: nothing may be written");
  }

  void commit(const write_batch& b, commit_done done) {
    if (refuse_writes())
      return done(refusal());
    if (b.ops.empty() && b.expect.empty())
      return done(uint64_t{0});
    // Same validation as the local backends: bad records never reach the server.
    auto prepared = prepare_batch(b);
    if (!prepared.error.empty())
      return done(make_error(prepared.code, prepared.error));
    std::string error;
    auto st = surreal::batch_statement(b, error);
    if (!error.empty())
      return done(make_error(errc::invalid, error));
    auto applied = b.ops.size();
    auto expect = b.expect;
    run(std::move(st), [done, applied, expect](outcome o) {
      if (o.ok)
        return done(uint64_t{applied});
      if (o.precondition >= 0 && static_cast<size_t>(o.precondition) < expect.size()) {
        auto& p = expect[o.precondition];
        auto where = std::string{to_string(p.kind)} + "/" + p.key;
        o.message = p.check == precondition::absent    ? where + " already exists"
                    : p.check == precondition::present ? where + " does not exist"
                                                       : where + " changed concurrently ("
                                                           + p.field + ")";
      }
      done(to_error(o));
    });
  }

  void get(record_kind kind, const std::string& key, std::function<void(caf::expected<record>)> done) {
    if (!is_valid_key(kind, key))
      return done(make_error(errc::invalid, "'" + key + "' is not a valid key for "
                                              + to_string(kind)));
    run(surreal::get_statement(kind, key), [done, kind, key](outcome o) {
      if (!o.ok)
        return done(to_error(o));
      if (o.results.empty() || !o.results[0].is_object())
        return done(make_error(errc::not_found, not_found_message(kind, key)));
      done(surreal::to_record(kind, o.results[0]));
    });
  }

  void query(const record_query& q, std::function<void(caf::expected<record_page>)> done) {
    if (q.kind == record_kind::task && q.field == "dependencies") {
      if (!is_uuid(q.value))
        return done(record_page{});
      // The graph: tasks that depend on q.value. Small sets: page them here.
      return run(surreal::dependants_statement(q.value), [done, q](outcome o) {
        if (!o.ok)
          return done(to_error(o));
        std::vector<std::pair<micros, record>> found;
        if (!o.results.empty() && o.results[0].is_array())
          for (auto& doc : o.results[0]) {
            auto t = time_of(doc.value("created_at", json{}));
            if ((q.since == 0 || t >= q.since) && (q.until == 0 || t < q.until))
              found.emplace_back(t, surreal::to_record(record_kind::task, doc));
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
        done(std::move(page));
      });
    }
    std::string error;
    auto st = surreal::query_statement(q, error);
    if (!error.empty())
      return done(make_error(errc::invalid, error));
    run(std::move(st), [done, kind = q.kind](outcome o) {
      if (!o.ok)
        return done(to_error(o));
      record_page page;
      if (!o.results.empty() && o.results[0].is_array())
        for (auto& doc : o.results[0])
          page.items.push_back(surreal::to_record(kind, doc));
      page.total = o.results.size() > 1 ? count_of(o.results[1]) : page.items.size();
      done(std::move(page));
    });
  }

  void scan(record_kind kind, const std::string& after, uint32_t limit,
            std::function<void(caf::expected<std::vector<record>>)> done) {
    if (!after.empty() && !is_valid_key(kind, after))
      return done(make_error(errc::invalid, "'" + after + "' is not a valid key for "
                                              + to_string(kind)));
    if (limit == 0)
      return done(std::vector<record>{});
    run(surreal::scan_statement(kind, after, limit), [done, kind](outcome o) {
      if (!o.ok)
        return done(to_error(o));
      std::vector<record> out;
      if (!o.results.empty() && o.results[0].is_array())
        for (auto& doc : o.results[0])
          out.push_back(surreal::to_record(kind, doc));
      done(std::move(out));
    });
  }

  void count(record_kind kind, std::function<void(caf::expected<uint64_t>)> done) {
    run(surreal::count_statement(kind), [done](outcome o) {
      if (!o.ok)
        return done(to_error(o));
      done(o.results.empty() ? uint64_t{0} : count_of(o.results[0]));
    });
  }

  /// Claim in two steps: the atomic claim of the queue entries (with their
  /// lease), then, per entry, the task's start as one batch with a
  /// precondition on the task's revision. An entry whose task changed
  /// meanwhile (cancelled) is given back.
  void claim(const claim_request& req, std::function<void(caf::expected<claim_result>)> done) {
    if (refuse_writes())
      return done(refusal());
    auto self = shared_from_this();
    run(surreal::claim_statement(req), [self, req, done](outcome o) {
      if (!o.ok)
        return done(to_error(o));
      claim_result res;
      if (o.results.size() > 1 && o.results[1].is_array() && !o.results[1].empty())
        res.next_ready = time_of(o.results[1][0].value("not_before", json{}));
      std::vector<queue_entry> entries;
      if (!o.results.empty() && o.results[0].is_array())
        for (auto& doc : o.results[0]) {
          queue_entry e;
          if (decode(surreal::to_record(record_kind::queue, doc).json, e))
            entries.push_back(std::move(e));
        }
      if (entries.empty())
        return done(std::move(res));
      std::vector<std::string> ids;
      for (auto& e : entries)
        ids.push_back(e.task_id);
      self->run(surreal::tasks_statement(ids), [self, req, done, entries,
                                                 res](outcome o2) mutable {
        if (!o2.ok) {
          for (auto& e : entries)
            self->release(e.task_id, req.worker);
          return done(to_error(o2));
        }
        std::map<std::string, task> tasks;
        if (!o2.results.empty() && o2.results[0].is_array())
          for (auto& doc : o2.results[0]) {
            task t;
            if (decode(surreal::to_record(record_kind::task, doc).json, t))
              tasks.emplace(t.id, std::move(t));
          }
        self->start_claimed(req, std::move(entries), std::move(tasks), std::move(res),
                            std::move(done));
      });
    });
  }

  void start_claimed(const claim_request& req, std::vector<queue_entry> entries,
                     std::map<std::string, task> tasks, claim_result res,
                     std::function<void(caf::expected<claim_result>)> done) {
    struct gather {
      size_t left;
      claim_result res;
      std::vector<std::optional<claimed_task>> slots;
      std::function<void(caf::expected<claim_result>)> done;
    };
    auto g = std::make_shared<gather>();
    g->left = entries.size();
    g->res = std::move(res);
    g->slots.resize(entries.size());
    g->done = std::move(done);
    auto finish_one = [g] {
      if (--g->left > 0)
        return;
      for (auto& s : g->slots)  // keep the claim order
        if (s)
          g->res.tasks.push_back(std::move(*s));
      g->done(std::move(g->res));
    };
    auto self = shared_from_this();
    for (size_t i = 0; i < entries.size(); ++i) {
      auto& e = entries[i];
      auto it = tasks.find(e.task_id);
      if (it == tasks.end() || it->second.status != task_status::queued) {
        // Its task is gone or no longer waiting: nothing to run.
        release(e.task_id, req.worker);
        finish_one();
        continue;
      }
      auto t = it->second;
      auto entry = e;
      auto tr = claim_transition(t, entry, req.worker, req.lease,
                                 {"scheduler:" + req.worker, req.now});
      std::string error;
      auto st = surreal::batch_statement(tr.batch, error);
      claimed_task ct{t, entry, tr.events.front()};
      run(std::move(st), [self, g, i, ct, req, finish_one](outcome o) mutable {
        if (o.ok)
          g->slots[i] = std::move(ct);
        else
          self->release(ct.claimed.id, req.worker);
        finish_one();
      });
    }
  }

  void release(const std::string& task_id, const std::string& worker) {
    run(surreal::release_statement(task_id, worker), [](outcome) {});
  }

  void renew(const std::string& worker, const std::vector<std::string>& ids, micros until,
             std::function<void(caf::expected<std::vector<std::string>>)> done) {
    if (refuse_writes())
      return done(refusal());
    if (ids.empty())
      return done(std::vector<std::string>{});
    run(surreal::renew_statement(worker, ids, until), [ids, done](outcome o) {
      if (!o.ok)
        return done(to_error(o));
      std::set<std::string> renewed;
      if (!o.results.empty() && o.results[0].is_array())
        for (auto& v : o.results[0])
          if (v.is_string())
            renewed.insert(v.get<std::string>());
      std::vector<std::string> lost;
      for (auto& id : ids)
        if (!renewed.count(id))
          lost.push_back(id);
      done(std::move(lost));
    });
  }

  void ping(std::function<void(caf::error)> done) {
    client_.call("ping", json::array(), [done](surreal::rpc_result r) {
      done(r.ok ? caf::error{} : make_error(errc::unavailable, r.message));
    });
  }

  storage_info info() const {
    return {"surrealdb-server",
            where() + " (namespace " + settings_.surrealdb_namespace + ", database "
              + settings_.surrealdb_database + ")",
            true,
            {}};
  }

private:
  storage_settings settings_;
  surreal::client client_;
  std::mutex feed_mutex_;
  event_feed_actor feed_;
};

// -- the actor -------------------------------------------------------------------------

struct surreal_state {
  surreal_state() = default;  // not an aggregate (see the gateway's state)
  std::shared_ptr<surreal_store> store;
  static inline const char* name = "surreal-storage";
};

using surreal_ptr = storage_actor::stateful_pointer<surreal_state>;

/// Delivers an expected<T> through a promise (from the client's thread).
template <class T>
auto deliver_to(caf::typed_response_promise<T> rp) {
  return [rp](caf::expected<T> x) mutable {
    if (x)
      rp.deliver(std::move(*x));
    else
      rp.deliver(std::move(x.error()));
  };
}

storage_actor::behavior_type surreal_behavior(surreal_ptr self, std::shared_ptr<surreal_store> store) {
  self->state.store = std::move(store);
  auto closed = [] { return make_error(errc::unavailable, "the storage backend has been closed"); };
  return {
    [=](commit_atom, const write_batch& b) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      self->state.store->commit(b, deliver_to(rp));
      return rp;
    },
    [=](caf::get_atom, record_kind kind, const std::string& key) -> caf::result<record> {
      auto rp = self->make_response_promise<record>();
      self->state.store->get(kind, key, deliver_to(rp));
      return rp;
    },
    [=](query_atom, const record_query& q) -> caf::result<record_page> {
      auto rp = self->make_response_promise<record_page>();
      self->state.store->query(q, deliver_to(rp));
      return rp;
    },
    [=](scan_atom, record_kind kind, const std::string& after,
        uint32_t limit) -> caf::result<std::vector<record>> {
      auto rp = self->make_response_promise<std::vector<record>>();
      self->state.store->scan(kind, after, limit, deliver_to(rp));
      return rp;
    },
    [=](count_atom, record_kind kind) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      self->state.store->count(kind, deliver_to(rp));
      return rp;
    },
    [=](claim_atom, const claim_request& req) -> caf::result<claim_result> {
      auto rp = self->make_response_promise<claim_result>();
      self->state.store->claim(req, deliver_to(rp));
      return rp;
    },
    [=](renew_atom, const std::string& worker, const std::vector<std::string>& ids,
        micros until) -> caf::result<std::vector<std::string>> {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      self->state.store->renew(worker, ids, until, deliver_to(rp));
      return rp;
    },
    [=](backup_atom, const std::string&) -> caf::result<std::string> {
      return make_error(errc::invalid,
                        "a surrealdb-server backend is backed up by copying its records: run "
                        "`orchestrator migrate --from surrealdb-server --to filesystem "
                        "--target-dir DIR`, or use SurrealDB's own export");
    },
    [=](subscribe_atom, event_feed_actor feed) { self->state.store->set_feed(std::move(feed)); },
    [=](info_atom) -> caf::result<storage_info> {
      // A round trip, so that GET /health says whether the database answers.
      auto rp = self->make_response_promise<storage_info>();
      auto store = self->state.store;
      store->ping([rp, store](caf::error err) mutable {
        if (err)
          rp.deliver(std::move(err));
        else
          rp.deliver(store->info());
      });
      return rp;
    },
    [=](caf::close_atom) -> caf::result<bool> {
      if (!self->state.store)
        return closed();
      self->state.store->stop();
      self->state.store.reset();
      self->quit();
      return true;
    },
  };
}

} // namespace

storage_actor spawn_surreal_storage(caf::actor_system& sys, const storage_settings& s) {
  if (s.surrealdb_url.empty())
    throw storage_failure{errc::invalid, "--storage-type surrealdb-server needs --surrealdb-url "
                                         "(ws://host:port or wss://host:port)"};
  if (!is_valid_ns_name(s.surrealdb_namespace) || !is_valid_ns_name(s.surrealdb_database))
    throw storage_failure{errc::invalid, "--surrealdb-namespace and --surrealdb-database must be "
                                         "1-64 characters of A-Z a-z 0-9 _ -"};
  auto store = std::make_shared<surreal_store>(s);
  if (auto err = store->start(); !err.empty()) {
    store->stop();
    throw storage_failure{errc::unavailable, err};
  }
  return sys.spawn([store](surreal_ptr self) { return surreal_behavior(self, store); });
}

} // namespace orch
