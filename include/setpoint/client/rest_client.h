// RestClient: HTTP(S) requests to a Kubernetes-style API server, JSON only.
//
// One RestClient owns a bounded pool of keep-alive connections to one server. request() takes an
// idle connection (or opens one), sends, reads the whole answer, and returns the connection to
// the pool when the server allows keep-alive; a connection that failed is dropped. Idempotent
// requests (GET, PUT, PATCH, DELETE) are retried with exponential backoff and full jitter on
// connection errors, 429 (honouring Retry-After) and 5xx other than 501; POST only when the
// connection failed before anything was sent, or on 429. 4xx are never retried.
//
// Thread-safe: any number of threads may call request() and watch() concurrently. A WatchStream
// is confined to one reader thread, except cancel(), which any thread may call.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "setpoint/client/config.h"
#include "setpoint/common/env.h"
#include "setpoint/common/status.h"

namespace setpoint::client {

enum class Method { kGet, kPost, kPut, kPatch, kDelete };
std::string_view MethodName(Method m);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  // First header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

struct RetryPolicy {
  int max_attempts = 5;  // total, including the first
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::seconds max_retry_after{60};  // a larger Retry-After is not waited for
};

struct RestClientOptions {
  RetryPolicy retry;
  std::size_t max_idle_connections = 16;
  std::size_t max_connections = 64;  // concurrent request()s beyond this wait (watches not counted)
  // The waits between attempts (Env::sleep_for) and their jitter (Env::random); null:
  // DefaultEnv(). A manager's ManagerOptions::env does not reach here: give the client the same.
  EnvPtr env;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK
  boost::json::value object;
};

// One open watch response. Not thread-safe except cancel().
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Waits up to `timeout` for the next event:
  //   an event             -> value holds a WatchEvent
  //   nothing in `timeout` -> value is nullopt and ended() is false: call again
  //   end of stream        -> value is nullopt and ended() is true (server closed, or cancel();
  //                           after cancel() events already received but not returned are dropped)
  //   error                -> the Status of an ERROR event (e.g. Expired for a too old
  //                           resourceVersion), or Unavailable when the connection broke or the
  //                           server sent something that is not a watch event; ended() is true
  //                           once the error has been returned (events before it come first).
  virtual Result<std::optional<WatchEvent>> next(std::chrono::milliseconds timeout) = 0;
  virtual bool ended() const = 0;
  // Thread-safe; makes a blocked or later next() return end of stream promptly.
  virtual void cancel() = 0;
};
using WatchStreamPtr = std::unique_ptr<WatchStream>;

// The raw body of a streaming GET, as it arrives (a followed log). Not thread-safe except cancel().
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Waits up to `timeout`: the bytes that arrived (an empty string when none did), nullopt at the
  // end of the body (or after cancel()), Unavailable when the connection broke.
  virtual Result<std::optional<std::string>> next(std::chrono::milliseconds timeout) = 0;
  virtual void cancel() = 0;
};
using ByteStreamPtr = std::unique_ptr<ByteStream>;

class RestClient {
 public:
  // BadRequest for an unusable config (bad URL, unreadable or invalid PEM, unreadable token file).
  static Result<std::unique_ptr<RestClient>> Create(RestConfig config, RestClientOptions options = {});
  virtual ~RestClient() = default;

  // Sends one request; `path_and_query` starts with '/' and is already URL-encoded. A 2xx answer
  // is returned; anything else becomes a Status built from the answer's Kubernetes Status body
  // (reason, message, causes, retryAfterSeconds) or, failing that, from the HTTP code.
  // Connection failures and timeouts after the retries are Unavailable / Timeout.
  virtual Result<Response> request(Method method, std::string_view path_and_query, std::string_view body = {},
                                   std::string_view content_type = "application/json", const Headers& headers = {}) = 0;

  // Opens a streaming GET (the caller puts watch=true in the query). Connection errors and 429/5xx
  // before the stream starts are retried like a GET; a non-2xx answer is a Status as above.
  virtual Result<WatchStreamPtr> watch(std::string_view path_and_query) = 0;
  // The same with extra request headers (Accept for PartialObjectMetadata). The default, for test
  // fakes, ignores them.
  virtual Result<WatchStreamPtr> watch_with_headers(std::string_view path_and_query, const Headers& headers) {
    (void)headers;
    return watch(path_and_query);
  }
  // Opens a streaming GET whose body is not watch events (`…/log?follow=true`); opening is
  // retried as watch() is. The default (for test fakes) is MethodNotAllowed.
  virtual Result<ByteStreamPtr> stream(std::string_view path_and_query) {
    (void)path_and_query;
    return Err(Status::MethodNotAllowed("this client does not stream"));
  }

  virtual const RestConfig& config() const = 0;

  // Connections opened so far (for tests and metrics).
  virtual std::size_t connections_opened() const = 0;
};
using RestClientPtr = std::unique_ptr<RestClient>;

// Builds a Status from a non-2xx HTTP answer (exposed for tests and for callers of raw bodies).
Status StatusFromResponse(int http_code, std::string_view body, std::string_view retry_after_header = {});
// StatusCode for a Kubernetes StatusReason string; nullopt when unknown.
std::optional<StatusCode> StatusCodeFromReason(std::string_view reason);

}  // namespace setpoint::client
