#include "tests/support/dataset.hpp"

#include "tests/support/must.hpp"
#include "tests/support/open.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <openssl/evp.h>

#include "runtime/messages/actor_env.hpp"
#include "runtime/core/codec.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/migrate/verify.hpp"
#include "backends/storage_client.hpp"
#include "backends/open_storage.hpp"
#include "tests/support/temp_dir.hpp"

namespace orch::test {

namespace {

constexpr task_status statuses[] = {task_status::pending,   task_status::queued,
                                    task_status::running,   task_status::completed,
                                    task_status::failed,    task_status::cancelled};

/// Writes in batches of spec.batch records.
class batch_writer {
public:
  batch_writer(storage_client& db, uint32_t size) : db_(db), size_(size) {}
  ~batch_writer() noexcept(false) { flush(); }
  void add(record r) {
    batch_.push_back(std::move(r));
    if (batch_.size() >= size_)
      flush();
  }
  void flush() {
    if (batch_.empty())
      return;
    must(db_.put(batch_), "writing the data set");
    batch_.clear();
  }

private:
  storage_client& db_;
  uint32_t size_;
  std::vector<record> batch_;
};

} // namespace

std::map<record_kind, size_t> expected_counts(const dataset_spec& spec) {
  size_t queued = 0, running = 0;
  for (size_t i = 0; i < spec.tasks; ++i) {
    queued += statuses[i % 6] == task_status::queued;
    running += statuses[i % 6] == task_status::running;
  }
  return {{record_kind::task, spec.tasks},
          {record_kind::queue, queued + running},
          {record_kind::user, spec.users},
          {record_kind::audit, spec.audit},
          {record_kind::metric, spec.metrics},
          {record_kind::event, spec.tasks * spec.events_per_task},
          {record_kind::schedule, spec.schedules},
          // Each workflow takes two tasks of the set.
          {record_kind::workflow, std::min(spec.workflows, spec.tasks > 0 ? spec.tasks - 1 : 0)}};
}

void fill(caf::actor_system& sys, const storage_settings& where, const dataset_spec& spec) {
  storage_client db{sys, open_or_throw(sys, where)};
  {
    batch_writer out{db, spec.batch};
    std::vector<std::string> ids;
    for (size_t i = 0; i < spec.tasks; ++i) {
      task t;
      t.id = new_uuid_v4();
      t.name = "task-" + std::to_string(i) + (i % 7 == 0 ? " with ünïcode and \"quotes\"" : "");
      if (i % 3 == 0) {
        t.script = "echo " + std::to_string(i) + " | str length";
      } else {
        t.command = "/bin/echo";
        t.args = {"hello", std::to_string(i)};
      }
      t.env = {{"N", std::to_string(i)}};
      t.priority = static_cast<int32_t>(i % 11) - 5;
      t.status = statuses[i % 6];
      t.created_at = spec.first_created + static_cast<micros>(i) * spec.spacing;
      t.max_retries = static_cast<uint32_t>(i % 4);
      t.timeout_s = i % 2 ? 30 : 0;
      t.labels = {{"team", i % 2 ? "blue" : "green"}};
      t.owner = "user-" + std::to_string(i % std::max<size_t>(spec.users, 1));
      t.revision = 1 + i % 5;
      if (i > 0 && i % 5 == 0)
        t.dependencies = {ids[i - 1]};
      if (t.status != task_status::pending && t.status != task_status::queued) {
        t.attempts = 1;
        t.started_at = t.created_at + 1000000;
      }
      if (is_terminal(t.status)) {
        t.completed_at = t.started_at + 2000000;
        t.has_exit_code = t.status != task_status::cancelled;
        t.exit_code = t.status == task_status::failed ? 3 : 0;
        t.output = "out " + std::to_string(i) + "\n";
        if (t.status == task_status::failed) {
          t.error_output = "boom\n";
          t.error = "exit code 3";
        }
      }
      ids.push_back(t.id);
      out.add(to_record(t));
      if (t.status == task_status::queued || t.status == task_status::running) {
        queue_entry q;
        q.task_id = t.id;
        q.priority = t.priority;
        q.enqueued_at = t.created_at;
        q.attempt = t.attempts;
        if (t.status == task_status::running) {
          q.claimed_by = "worker-" + std::to_string(i % 3);
          q.lease_until = t.started_at + 30000000;
        }
        out.add(to_record(q));
      }
      for (size_t e = 0; e < spec.events_per_task; ++e) {
        task_event ev;
        ev.time = t.created_at + static_cast<micros>(e) * 1000;
        ev.id = new_uuid_v7(ev.time);
        ev.task_id = t.id;
        ev.kind = e == 0 ? "created" : "queued";
        ev.status = e == 0 ? "Pending" : "Queued";
        ev.details = "event " + std::to_string(e);
        out.add(to_record(ev));
      }
    }
    for (size_t i = 0; i < spec.users; ++i) {
      user u;
      u.username = "user-" + std::to_string(i);
      u.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$" + std::to_string(i * 7919);
      u.roles = i == 0 ? std::vector<std::string>{"admin"}
                       : std::vector<std::string>{"operator", "viewer"};
      u.created_at = spec.first_created + static_cast<micros>(i) * 60000000;
      u.disabled = i % 9 == 8;
      out.add(to_record(u));
    }
    for (size_t i = 0; i < spec.audit; ++i) {
      audit_record a;
      a.time = spec.first_created + static_cast<micros>(i) * 90000000;
      a.id = new_uuid_v7(a.time);
      a.principal = "user-" + std::to_string(i % std::max<size_t>(spec.users, 1));
      a.action = i % 2 ? "task.submit" : "task.cancel";
      a.target = ids.empty() ? "" : ids[i % ids.size()];
      a.outcome = i % 10 ? "ok" : "denied";
      a.details = "audit " + std::to_string(i);
      out.add(to_record(a));
    }
    for (size_t i = 0; i < spec.metrics; ++i) {
      metric_sample m;
      m.time = spec.first_created + static_cast<micros>(i) * 60000000;
      m.id = new_uuid_v7(m.time);
      m.name = i % 2 ? "tasks_queued" : "tasks_running";
      m.labels = {{"instance", "i-" + std::to_string(i % 2)}};
      m.value = static_cast<double>(i) * 0.5;
      out.add(to_record(m));
    }
    for (size_t i = 0; i < spec.schedules; ++i) {
      schedule s;
      s.name = "schedule-" + std::to_string(i);
      s.cron = i % 2 ? "*/5 * * * *" : "0 3 * * MON-FRI";
      s.timezone = i % 3 ? "UTC" : "Europe/Berlin";
      s.task = R"({"args":["-c","echo \"ünï\" )" + std::to_string(i)
               + R"("],"command":"sh","labels":{"team":"blue"},"max_retries":2})";
      s.overlap = i % 3 == 0 ? "skip" : i % 3 == 1 ? "queue" : "allow";
      s.catch_up = i % 2 ? "once" : "skip";
      s.paused = i % 4 == 3;
      s.created_at = spec.first_created + static_cast<micros>(i) * 60000000;
      s.next_firing = s.created_at + 300000000;
      s.firings = i;
      s.owner = "user-0";
      s.revision = 1 + i;
      out.add(to_record(s));
    }
    for (size_t i = 0; i < spec.workflows && i + 1 < ids.size(); ++i) {
      workflow w;
      w.id = new_uuid_v4();
      w.name = "workflow-" + std::to_string(i) + (i % 3 ? "" : " ünïcode");
      w.nodes = R"([{"after":[],"key":"a","task_id":")" + ids[i] + R"("},{"after":["a"],"key":"b","task_id":")"
                + ids[i + 1] + R"("}])";
      w.on_failure = "cancel-dependants";
      w.owner = "user-0";
      w.created_at = spec.first_created + static_cast<micros>(i) * 120000000;
      out.add(to_record(w));
    }
  }
  must(db.close(), "closing after the data set");
}

