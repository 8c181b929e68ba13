#include "runtime/core/task_search.hpp"

#include <algorithm>

#include "runtime/core/clock.hpp"
#include "runtime/core/field_decoder.hpp"
#include "runtime/core/query_params.hpp"
#include "runtime/core/utf8.hpp"

namespace orch {

namespace {

bool is_word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}


bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto n = utf8_length(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

void append_words(std::string& out, std::string_view text) {
  for (auto& w : search_words(text))
    out += w + ' ';
}

/// Does a word of `words` (each followed by ' ') start with `w`?
bool starts_a_word(const std::string& words, const std::string& w) {
  for (size_t at = words.find(w); at != std::string::npos; at = words.find(w, at + 1))
    if (at == 0 || words[at - 1] == ' ')
      return true;
  return false;
}

bool all_start_words(const std::vector<std::string>& ws, const std::string& a,
                     const std::string* b) {
  for (auto& w : ws)
    if (!starts_a_word(a, w) && (b == nullptr || !starts_a_word(*b, w)))
      return false;
  return true;
}

struct raw_term {
  std::string text;                          // quotes removed
  bool quoted_whole = false;                 // it began with a quote: all of it is text
};

/// The query's terms, split at spaces outside quotes.
result<std::vector<raw_term>> split_terms(std::string_view q) {
  std::vector<raw_term> terms;
  std::string cur;
  bool in_quotes = false, have = false, quoted_whole = false;
  for (char c : q) {
    if (c == '"') {
      if (!have)
        quoted_whole = true;
      in_quotes = !in_quotes;
      have = true;
    } else if (!in_quotes && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      if (have)
        terms.push_back({std::move(cur), quoted_whole});
      cur.clear();
      have = quoted_whole = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (in_quotes)
    return invalid_input("the search has an unterminated quote (\"): close it, or leave quotes out");
  if (have)
    terms.push_back({std::move(cur), quoted_whole});
  return terms;
}

/// "2026-12-01" (midnight UTC) or an RFC 3339 time.
bool parse_search_time(const std::string& text, micros& out) {
  if (text.size() == 10 && parse_rfc3339(text + "T00:00:00Z", out))
    return true;
  return parse_rfc3339(text, out);
}

const std::map<std::string, search_field, std::less<>>& field_names() {
  static const std::map<std::string, search_field, std::less<>> names{
    {"id", search_field::id},         {"name", search_field::name},
    {"cmd", search_field::command},   {"command", search_field::command},
    {"label", search_field::label},   {"status", search_field::status},
    {"node", search_field::node},     {"owner", search_field::owner},
  };
  return names;
}

status parse_term(const std::string& raw, bool quoted_whole, task_search& out) {
  auto colon = quoted_whole ? std::string::npos : raw.find(':');
  if (colon == std::string::npos) {
    search_term t;
    t.text = lowered(raw);
    t.words = search_words(raw);
    if (t.words.empty())
      return invalid_input("search term " + shown_value(raw) + " has no letters or digits to look for");
    out.terms.push_back(std::move(t));
    return {};
  }
  auto name = lowered(std::string_view{raw}.substr(0, colon));
  auto value = raw.substr(colon + 1);
  if (name == "since" || name == "until") {
    micros t = 0;
    if (!parse_search_time(value, t))
      return invalid_input(name + ":" + shown_value(value)
                           + " is not a time (write 2026-12-01 or 2026-12-01T08:00:00Z)");
    if (name == "since")
      out.since = std::max(out.since, t);
    else
      out.until = out.until == 0 ? t : std::min(out.until, t);
    return {};
  }
  auto f = field_names().find(name);
  if (f == field_names().end())
    return invalid_input("unknown search field " + shown_value(name)
                         + " (known: id, name, cmd, label, status, node, owner, since, until); "
                           "to look for text with a ':', put it in quotes");
  if (value.empty())
    return invalid_input("search field '" + name + ":' needs a value after the colon");
  search_term t;
  t.field = f->second;
  switch (t.field) {
    case search_field::id: t.text = lowered(value); break;
    case search_field::name:
    case search_field::command:
      t.words = search_words(value);
      if (t.words.empty())
        return invalid_input(name + ":" + shown_value(value) + " has no letters or digits to look for");
      break;
    case search_field::label:
      if (auto eq = value.find('='); eq != std::string::npos) {
        t.text = value.substr(0, eq);
        t.has_value = true;
        t.value = value.substr(eq + 1);
      } else {
        t.text = value;
      }
      if (t.text.empty())
        return invalid_input("label:" + shown_value(value) + " needs a key (label:team or label:team=infra)");
      break;
    case search_field::status:
      for (auto& s : split_nonempty(value, ',')) {
        task_status st;
        if (auto problem = status_param(s, st); !problem)
          return problem;
        t.statuses.push_back(st);
      }
      if (t.statuses.empty())
        return invalid_input("status: needs a status (status:failed or status:failed,cancelled)");
      break;
    case search_field::node:
    case search_field::owner: t.text = value; break;
    case search_field::any: break;
  }
  out.terms.push_back(std::move(t));
  return {};
}

} // namespace

std::vector<std::string> search_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (is_word_byte(static_cast<unsigned char>(c))) {
      cur += lower(c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty())
    out.push_back(std::move(cur));
  return out;
}

result<task_search> parse_task_search(std::string_view q) {
  if (q.size() > max_search_length)
    return invalid_input("the search is " + std::to_string(q.size()) + " bytes long; at most "
                         + std::to_string(max_search_length) + " are accepted");
  if (!valid_utf8(q))
    return invalid_input("the search is not valid UTF-8");
  auto terms = split_terms(q);
  if (!terms)
    return terms.error();
  if (terms->size() > max_search_terms)
    return invalid_input("the search has " + std::to_string(terms->size()) + " terms; at most "
                         + std::to_string(max_search_terms) + " are accepted");
  task_search out;
  for (auto& raw : *terms)
    if (auto st = parse_term(raw.text, raw.quoted_whole, out); !st)
      return st;
  if (out.since != 0 && out.until != 0 && out.until <= out.since)
    return invalid_input("the search's until: is not after its since:");
  return out;
}

result<task_search> apply_search(record_query& q) {
  if (q.search.empty())
    return task_search{};
  if (q.kind != record_kind::task)
    return invalid_input(std::string{"only tasks can be searched, not "} + to_string(q.kind));
  auto s = parse_task_search(q.search);
  if (!s)
    return s;
  if (s->since != 0)
    q.since = std::max(q.since, s->since);
  if (s->until != 0)
    q.until = q.until == 0 ? s->until : std::min(q.until, s->until);
  return s;
}

search_doc make_search_doc(const task& t) {
  search_doc d;
  append_words(d.name_words, t.name);
  append_words(d.command_words, t.command);
  for (auto& a : t.args)
    append_words(d.command_words, a);
  append_words(d.command_words, t.script_file);
  d.labels = t.labels;
  d.node = t.node;
  d.owner = t.owner;
  return d;
}

status read_searchable(std::string_view task_json, searchable_task& out) {
  static const auto keep = schema::fields_named<task>(
    {"id", "status", "name", "command", "args", "script_file", "labels", "node", "owner"});
  schema::decode_rules rules;
  rules.keep = &keep;
  task t;
  if (auto st = schema::decode_object(task_json, t, rules); !st)
    return st;
  out.id = std::move(t.id);
  out.status = t.status;
  out.doc = make_search_doc(t);
  return {};
}

bool search_matches_json(const task_search& s, std::string_view task_json) {
  searchable_task t;
  return read_searchable(task_json, t).ok() && search_matches(s, t.id, t.status, t.doc);
}

bool search_matches(const task_search& s, std::string_view id, task_status status,
                    const search_doc& doc) {
  std::string id_lower;  // made once, by the first term that needs it
  auto id_starts = [&](const std::string& prefix) {
    if (id_lower.empty())
      id_lower = lowered(id);
    return id_lower.rfind(prefix, 0) == 0;
  };
  for (auto& t : s.terms) {
    bool ok = false;
    switch (t.field) {
      case search_field::any:
        ok = id_starts(t.text) || all_start_words(t.words, doc.name_words, &doc.command_words);
        break;
      case search_field::id: ok = id_starts(t.text); break;
      case search_field::name: ok = all_start_words(t.words, doc.name_words, nullptr); break;
      case search_field::command: ok = all_start_words(t.words, doc.command_words, nullptr); break;
      case search_field::label: {
        auto i = doc.labels.find(t.text);
        ok = i != doc.labels.end() && (!t.has_value || i->second == t.value);
        break;
      }
      case search_field::status:
        ok = std::find(t.statuses.begin(), t.statuses.end(), status) != t.statuses.end();
        break;
      case search_field::node: ok = doc.node == t.text; break;
      case search_field::owner: ok = doc.owner == t.text; break;
    }
    if (!ok)
      return false;
  }
  return true;
}

} // namespace orch
