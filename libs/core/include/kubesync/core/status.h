// The one error vocabulary of kubesync: a Status says what went wrong and, through its
// code, what the caller should do about it:
//   kUnavailable / kDeadlineExceeded / kResourceExhausted -> retry with backoff;
//   kAborted (a 409 conflict)                              -> redo the read-modify-write;
//   kInvalidArgument / kFailedPrecondition / kNotFound ... -> terminal, report it.
// Errors that come from an HTTP API keep the API's status code and reason (for the
// Kubernetes API, the Status `reason` such as "AlreadyExists" or "Expired"), so callers
// can tell apart errors that share a code.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace kubesync {

enum class Code {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // HTTP status code of the reply this error came from, 0 when none.
  int http_status() const { return http_status_; }
  // API reason of the reply this error came from ("NotFound", "Expired", ...), empty when none.
  const std::string& reason() const { return reason_; }
  Status& WithHttp(int http_status, std::string reason) {
    http_status_ = http_status;
    reason_ = std::move(reason);
    return *this;
  }

  // Returns a copy whose message is "<context>: <message>", keeping code and HTTP details.
  Status Annotate(std::string_view context) const;

  // "INVALID_ARGUMENT: message" style rendering, for logs and test failures.
  std::string ToString() const;

  // True for the codes a caller should retry with backoff.
  bool IsRetryable() const {
    return code_ == Code::kUnavailable || code_ == Code::kDeadlineExceeded ||
           code_ == Code::kResourceExhausted;
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int http_status_ = 0;
  std::string reason_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status AbortedError(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Status CancelledError(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {Code::kOutOfRange, std::move(m)}; }

// A value or the error that prevented it.
template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> makes no sense");

  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "a Result error must not be OK");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kubesync

// Propagates a non-OK Status out of the calling function.
#define KS_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::kubesync::Status ks_status_ = (expr);      \
    if (!ks_status_.ok()) return ks_status_;     \
  } while (false)

#define KS_CONCAT_INNER_(a, b) a##b
#define KS_CONCAT_(a, b) KS_CONCAT_INNER_(a, b)
// `KS_ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define KS_ASSIGN_OR_RETURN(lhs, expr) KS_ASSIGN_OR_RETURN_IMPL_(KS_CONCAT_(ks_result_, __LINE__), lhs, expr)
#define KS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