dump_t dump(caf::actor_system& sys, const storage_settings& where) {
  auto ro = where;
  ro.read_only = true;
  storage_client db{sys, open_or_throw(sys, ro)};
  dump_t out;
  for (auto kind : all_record_kinds) {
    auto& into = out[kind];
    std::string after;
    for (;;) {
      auto page = db.scan(kind, after, 1000);
      if (!page.ok())
        throw std::runtime_error("dump: scanning " + std::string{to_string(kind)}
                                 + " failed: " + page.message());
      if (page.value().empty())
        break;
      for (auto& r : page.value())
        into.emplace(r.key, canonical(json::parse(r.json)));
      after = page.value().back().key;
    }
  }
  must(db.close(), "closing after the data set");
  return out;
}

void settle(caf::actor_system& sys, const storage_settings& where) {
  storage_client db{sys, open_or_throw(sys, where)};
  must(db.close(), "closing after settling");
}

dump_t copied_records(dump_t d) {
  auto& audit = d[record_kind::audit];
  for (auto i = audit.begin(); i != audit.end();)
    i = migration::is_migration_record({record_kind::audit, i->first, i->second}) ? audit.erase(i)
                                                                                  : std::next(i);
  return d;
}

std::vector<json> migration_records(const dump_t& d) {
  std::vector<json> out;
  if (auto audit = d.find(record_kind::audit); audit != d.end())
    for (auto& [key, text] : audit->second)
      if (migration::is_migration_record({record_kind::audit, key, text}))
        out.push_back(json::parse(text));
  return out;
}

std::map<record_kind, size_t> counts_of(const dump_t& d) {
  std::map<record_kind, size_t> out;
  for (auto& [kind, records] : d)
    out[kind] = records.size();
  return out;
}

std::string tree_digest(const std::string& dir) {
  namespace stdfs = std::filesystem;
  std::error_code ec;
  if (!stdfs::exists(dir, ec))
    return "";
  std::vector<std::string> paths;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec))
    paths.push_back(stdfs::relative(it->path(), dir).string()
                    + (it->is_directory() ? "/" : ""));
  std::sort(paths.begin(), paths.end());
  auto* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  for (auto& p : paths) {
    EVP_DigestUpdate(md, p.data(), p.size() + 1);
    if (p.back() != '/') {
      auto bytes = slurp(dir + "/" + p);
      auto size = std::to_string(bytes.size());
      EVP_DigestUpdate(md, size.data(), size.size() + 1);
      EVP_DigestUpdate(md, bytes.data(), bytes.size());
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(md, out, &len);
  EVP_MD_CTX_free(md);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

} // namespace orch::test
