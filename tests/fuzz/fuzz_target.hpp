// What every fuzz target defines: libFuzzer's entry point, called with one
// input at a time. The same sources build two ways: with clang and
// -fsanitize=fuzzer,address,undefined for fuzzing (scripts/fuzz.sh), and with
// the normal compiler and replay_main.cpp, which runs every committed input
// (tests/fuzz/corpus/<target>/) as a CTest test.
//
// A target checks the invariants of what it fuzzes and calls fuzz_fail()
// when one does not hold: under libFuzzer that aborts with the input saved,
// in a replay it is that test's failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fuzz {

/// Reports a broken invariant and aborts (the input is what broke it).
[[noreturn]] void fail(const std::string& what);

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The first byte picks one of `n` variants (record kinds, ...); the rest
/// is the input proper.
inline unsigned pick(const uint8_t*& data, size_t& size, unsigned n) {
  if (size == 0)
    return 0;
  unsigned v = data[0] % n;
  ++data;
  --size;
  return v;
}

/// A private scratch directory for targets that need real files, removed
/// at exit: under /dev/shm when there is one (no disk writes per input).
const std::string& scratch_dir();

} // namespace fuzz
