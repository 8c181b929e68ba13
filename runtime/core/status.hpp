// The orchestrator's one error vocabulary: a code saying what kind of failure
// it is (what a caller can do about it) and a message saying, in words a user
// can act on, what is wrong. Functions that may fail return a `status` or a
// `result<T>` (a value or a status); actors carry the same pair in a
// caf::error (runtime/messages/types.hpp converts), and the REST API turns
// the code into an HTTP status. Inside one folder, code may throw
// `status_error` to unwind deep call chains; it is caught before it crosses
// into another folder.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <variant>

namespace orch {

enum class errc : uint8_t {
  not_found = 1,     // no such record
  conflict,          // a precondition failed / the state does not allow it
  invalid,           // bad input
  unavailable,       // backend unreachable or closed, component restarting; retry later
  io_error,          // disk or database failure
  corrupted,         // unreadable stored data
  locked,            // another process holds the data
  internal,          // a bug: nothing the caller did
  no_space,          // the disk under the data is full: writes resume once there is room
};

/// "not_found", "conflict", ...
const char* to_string(errc x);

/// Success, or a failure with its code and message.
class [[nodiscard]] status {
public:
  status() = default;
  status(errc code, std::string message) : code_(code), failed_(true), message_(std::move(message)) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  errc code() const { return code_; }
  const std::string& message() const { return message_; }

  /// The same failure with `prefix` before the message ("reading tasks: ...").
  status context(const std::string& prefix) const {
    return ok() ? *this : status{code_, prefix + ": " + message_};
  }

private:
  errc code_ = errc::internal;
  bool failed_ = false;
  std::string message_;
};

inline status ok_status() {
  return {};
}

/// Bad input, and what is wrong with it.
inline status invalid_input(std::string message) {
  return {errc::invalid, std::move(message)};
}

/// A value, or the status that says why there is none.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::move(value)) {}
  result(status failure) : v_(std::move(failure)) {
    // A result made from a status holds a failure; ok() has no value to show.
    if (std::get<status>(v_).ok())
      v_ = status{errc::internal, "a result was made from a success without a value"};
  }
  result(errc code, std::string message) : v_(status{code, std::move(message)}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The failure (only meaningful if !ok()); ok_status() for a value.
  status error() const { return ok() ? status{} : std::get<status>(v_); }
  errc code() const { return ok() ? errc::internal : std::get<status>(v_).code(); }
  const std::string& message() const {
    static const std::string none;
    return ok() ? none : std::get<status>(v_).message();
  }

private:
  std::variant<T, status> v_;
};

/// A status thrown within one folder's code and caught at its edge.
class status_error : public std::exception {
public:
  explicit status_error(status s) : status_(std::move(s)) {}
  status_error(errc code, std::string message) : status_(code, std::move(message)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const status& get() const { return status_; }
  errc code() const { return status_.code(); }
  const std::string& message() const { return status_.message(); }

private:
  status status_;
};

/// Runs `f`, turning a thrown status_error (or any other exception) into the
/// returned status: the edge where a folder's exceptions stop.
template <class F>
status catch_status(F&& f) noexcept {
  try {
    f();
    return {};
  } catch (const status_error& e) {
    return e.get();
  } catch (const std::exception& e) {
    return {errc::internal, e.what()};
  } catch (...) {
    return {errc::internal, "an unknown exception"};
  }
}

} // namespace orch
