// RestClient against a scripted fake server: retries, error mapping, keep-alive, watch framing.
#include "setpoint/client/rest_client.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "fake_http_server.h"
#include "testing/envs.h"

namespace setpoint::client {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::FakeRequest;

// Records the waits the client asked for instead of sleeping; jitter is always one half.
struct RecordedSleeps {
  std::shared_ptr<setpoint::testing::ScriptedEnv> env = std::make_shared<setpoint::testing::ScriptedEnv>(nullptr, 0.5);
  RestClientOptions options() const {
    RestClientOptions o;
    o.env = env;
    return o;
  }
  std::vector<std::chrono::milliseconds> waits() const { return env->sleeps(); }
};

std::unique_ptr<RestClient> MakeClient(const std::string& url, RestClientOptions options = {}) {
  RestConfig c;
  c.server = url;
  c.timeout = 5s;
  auto r = RestClient::Create(c, std::move(options));
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  return std::move(*r);
}

const char* kNotFoundBody =
    R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"widgets \"x\" not found",)"
    R"("reason":"NotFound","details":{"name":"x","kind":"widgets"},"code":404})";

TEST(RestClientTest, RetriesTooManyRequestsHonouringRetryAfter) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const FakeRequest&) {
    if (n.fetch_add(1) == 0)
      return FakeReply{.status = 429,
                       .body = R"({"kind":"Status","reason":"TooManyRequests","message":"slow down","code":429})",
                       .headers = {{"Retry-After", "2"}}};
    return FakeReply{.status = 200, .body = R"({"ok":true})"};
  });
  RecordedSleeps sleeps;
  auto client = MakeClient(server.url(), sleeps.options());
  auto r = client->request(Method::kPost, "/apis/x/v1/widgets", "{}");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(server.requests(), 2);
  ASSERT_EQ(sleeps.waits().size(), 1u);
  EXPECT_EQ(sleeps.waits()[0], 2000ms);
}

TEST(RestClientTest, ServerErrorOnPostIsNotRetried) {
  FakeHttpServer server([](const FakeRequest&) {
    return FakeReply{.status = 500,
                     .body = R"({"kind":"Status","reason":"InternalError","message":"boom","code":500})"};
  });
  RecordedSleeps sleeps;
  auto client = MakeClient(server.url(), sleeps.options());
  auto r = client->request(Method::kPost, "/api/v1/namespaces", "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInternal);
  EXPECT_EQ(r.error().message(), "boom");
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(sleeps.waits().empty());
}

TEST(RestClientTest, ServerErrorOnGetIsRetriedWithGrowingBackoff) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const FakeRequest&) {
    if (n.fetch_add(1) < 3) return FakeReply{.status = 503, .body = "overloaded"};
    return FakeReply{.status = 200, .body = "{}"};
  });
  RecordedSleeps sleeps;
  auto client = MakeClient(server.url(), sleeps.options());
  auto r = client->request(Method::kGet, "/api/v1/namespaces");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(server.requests(), 4);
  ASSERT_EQ(sleeps.waits().size(), 3u);
  // initial 100 ms, doubling, jitter fixed at 0.5 -> 75 %, of each step.
  EXPECT_EQ(sleeps.waits()[0], 75ms);
  EXPECT_EQ(sleeps.waits()[1], 150ms);
  EXPECT_EQ(sleeps.waits()[2], 300ms);
}

TEST(RestClientTest, NotImplementedAndClientErrorsAreNotRetried) {
  FakeHttpServer server([](const FakeRequest& req) {
    if (req.target == "/501") return FakeReply{.status = 501, .body = "no"};
    return FakeReply{.status = 404, .body = kNotFoundBody};
  });
  RecordedSleeps sleeps;
  auto client = MakeClient(server.url(), sleeps.options());
  auto r = client->request(Method::kGet, "/apis/x/v1/namespaces/a/widgets/x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.error().message(), "widgets \"x\" not found");
  auto r501 = client->request(Method::kGet, "/501");
  ASSERT_FALSE(r501.has_value());
  EXPECT_EQ(r501.error().code(), StatusCode::kInternal);
  EXPECT_EQ(server.requests(), 2);
  EXPECT_TRUE(sleeps.waits().empty());
}

TEST(RestClientTest, PerRequestTimeoutIsTimeoutAndNotResentOnceSent) {
  FakeHttpServer server([](const FakeRequest&) { return FakeReply{.silent = true}; });
  RecordedSleeps sleeps;
  RestConfig c;
  c.server = server.url();
  c.timeout = 200ms;
  auto client = RestClient::Create(c, sleeps.options());
  ASSERT_TRUE(client.has_value());
  auto started = std::chrono::steady_clock::now();
  auto r = (*client)->request(Method::kGet, "/slow");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(sleeps.waits().empty());
}

