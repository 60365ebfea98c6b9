#include "apiserver/request_info.h"

#include <gtest/gtest.h>

namespace setpoint::apiserver {
namespace {

TEST(RequestInfoTest, ParsesNamespacedCustomResourcePaths) {
  auto ri = ParseRequestInfo("GET", "/apis/example.com/v1/namespaces/default/widgets/foo/status", false);
  ASSERT_TRUE(ri.has_value());
  EXPECT_EQ(ri->group, "example.com");
  EXPECT_EQ(ri->version, "v1");
  EXPECT_EQ(ri->ns, "default");
  EXPECT_EQ(ri->resource, "widgets");
  EXPECT_EQ(ri->name, "foo");
  EXPECT_EQ(ri->subresource, "status");
  EXPECT_EQ(ri->verb, "get");
}

TEST(RequestInfoTest, DistinguishesNamespaceSubresourcesFromNamespacedResources) {
  auto status = ParseRequestInfo("PUT", "/api/v1/namespaces/foo/status", false);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->resource, "namespaces");
  EXPECT_EQ(status->name, "foo");
  EXPECT_EQ(status->subresource, "status");
  EXPECT_EQ(status->ns, "");
  auto events = ParseRequestInfo("GET", "/api/v1/namespaces/foo/events", false);
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(events->resource, "events");
  EXPECT_EQ(events->ns, "foo");
  EXPECT_EQ(events->verb, "list");
}

TEST(RequestInfoTest, MapsMethodsToVerbs) {
  EXPECT_EQ(ParseRequestInfo("GET", "/api/v1/namespaces", true)->verb, "watch");
  EXPECT_EQ(ParseRequestInfo("POST", "/api/v1/namespaces", false)->verb, "create");
  EXPECT_EQ(ParseRequestInfo("DELETE", "/apis/g.io/v1/things", false)->verb, "deletecollection");
  EXPECT_EQ(ParseRequestInfo("DELETE", "/apis/g.io/v1/things/x", false)->verb, "delete");
  EXPECT_EQ(ParseRequestInfo("PATCH", "/apis/g.io/v1/things/x", false)->verb, "patch");
  EXPECT_FALSE(ParseRequestInfo("GET", "/apis/g.io", false).has_value());
  EXPECT_FALSE(ParseRequestInfo("GET", "/healthz", false).has_value());
  EXPECT_FALSE(ParseRequestInfo("GET", "/apis/g.io/v1/a/b/c/d/e", false).has_value());
}

TEST(QueryParamsTest, DecodesValues) {
  auto q = QueryParams::Parse("labelSelector=app%3Ddemo%2Ctier+in+(a)&watch=1&limit=");
  EXPECT_EQ(q.get("labelSelector"), "app=demo,tier in (a)");
  EXPECT_TRUE(q.flag("watch"));
  EXPECT_EQ(q.get("limit"), "");
  EXPECT_FALSE(q.get("missing").has_value());
}

TEST(ResourceVersionTest, ParsesExactlyTheUnsigned64BitIntegers) {
  const std::pair<const char*, std::optional<std::uint64_t>> cases[] = {
      {"0", 0},
      {"1", 1},
      {"007", 7},
      {"18446744073709551615", 18446744073709551615ULL},
      // Not a uint64: each is a 400 wherever a resourceVersion is taken.
      {"18446744073709551616", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {" 1", std::nullopt},
      {"1 ", std::nullopt},
      {"1e3", std::nullopt},
      {"0x10", std::nullopt},
      {"12abc", std::nullopt},
      {"1.0", std::nullopt},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(ParseResourceVersion(text), want) << '"' << text << '"';
}

}  // namespace
}  // namespace setpoint::apiserver
