// Kubernetes Status bodies and HTTP codes -> setpoint Status.
#include <boost/json.hpp>

#include "setpoint/client/rest_client.h"
#include "setpoint/common/json.h"

namespace setpoint::client {

std::optional<StatusCode> StatusCodeFromReason(std::string_view reason) {
  static const std::pair<std::string_view, StatusCode> kReasons[] = {
      {"BadRequest", StatusCode::kBadRequest},
      {"Unauthorized", StatusCode::kUnauthorized},
      {"Forbidden", StatusCode::kForbidden},
      {"NotFound", StatusCode::kNotFound},
      {"MethodNotAllowed", StatusCode::kMethodNotAllowed},
      {"NotAcceptable", StatusCode::kNotAcceptable},
      {"AlreadyExists", StatusCode::kAlreadyExists},
      {"Conflict", StatusCode::kConflict},
      {"Gone", StatusCode::kGone},
      {"Expired", StatusCode::kExpired},
      {"RequestEntityTooLarge", StatusCode::kRequestEntityTooLarge},
      {"RequestHeaderFieldsTooLarge", StatusCode::kHeadersTooLarge},
      {"UnsupportedMediaType", StatusCode::kUnsupportedMediaType},
      {"Invalid", StatusCode::kInvalid},
      {"TooManyRequests", StatusCode::kTooManyRequests},
      {"InternalError", StatusCode::kInternal},
      {"ServiceUnavailable", StatusCode::kUnavailable},
      {"Timeout", StatusCode::kTimeout},
      {"ServerTimeout", StatusCode::kTimeout},
  };
  for (const auto& [name, code] : kReasons)
    if (name == reason) return code;
  return std::nullopt;
}

namespace {

StatusCode CodeFromHttp(int http) {
  switch (http) {
    case 400:
      return StatusCode::kBadRequest;
    case 401:
      return StatusCode::kUnauthorized;
    case 403:
      return StatusCode::kForbidden;
    case 404:
      return StatusCode::kNotFound;
    case 405:
      return StatusCode::kMethodNotAllowed;
    case 406:
      return StatusCode::kNotAcceptable;
    case 409:
      return StatusCode::kConflict;
    case 410:
      return StatusCode::kGone;
    case 413:
      return StatusCode::kRequestEntityTooLarge;
    case 431:
      return StatusCode::kHeadersTooLarge;
    case 415:
      return StatusCode::kUnsupportedMediaType;
    case 422:
      return StatusCode::kInvalid;
    case 429:
      return StatusCode::kTooManyRequests;
    case 503:
      return StatusCode::kUnavailable;
    case 504:
      return StatusCode::kTimeout;
  }
  return http >= 500 ? StatusCode::kInternal : StatusCode::kBadRequest;
}

int ParseRetryAfter(std::string_view v) {
  // Only the delta-seconds form; an HTTP date is rare from API servers and treated as absent.
  int n = 0;
  if (v.empty()) return 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
    if (n > 86400) return 86400;
  }
  return n;
}

}  // namespace

Status StatusFromResponse(int http_code, std::string_view body, std::string_view retry_after_header) {
  StatusCode code = CodeFromHttp(http_code);
  std::string message;
  Status st;
  auto parsed = ParseJson(body);
  const boost::json::object* obj = parsed && parsed->is_object() ? &parsed->as_object() : nullptr;
  if (obj && GetStringOr(*obj, "kind", "") == "Status") {
    if (auto c = StatusCodeFromReason(GetStringOr(*obj, "reason", ""))) code = *c;
    message = std::string(GetStringOr(*obj, "message", ""));
    if (message.empty()) message = "the server answered " + std::to_string(http_code);
    st = Status(code, std::move(message));
    if (const auto* details = GetObject(*obj, "details")) {
      if (const auto* causes = GetArray(*details, "causes")) {
        for (const auto& c : *causes) {
          if (!c.is_object()) continue;
          const auto& co = c.as_object();
          st.add_cause({std::string(GetStringOr(co, "reason", "")), std::string(GetStringOr(co, "message", "")),
                        std::string(GetStringOr(co, "field", ""))});
        }
      }
      if (auto ra = GetInt(*details, "retryAfterSeconds"); ra && *ra > 0) st.set_retry_after(static_cast<int>(*ra));
    }
  } else {
    std::string_view text = body.substr(0, 512);
    message = "the server answered " + std::to_string(http_code);
    if (!text.empty()) message += ": " + std::string(text);
    st = Status(code, std::move(message));
  }
  if (int ra = ParseRetryAfter(retry_after_header); ra > 0) st.set_retry_after(ra);
  return st;
}

}  // namespace setpoint::client