TEST(RestClientTest, RetryAfterAboveTheCapIsReturnedNotWaited) {
  FakeHttpServer server([](const FakeRequest&) {
    return FakeReply{.status = 429, .body = "busy", .headers = {{"Retry-After", "3600"}}};
  });
  RecordedSleeps sleeps;
  auto client = MakeClient(server.url(), sleeps.options());
  auto r = client->request(Method::kGet, "/x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kTooManyRequests);
  EXPECT_EQ(r.error().retry_after_seconds(), 3600);
  EXPECT_TRUE(sleeps.waits().empty());
}

TEST(RestClientTest, KeepAliveReusesOneConnection) {
  FakeHttpServer server([](const FakeRequest&) { return FakeReply{.status = 200, .body = "{}"}; });
  auto client = MakeClient(server.url());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->request(Method::kGet, "/version").has_value());
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST(RestClientTest, ConnectionClosedByServerIsNotReused) {
  FakeHttpServer server([](const FakeRequest&) { return FakeReply{.status = 200, .body = "{}", .close = true}; });
  auto client = MakeClient(server.url());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->request(Method::kGet, "/version").has_value());
  EXPECT_EQ(server.connections(), 3);
}

TEST(RestClientTest, ConcurrentRequestsShareTheBoundedPool) {
  FakeHttpServer server([](const FakeRequest&) { return FakeReply{.status = 200, .body = "{}"}; });
  RestClientOptions o;
  o.max_connections = 2;
  o.max_idle_connections = 2;
  auto client = MakeClient(server.url(), o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) ok += client->request(Method::kGet, "/version").has_value();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_LE(server.connections(), 2);
}

TEST(RestClientTest, ConnectionRefusedIsRetriedThenUnavailable) {
  unsigned short port;
  {
    FakeHttpServer closed([](const FakeRequest&) { return FakeReply{}; });
    port = closed.port();
  }
  RecordedSleeps sleeps;
  auto client = MakeClient("http://127.0.0.1:" + std::to_string(port), sleeps.options());
  auto r = client->request(Method::kPost, "/api/v1/namespaces", "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sleeps.waits().size(), 4u);  // 5 attempts: a refused connect never sent the POST
}

TEST(RestClientTest, SendsTokenUserAgentAndBasePath) {
  std::mutex mu;
  FakeRequest seen;
  FakeHttpServer server([&](const FakeRequest& req) {
    std::lock_guard lock(mu);
    seen = req;
    return FakeReply{.status = 200, .body = "{}"};
  });
  RestConfig c;
  c.server = server.url() + "/prefix/";
  c.token = "secret";
  auto client = RestClient::Create(c);
  ASSERT_TRUE(client.has_value());
  ASSERT_TRUE((*client)->request(Method::kPut, "/api/v1/x", "{}").has_value());
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.target, "/prefix/api/v1/x");
  EXPECT_EQ(seen.header("Authorization"), "Bearer secret");
  EXPECT_EQ(seen.header("User-Agent"), "setpoint/0.1");
  EXPECT_EQ(seen.header("Content-Type"), "application/json");
}

TEST(StatusFromResponseTest, MapsReasonsCausesAndPlainBodies) {
  Status invalid = StatusFromResponse(
      422, R"({"kind":"Status","reason":"Invalid","message":"bad","details":{"causes":[)"
           R"({"reason":"FieldValueRequired","message":"Required value","field":"spec.size"}]},"code":422})");
  EXPECT_EQ(invalid.code(), StatusCode::kInvalid);
  ASSERT_EQ(invalid.causes().size(), 1u);
  EXPECT_EQ(invalid.causes()[0].field, "spec.size");
  EXPECT_EQ(invalid.causes()[0].reason, "FieldValueRequired");
  EXPECT_EQ(StatusFromResponse(409, R"({"kind":"Status","reason":"AlreadyExists","code":409})").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromResponse(409, R"({"kind":"Status","reason":"Conflict","code":409})").code(),
            StatusCode::kConflict);
  EXPECT_EQ(StatusFromResponse(410, R"({"kind":"Status","reason":"Expired","code":410})").code(), StatusCode::kExpired);
  EXPECT_EQ(StatusFromResponse(504, R"({"kind":"Status","reason":"Timeout","code":504})").code(), StatusCode::kTimeout);
  EXPECT_EQ(StatusFromResponse(410, "gone").code(), StatusCode::kGone);
  EXPECT_EQ(StatusFromResponse(502, "<html>bad gateway</html>").code(), StatusCode::kInternal);
  EXPECT_EQ(StatusFromResponse(418, "teapot").code(), StatusCode::kBadRequest);
  EXPECT_EQ(StatusFromResponse(429, "", "7").retry_after_seconds(), 7);
}

