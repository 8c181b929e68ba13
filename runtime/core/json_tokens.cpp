#include "runtime/core/json_tokens.hpp"

#include "runtime/core/hex.hpp"
#include "runtime/core/utf8.hpp"

namespace orch {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}


/// The code unit of a \uXXXX escape starting at s[i] (the backslash), or -1.
int unicode_escape(std::string_view s, size_t i) {
  if (i + 6 > s.size() || s[i] != '\\' || s[i + 1] != 'u')
    return -1;
  int v = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    int d = hex_digit(s[k]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

} // namespace

json_tokens::tok json_tokens::fail(const std::string& what) {
  if (error_.empty())
    error_ = "not valid JSON: " + what + " at byte " + std::to_string(pos_);
  done_ = true;
  pos_ = s_.size() + 1;  // every later call fails too
  return tok::error;
}

void json_tokens::skip_ws() {
  while (pos_ < s_.size()
         && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
    ++pos_;
}

json_tokens::tok json_tokens::after_value(tok t) {
  if (stack_.empty())
    done_ = true;
  return t;
}

json_tokens::tok json_tokens::next() {
  if (!error_.empty())
    return tok::error;
  if (done_) {
    skip_ws();
    return pos_ == s_.size() ? tok::end : fail("unexpected characters after the value");
  }
  skip_ws();
  if (pos_ >= s_.size())
    return fail("unexpected end of input");
  if (!started_) {
    started_ = true;
    return value_token();
  }
  char ch = s_[pos_];
  auto& c = stack_.back();
  switch (c) {
    case ctx::object_first:
      if (ch == '}') {
        ++pos_;
        stack_.pop_back();
        return after_value(tok::end_object);
      }
      [[fallthrough]];
    case ctx::object_key: {
      if (ch != '"')
        return fail("expected an object key");
      c = ctx::object_value;
      auto t = scan_string(true);
      if (t == tok::error)
        return t;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':')
        return fail("expected ':' after an object key");
      ++pos_;
      return tok::key;
    }
    case ctx::object_value:
      c = ctx::object_after;
      return value_token();
    case ctx::object_after:
      if (ch == ',') {
        ++pos_;
        c = ctx::object_key;
        return next();
      }
      if (ch == '}') {
        ++pos_;
        stack_.pop_back();
        return after_value(tok::end_object);
      }
      return fail("expected ',' or '}'");
    case ctx::array_first:
      if (ch == ']') {
        ++pos_;
        stack_.pop_back();
        return after_value(tok::end_array);
      }
      c = ctx::array_after;
      return value_token();
    case ctx::array_value:
      c = ctx::array_after;
      return value_token();
    case ctx::array_after:
      if (ch == ',') {
        ++pos_;
        c = ctx::array_value;
        return next();
      }
      if (ch == ']') {
        ++pos_;
        stack_.pop_back();
        return after_value(tok::end_array);
      }
      return fail("expected ',' or ']'");
  }
  return fail("internal tokenizer state");
}

json_tokens::tok json_tokens::value_token() {
  skip_ws();
  if (pos_ >= s_.size())
    return fail("unexpected end of input");
  auto literal = [&](std::string_view word, tok t) {
    if (s_.substr(pos_, word.size()) != word)
      return fail("unknown literal");
    pos_ += word.size();
    return after_value(t);
  };
  switch (s_[pos_]) {
    case '{':
      ++pos_;
      stack_.push_back(ctx::object_first);
      return tok::begin_object;
    case '[':
      ++pos_;
      stack_.push_back(ctx::array_first);
      return tok::begin_array;
    case '"':
      return scan_string(false);
    case 't':
      bool_ = true;
      return literal("true", tok::boolean);
    case 'f':
      bool_ = false;
      return literal("false", tok::boolean);
    case 'n':
      return literal("null", tok::null);
    default:
      if (s_[pos_] == '-' || is_digit(s_[pos_]))
        return scan_number();
      return fail("unexpected character");
  }
}

json_tokens::tok json_tokens::scan_string(bool is_key) {
  size_t start = ++pos_;
  escaped_ = false;
  while (pos_ < s_.size()) {
    auto c = static_cast<unsigned char>(s_[pos_]);
    if (c == '"') {
      raw_ = s_.substr(start, pos_ - start);
      ++pos_;
      return is_key ? tok::key : after_value(tok::string);
    }
    if (c == '\\') {
      escaped_ = true;
      if (pos_ + 1 >= s_.size())
        break;
      char e = s_[pos_ + 1];
      if (e == 'u') {
        int cu = unicode_escape(s_, pos_);
        if (cu < 0)
          return fail("invalid \\u escape");
        if (cu >= 0xd800 && cu <= 0xdbff) {
          int low = unicode_escape(s_, pos_ + 6);
          if (low < 0xdc00 || low > 0xdfff)
            return fail("unpaired surrogate in a \\u escape");
          pos_ += 12;
        } else if (cu >= 0xdc00 && cu <= 0xdfff) {
          return fail("unpaired surrogate in a \\u escape");
        } else {
          pos_ += 6;
        }
        continue;
      }
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r'
          && e != 't')
        return fail("invalid escape in a string");
      pos_ += 2;
      continue;
    }
    if (c < 0x20)
      return fail("control character in a string");
    if (c >= 0x80) {
      auto n = utf8_length(s_, pos_);
      if (n == 0)
        return fail("invalid UTF-8 in a string");
      pos_ += n;
      continue;
    }
    ++pos_;
  }
  return fail("unterminated string");
}

