#include "runtime/core/ids.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>

namespace orch {

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }()};
  return gen;
}

std::string format_uuid(uint64_t hi, uint64_t lo) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff),
                static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

} // namespace

std::string new_uuid_v4() {
  uint64_t hi = rng()();
  uint64_t lo = rng()();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;                           // version 4
  lo = (lo & ~(0xc000ULL << 48)) | (0x8000ULL << 48);           // variant 10
  return format_uuid(hi, lo);
}

std::string derived_uuid(micros t, std::string_view name) {
  // Two FNV-1a hashes of the name with different offsets: 128 bits, of
  // which 74 fill rand_a and rand_b. Not a secret, only a stable name.
  auto fnv = [&](uint64_t h) {
    for (unsigned char c : name) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    return h;
  };
  uint64_t a = fnv(0xcbf29ce484222325ULL), b = fnv(0x84222325cbf29ce4ULL);
  uint64_t ms = static_cast<uint64_t>(t < 0 ? 0 : t / 1000) & 0xffffffffffffULL;
  uint64_t hi = (ms << 16) | 0x8000ULL | (a & 0xfff);           // version 8
  uint64_t lo = (b & ~(0xc000ULL << 48)) | (0x8000ULL << 48);   // variant 10
  return format_uuid(hi, lo);
}

std::string new_uuid_v7(micros t) {
  // 48 bits of milliseconds, then 12 bits (rand_a) holding a monotonic
  // sub-millisecond sequence so that IDs made in the same millisecond still
  // sort in creation order (RFC 9562, method 3).
  static std::atomic<uint64_t> last{0};
  uint64_t candidate = static_cast<uint64_t>(t / 1000) << 12;
  uint64_t prev = last.load(std::memory_order_relaxed);
  uint64_t next;
  do {
    next = candidate > prev ? candidate : prev + 1;
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  uint64_t ms = next >> 12;
  uint64_t seq = next & 0xfff;
  uint64_t hi = (ms << 16) | 0x7000ULL | seq;
  uint64_t lo = rng()();
  lo = (lo & ~(0xc000ULL << 48)) | (0x8000ULL << 48);
  return format_uuid(hi, lo);
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool is_valid_username(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] == '.')
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
          || c == '_' || c == '-'))
      return false;
  return true;
}

bool is_valid_ns_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
  });
}

} // namespace orch
