// Status: the one error type of setpoint, and Result<T>.
//
// A Status is a code plus a human message plus optional details. Its codes mirror the
// Kubernetes `StatusReason` values one to one, so a Status maps onto an HTTP code and the API's
// `Status` body without a lookup table at every call site. Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace setpoint {

enum class StatusCode {
  kOk,
  kBadRequest,             // 400 BadRequest
  kUnauthorized,           // 401 Unauthorized
  kForbidden,              // 403 Forbidden
  kNotFound,               // 404 NotFound
  kMethodNotAllowed,       // 405 MethodNotAllowed
  kNotAcceptable,          // 406 NotAcceptable
  kAlreadyExists,          // 409 AlreadyExists
  kConflict,               // 409 Conflict
  kGone,                   // 410 Gone
  kExpired,                // 410 Expired (too old resource version)
  kRequestEntityTooLarge,  // 413 RequestEntityTooLarge
  kHeadersTooLarge,        // 431 RequestHeaderFieldsTooLarge (upstream has no StatusReason: the
                           //     transport answers it; the body still says 431)
  kUnsupportedMediaType,   // 415 UnsupportedMediaType
  kInvalid,                // 422 Invalid
  kTooManyRequests,        // 429 TooManyRequests
  kInternal,               // 500 InternalError
  kUnavailable,            // 503 ServiceUnavailable
  kTimeout,                // 504 Timeout
};

// One entry of `details.causes` in the API's Status body.
struct StatusCause {
  std::string reason;  // e.g. FieldValueInvalid, FieldValueRequired, FieldValueNotSupported
  std::string message;
  std::string field;  // e.g. spec.replicas
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status BadRequest(std::string m) { return {StatusCode::kBadRequest, std::move(m)}; }
  static Status Unauthorized(std::string m) { return {StatusCode::kUnauthorized, std::move(m)}; }
  static Status Forbidden(std::string m) { return {StatusCode::kForbidden, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status MethodNotAllowed(std::string m) { return {StatusCode::kMethodNotAllowed, std::move(m)}; }
  static Status NotAcceptable(std::string m) { return {StatusCode::kNotAcceptable, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Gone(std::string m) { return {StatusCode::kGone, std::move(m)}; }
  static Status Expired(std::string m) { return {StatusCode::kExpired, std::move(m)}; }
  static Status TooLarge(std::string m) { return {StatusCode::kRequestEntityTooLarge, std::move(m)}; }
  static Status HeadersTooLarge(std::string m) { return {StatusCode::kHeadersTooLarge, std::move(m)}; }
  static Status UnsupportedMediaType(std::string m) { return {StatusCode::kUnsupportedMediaType, std::move(m)}; }
  static Status Invalid(std::string m) { return {StatusCode::kInvalid, std::move(m)}; }
  static Status TooManyRequests(std::string m) { return {StatusCode::kTooManyRequests, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<StatusCause>& causes() const { return causes_; }
  int retry_after_seconds() const { return retry_after_seconds_; }

  Status& add_cause(StatusCause c) {
    causes_.push_back(std::move(c));
    return *this;
  }
  Status& set_retry_after(int seconds) {
    retry_after_seconds_ = seconds;
    return *this;
  }

  // HTTP status code and Kubernetes reason string ("NotFound", "Expired", ...).
  int http_code() const;
  std::string_view reason() const;
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::vector<StatusCause> causes_;
  int retry_after_seconds_ = 0;
};

template <typename T>
using Result = tl::expected<T, Status>;

inline tl::unexpected<Status> Err(Status s) { return tl::unexpected<Status>(std::move(s)); }

}  // namespace setpoint
