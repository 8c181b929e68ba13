#include "runtime/core/json_writer.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.hpp"

namespace orch {

void json_writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back())
      out_ += ',';
    first_.back() = false;
  }
}

json_writer& json_writer::begin_object() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_object() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

json_writer& json_writer::key(std::string_view k) {
  separate();
  write_string(k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

void json_writer::write_string(std::string_view s) {
  // Invalid UTF-8 is rare (program output); nlohmann replaces it with U+FFFD,
  // and so must we, to stay byte-identical: let nlohmann write that string.
  for (size_t i = 0; i < s.size();) {
    auto n = utf8_length(s, i);
    if (n == 0) {
      out_ += nlohmann::json(std::string{s}).dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace);
      return;
    }
    i += n;
  }
  out_ += '"';
  static const char hex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\b': out_ += "\\b"; break;
      case '\f': out_ += "\\f"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default:
        if (c < 0x20) {
          out_ += "\\u00";
          out_ += hex[c >> 4];
          out_ += hex[c & 0xf];
        } else {
          out_ += ch;
        }
    }
  }
  out_ += '"';
}

json_writer& json_writer::value(std::string_view s) {
  separate();
  write_string(s);
  return *this;
}

json_writer& json_writer::value(int64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}

json_writer& json_writer::value(uint64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}

json_writer& json_writer::value(bool v) {
  separate();
  out_ += v ? "true" : "false";
  return *this;
}

json_writer& json_writer::value(double v) {
  separate();
  out_ += nlohmann::json(v).dump();  // nlohmann's shortest round-trip format
  return *this;
}

json_writer& json_writer::raw_json(std::string_view text) {
  separate();
  out_ += text;
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_ += "null";
  return *this;
}

json_writer& json_writer::value(const std::vector<std::string>& xs) {
  separate();
  out_ += '[';
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out_ += ',';
    write_string(xs[i]);
  }
  out_ += ']';
  return *this;
}

json_writer& json_writer::value(const std::map<std::string, std::string>& xs) {
  separate();
  out_ += '{';
  bool first = true;
  for (auto& [k, v] : xs) {
    if (!first)
      out_ += ',';
    first = false;
    write_string(k);
    out_ += ':';
    write_string(v);
  }
  out_ += '}';
  return *this;
}

} // namespace orch
