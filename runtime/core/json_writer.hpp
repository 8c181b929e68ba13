// A small streaming JSON writer that produces exactly the canonical text of
// codec.hpp (nlohmann's dump() of the same value: no whitespace, the same
// escaping) without building a JSON tree first. Records are written on every
// state change, so their encoding is on the hot path. The caller emits object
// keys in sorted order; unit tests compare the output with nlohmann's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace orch {

class json_writer {
public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view{s}); }
  json_writer& value(const std::string& s) { return value(std::string_view{s}); }
  json_writer& value(int64_t v);
  json_writer& value(uint64_t v);
  json_writer& value(int32_t v) { return value(static_cast<int64_t>(v)); }
  json_writer& value(uint32_t v) { return value(static_cast<uint64_t>(v)); }
  json_writer& value(bool v);
  json_writer& value(double v);
  json_writer& null();
  /// A value given as JSON text that is already canonical (a nested record
  /// value kept as text, schema::json_field), written as it is.
  json_writer& raw_json(std::string_view text);
  json_writer& value(const std::vector<std::string>& xs);
  json_writer& value(const std::map<std::string, std::string>& xs);

  std::string take() { return std::move(out_); }

private:
  void separate();
  void write_string(std::string_view s);

  std::string out_;
  std::vector<bool> first_;                  // per open object: no member written yet
  bool after_key_ = false;
};

} // namespace orch
