// Result<T>: a value or an Error, the way every fallible goldroot function
// reports failure (shaped like std::expected, which g++ 12 lacks in C++20).
//
// An Error carries a small closed code, the errno that caused it (0 if none),
// and a human sentence. Context is prepended as the error rises, so the user
// reads one line such as
//   importing /srv/root/etc/shadow: open: Permission denied
//
// TRY(expr) unwraps a Result or returns its Error from the enclosing function.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace goldroot {

enum class ErrorCode {
  kNotFound,
  kAlreadyExists,
  kCorruption,
  kInvalidArgument,
  kIo,
  kUnsupported,
  kBusy,
  kNoSpace,
  kPermissionDenied,
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kIo;
  int sys_errno = 0;
  std::string message;

  // Prepends "context: " to the message.
  Error&& with_context(const std::string& context) && {
    message = context + ": " + message;
    return std::move(*this);
  }
};

Error make_error(ErrorCode code, std::string message);
// Maps errno to a code once, at the system-call boundary: "what: strerror".
Error errno_error(const std::string& what, int saved_errno);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(state_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(state_)); }

  Result&& context(const std::string& context) && {
    if (!ok()) std::get<1>(state_).message = context + ": " + std::get<1>(state_).message;
    return std::move(*this);
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const { assert(ok()); }

  const Error& error() const& { assert(failed_); return error_; }
  Error&& error() && { assert(failed_); return std::move(error_); }

  Result&& context(const std::string& context) && {
    if (failed_) error_.message = context + ": " + error_.message;
    return std::move(*this);
  }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace goldroot

// Evaluates a Result; on error returns the Error from the enclosing function,
// otherwise yields the value (a GNU statement expression, as SerenityOS does).
#define TRY(expr)                                          \
  ({                                                       \
    auto _try_result = (expr);                             \
    if (!_try_result.ok()) return std::move(_try_result).error(); \
    std::move(_try_result).value();                        \
  })
