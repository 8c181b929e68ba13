#include "runtime/core/canonical_text.hpp"

#include <vector>

#include "runtime/core/json_tokens.hpp"

namespace orch {

namespace {

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/// Whether an escaped string is written by dump() exactly as it stands:
/// \" \\ \b \f \n \r \t, and \u00xx (lower-case hex) for the other control
/// characters. Anything else (\/, \u00e9, upper-case hex) reads the same
/// but dumps differently.
bool escapes_as_dump_writes_them(std::string_view raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\')
      continue;
    if (++i >= raw.size())
      return false;
    switch (raw[i]) {
      case '"':
      case '\\':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        break;
      case 'u': {
        if (i + 4 >= raw.size())
          return false;
        auto h = raw.substr(i + 1, 4);
        if (h[0] != '0' || h[1] != '0' || !is_lower_hex(h[2]) || !is_lower_hex(h[3]))
          return false;
        auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
        int v = nibble(h[2]) * 16 + nibble(h[3]);
        if (v >= 0x20 || v == 0x08 || v == 0x09 || v == 0x0a || v == 0x0c || v == 0x0d)
          return false;
        i += 4;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

} // namespace

bool canonical_from_text(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  json_tokens t{text};
  // Per open container: is it an object, has it had an element, its last key.
  struct level {
    bool object;
    bool any = false;
    std::string_view last_key;
  };
  std::vector<level> open;
  bool after_key = false;
  // A value (or a key) in an array (or an object) after the first needs a comma.
  auto separate = [&] {
    if (after_key) {
      after_key = false;
      return;
    }
    if (!open.empty()) {
      if (open.back().any)
        out += ',';
      open.back().any = true;
    }
  };
  for (;;) {
    switch (t.next()) {
      case json_tokens::tok::begin_object:
        separate();
        out += '{';
        open.push_back({true, false, {}});
        break;
      case json_tokens::tok::begin_array:
        separate();
        out += '[';
        open.push_back({false, false, {}});
        break;
      case json_tokens::tok::end_object:
        out += '}';
        open.pop_back();
        break;
      case json_tokens::tok::end_array:
        out += ']';
        open.pop_back();
        break;
      case json_tokens::tok::key: {
        auto key = t.raw();
        auto& obj = open.back();
        // Keys must already be in dump()'s order (std::map: byte-wise) and
        // unique; escaped keys would need unescaping to compare.
        if (t.has_escapes() || (obj.any && !(obj.last_key < key)))
          return false;
        separate();
        obj.last_key = key;
        out += '"';
        out += key;
        out += "\":";
        after_key = true;
        break;
      }
      case json_tokens::tok::string:
        if (t.has_escapes() && !escapes_as_dump_writes_them(t.raw()))
          return false;
        separate();
        out += '"';
        out += t.raw();
        out += '"';
        break;
      case json_tokens::tok::integer: {
        auto digits = t.number_text();
        // -0 reads as 0; below -2^63 reads as a floating-point number.
        if (t.negative() && (t.magnitude() == 0 || t.magnitude() > (uint64_t{1} << 63)))
          return false;
        separate();
        out += digits;
        break;
      }
      case json_tokens::tok::floating:
        return false;  // dump() writes floating-point numbers its own way
      case json_tokens::tok::boolean:
        separate();
        out += t.bool_value() ? "true" : "false";
        break;
      case json_tokens::tok::null:
        separate();
        out += "null";
        break;
      case json_tokens::tok::end:
        return true;
      case json_tokens::tok::error:
        return false;
    }
  }
}

bool pretty_from_canonical(std::string_view canonical, std::string& out) {
  out.clear();
  out.reserve(canonical.size() + canonical.size() / 2);
  size_t depth = 0;
  auto new_line = [&] {
    out += '\n';
    out.append(depth * 2, ' ');
  };
  for (size_t i = 0; i < canonical.size(); ++i) {
    char c = canonical[i];
    switch (c) {
      case '"': {
        // Copied as it stands, escapes included.
        auto end = i + 1;
        while (end < canonical.size() && canonical[end] != '"')
          end += canonical[end] == '\\' ? 2 : 1;
        out.append(canonical.substr(i, end + 1 - i));
        i = end;
        break;
      }
      case '{':
      case '[':
        out += c;
        if (i + 1 < canonical.size() && (canonical[i + 1] == '}' || canonical[i + 1] == ']')) {
          out += canonical[++i];
          break;
        }
        ++depth;
        new_line();
        break;
      case '}':
      case ']':
        if (depth > 0)
          --depth;
        new_line();
        out += c;
        break;
      case ',':
        out += ',';
        new_line();
        break;
      case ':':
        out += ": ";
        break;
      case ' ':
      case '\n':
      case '\t':
      case '\r':
        return false;
      default:
        out += c;
    }
  }
  out += '\n';
  return true;
}

} // namespace orch