json_tokens::tok json_tokens::scan_number() {
  size_t start = pos_;
  negative_ = false;
  if (s_[pos_] == '-') {
    negative_ = true;
    ++pos_;
  }
  if (pos_ >= s_.size() || !is_digit(s_[pos_]))
    return fail("invalid number");
  bool overflow = false;
  magnitude_ = 0;
  if (s_[pos_] == '0') {
    ++pos_;
  } else {
    while (pos_ < s_.size() && is_digit(s_[pos_])) {
      uint64_t d = static_cast<uint64_t>(s_[pos_] - '0');
      if (magnitude_ > (UINT64_MAX - d) / 10)
        overflow = true;
      magnitude_ = magnitude_ * 10 + d;
      ++pos_;
    }
  }
  bool fractional = false;
  if (pos_ < s_.size() && s_[pos_] == '.') {
    fractional = true;
    ++pos_;
    if (pos_ >= s_.size() || !is_digit(s_[pos_]))
      return fail("invalid number");
    while (pos_ < s_.size() && is_digit(s_[pos_]))
      ++pos_;
  }
  if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
    fractional = true;
    ++pos_;
    if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-'))
      ++pos_;
    if (pos_ >= s_.size() || !is_digit(s_[pos_]))
      return fail("invalid number");
    while (pos_ < s_.size() && is_digit(s_[pos_]))
      ++pos_;
  }
  raw_ = s_.substr(start, pos_ - start);
  // Like nlohmann: integers beyond 64 bits are read as floating point.
  if (!fractional && negative_ && magnitude_ > (uint64_t{1} << 63))
    overflow = true;
  return after_value(fractional || overflow ? tok::floating : tok::integer);
}

std::string json_tokens::text() const {
  if (!escaped_)
    return std::string{raw_};
  std::string out;
  out.reserve(raw_.size());
  for (size_t i = 0; i < raw_.size(); ++i) {
    if (raw_[i] != '\\') {
      out += raw_[i];
      continue;
    }
    char e = raw_[i + 1];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cu = static_cast<uint32_t>(unicode_escape(raw_, i));
        if (cu >= 0xd800 && cu <= 0xdbff) {
          uint32_t low = static_cast<uint32_t>(unicode_escape(raw_, i + 6));
          append_utf8(out, 0x10000 + ((cu - 0xd800) << 10) + (low - 0xdc00));
          i += 6;
        } else {
          append_utf8(out, cu);
        }
        i += 4;
        break;
      }
      default: out += e; break;  // " \ /
    }
    ++i;
  }
  return out;
}

} // namespace orch
