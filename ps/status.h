// Status and Result: the error type used at every I/O, network and input boundary.
//
// Expected failures (bad input, a lost peer, a deadline that passed) are returned as a
// Status and wrapped with context on the way up ("pull table w: server 2: peer lost"); only
// `main` turns them into an exit code. Broken internal invariants use assert, not Status.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ecps {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,    // the caller passed something malformed (unsorted keys, bad flag)
  kNotFound,           // a named thing (file, table, column) does not exist
  kIoError,            // the OS refused a read or write
  kDataError,          // input data is malformed; the message names file, line and field
  kTimeout,            // a deadline passed before the operation completed
  kPeerLost,           // another rank stopped answering or died
  kAborted,            // the job was aborted (by the scheduler or a failure elsewhere)
  kFailedPrecondition, // an operation was called in a state that does not allow it
  kInternal,           // a bug or an unexpected library failure
  kInterrupted,        // stopped on request: SIGINT or SIGTERM (the message names the signal)
  kLastCode = kInterrupted,  // messages check received codes against this
};

/// Name of a code, e.g. "timeout"; stable, used in log lines.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Returns a copy whose message is prefixed with `context` ("context: message"). OK
  /// statuses are returned unchanged.
  Status WithContext(std::string_view context) const;

  /// "timeout: pull table w: ..." (or "ok").
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status DataError(std::string m) { return {StatusCode::kDataError, std::move(m)}; }
inline Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
inline Status PeerLost(std::string m) { return {StatusCode::kPeerLost, std::move(m)}; }
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Interrupted(std::string m) { return {StatusCode::kInterrupted, std::move(m)}; }

/// A value or the Status that explains why there is none. Never holds an OK status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ecps

#define ECPS_CONCAT_INNER(a, b) a##b
#define ECPS_CONCAT(a, b) ECPS_CONCAT_INNER(a, b)

/// Returns the Status of `expr` from the enclosing function when it is not OK.
#define ECPS_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::ecps::Status ecps_status_ = (expr);       \
    if (!ecps_status_.ok()) return ecps_status_; \
  } while (0)

/// Like ECPS_RETURN_IF_ERROR, adding `context` in front of the message.
#define ECPS_RETURN_IF_ERROR_CTX(expr, context)                        \
  do {                                                                 \
    ::ecps::Status ecps_status_ = (expr);                              \
    if (!ecps_status_.ok()) return ecps_status_.WithContext(context);  \
  } while (0)

/// `ECPS_ASSIGN_OR_RETURN(auto x, F())` declares x from a Result, or returns its Status.
#define ECPS_ASSIGN_OR_RETURN(lhs, expr) \
  ECPS_ASSIGN_OR_RETURN_IMPL(ECPS_CONCAT(ecps_result_, __LINE__), lhs, expr)
#define ECPS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
