// Result<T>: the value of an operation that can fail in an expected way (a device that does not
// answer, an upload that gets 503). Debian 12's g++ 12 has no std::expected, so the project owns
// this small type. Exceptions are kept for start-up failures and handler boundaries.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace schoolnet {

// An expected failure: a short machine-readable code (snake_case, stable, safe to send and to
// count) and a message for people. Messages never contain secrets.
struct Error {
  std::string code;
  std::string message;

  std::string to_string() const { return message.empty() ? code : code + ": " + message; }
};

inline Error make_error(std::string code, std::string message = {}) {
  return Error{std::move(code), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }

  const Error& error() const { return std::get<1>(v_); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() {
  return Status{};
}

}  // namespace schoolnet