std::string Chunk(const std::string& s) {
  char len[32];
  std::snprintf(len, sizeof len, "%zx\r\n", s.size());
  return len + s + "\r\n";
}

TEST(WatchStreamTest, ParsesEventsSplitAcrossChunksThenMapsErrorEvent) {
  std::string events =
      R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"
      "\n"
      R"({"type":"MODIFIED","object":{"metadata":{"name":"a"}}})"
      "\n"
      R"({"type":"ERROR","object":{"kind":"Status","reason":"Expired","message":"too old","code":410}})"
      "\n";
  std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw += Chunk(events.substr(0, 30)) + Chunk(events.substr(30, 50)) + Chunk(events.substr(80)) + "0\r\n\r\n";
  FakeHttpServer server([&](const FakeRequest&) { return FakeReply{.raw = raw}; });
  auto client = MakeClient(server.url());
  auto w = client->watch("/api/v1/namespaces?watch=true");
  ASSERT_TRUE(w.has_value()) << w.error().to_string();
  auto e1 = (*w)->next(5s);
  ASSERT_TRUE(e1.has_value() && *e1);
  EXPECT_EQ((*e1)->type, "ADDED");
  auto e2 = (*w)->next(5s);
  ASSERT_TRUE(e2.has_value() && *e2);
  EXPECT_EQ((*e2)->type, "MODIFIED");
  EXPECT_FALSE((*w)->ended());  // the ERROR has not been returned yet
  auto e3 = (*w)->next(5s);
  ASSERT_FALSE(e3.has_value());
  EXPECT_EQ(e3.error().code(), StatusCode::kExpired);
  EXPECT_TRUE((*w)->ended());
}

TEST(WatchStreamTest, IdleTimeoutKeepsStreamThenCancelFromAnotherThreadEndsIt) {
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk(R"({"type":"ADDED","object":{}})"
                                                                                    "\n");
  FakeHttpServer server([&](const FakeRequest&) { return FakeReply{.raw = raw, .hang = true}; });
  auto client = MakeClient(server.url());
  auto w = client->watch("/api/v1/namespaces?watch=true");
  ASSERT_TRUE(w.has_value());
  auto first = (*w)->next(5s);
  ASSERT_TRUE(first.has_value() && *first);
  auto idle = (*w)->next(20ms);
  ASSERT_TRUE(idle.has_value());
  EXPECT_FALSE(*idle);
  EXPECT_FALSE((*w)->ended());

  auto started = std::chrono::steady_clock::now();
  std::thread canceller([&] { (*w)->cancel(); });
  auto end = (*w)->next(30s);
  canceller.join();
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(*end);
  EXPECT_TRUE((*w)->ended());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(WatchStreamTest, LastEventWithoutNewlineThenCleanEnd) {
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    Chunk(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}})") + "0\r\n\r\n";
  FakeHttpServer server([&](const FakeRequest&) { return FakeReply{.raw = raw}; });
  auto client = MakeClient(server.url());
  auto w = client->watch("/api/v1/namespaces?watch=true");
  ASSERT_TRUE(w.has_value());
  auto e = (*w)->next(5s);
  ASSERT_TRUE(e.has_value() && *e);
  EXPECT_EQ((*e)->type, "BOOKMARK");
  auto end = (*w)->next(5s);
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(*end);
  EXPECT_TRUE((*w)->ended());
}

TEST(WatchStreamTest, GarbageInTheStreamIsUnavailable) {
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk("<html>\n") + "0\r\n\r\n";
  FakeHttpServer server([&](const FakeRequest&) { return FakeReply{.raw = raw}; });
  auto client = MakeClient(server.url());
  auto w = client->watch("/api/v1/namespaces?watch=true");
  ASSERT_TRUE(w.has_value());
  auto e = (*w)->next(5s);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), StatusCode::kUnavailable);
  EXPECT_TRUE((*w)->ended());
}

TEST(WatchStreamTest, ErrorAnswerBeforeStreamIsAStatus) {
  FakeHttpServer server([](const FakeRequest&) { return FakeReply{.status = 404, .body = kNotFoundBody}; });
  auto client = MakeClient(server.url());
  auto w = client->watch("/apis/x/v1/widgets?watch=true");
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace setpoint::client
