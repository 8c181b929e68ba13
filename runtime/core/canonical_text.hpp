// Canonical JSON (sorted keys, no whitespace: what nlohmann's dump() of the
// parsed value writes) straight from JSON text, without building a tree.
// The filesystem backend's files are pretty-printed canonical JSON, so for
// them this is removing whitespace; anything it cannot prove already
// canonical (unsorted or escaped keys, numbers with fractions, escapes that
// dump() writes differently) is left to the caller's full parse.
#pragma once

#include <string>
#include <string_view>

namespace orch {

/// Writes the canonical form of `text` to `out` and returns true, or returns
/// false (then `out` is unspecified) if `text` is not valid JSON or its
/// canonical form needs a full parse.
bool canonical_from_text(std::string_view text, std::string& out);

/// What nlohmann's dump(2) writes for canonical JSON text (2-space indent,
/// "key": value, empty containers as {} and []), plus a newline: the
/// filesystem backend's file format, written without parsing. False (then
/// `out` is unspecified) if `canonical` has whitespace outside its strings:
/// it is not canonical, and the caller parses it.
bool pretty_from_canonical(std::string_view canonical, std::string& out);

} // namespace orch
