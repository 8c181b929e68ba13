// A pull tokenizer for JSON text that allocates nothing: tokens are views
// into the input, strings are unescaped only when asked. It validates as it
// goes (RFC 8259: grammar, escapes, control characters, UTF-8), so a record
// scanned to its end is known to be well-formed JSON. Used to check records
// on the storage write path, where building a JSON tree would dominate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace orch {

class json_tokens {
public:
  enum class tok {
    begin_object,
    end_object,
    begin_array,
    end_array,
    key,        // an object key (text())
    string,     // text()
    integer,    // integer_value(), negative()
    floating,   // a number with a fraction or exponent, or too big for 64 bits
    boolean,    // bool_value()
    null,
    end,        // the whole input was one valid JSON value
    error,      // error() says what is wrong
  };

  explicit json_tokens(std::string_view text) : s_(text) {}

  tok next();

  /// The current key or string, unescaped.
  std::string text() const;
  /// The current key or string as it appears (escaped) in the input.
  std::string_view raw() const { return raw_; }
  bool has_escapes() const { return escaped_; }
  /// The current number as it appears in the input.
  std::string_view number_text() const { return raw_; }
  uint64_t magnitude() const { return magnitude_; }
  bool negative() const { return negative_; }
  bool bool_value() const { return bool_; }
  const std::string& error() const { return error_; }
  /// Depth of the innermost open container (1: inside the top-level object).
  size_t depth() const { return stack_.size(); }
  /// Byte offset just past the current token (after '{' for begin_object,
  /// after '}' for end_object): slices a nested value out of the input.
  size_t offset() const { return pos_; }
  /// The input from byte `from` to byte `to`.
  std::string_view slice(size_t from, size_t to) const { return s_.substr(from, to - from); }

private:
  tok fail(const std::string& what);
  void skip_ws();
  tok value_token();
  tok scan_string(bool is_key);
  tok scan_number();
  tok after_value(tok t);

  enum class ctx : uint8_t {
    object_first,  // after '{'
    object_key,    // after ','
    object_value,  // after ':'
    object_after,  // after a member's value
    array_first,   // after '['
    array_value,   // after ','
    array_after,   // after an element
  };
  std::string_view s_;
  size_t pos_ = 0;
  std::vector<ctx> stack_;
  bool started_ = false;
  bool done_ = false;
  std::string_view raw_;
  bool escaped_ = false;
  uint64_t magnitude_ = 0;
  bool negative_ = false;
  bool bool_ = false;
  std::string error_;
};

} // namespace orch
