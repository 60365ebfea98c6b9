#include "apiserver/metrics.h"

#include <gtest/gtest.h>

namespace setpoint::apiserver {
namespace {

RequestInfo Resource(std::string group, std::string resource, std::string ns = "", std::string name = "",
                     std::string sub = "") {
  RequestInfo ri;
  ri.is_resource = true;
  ri.group = std::move(group);
  ri.version = "v1";
  ri.resource = std::move(resource);
  ri.ns = std::move(ns);
  ri.name = std::move(name);
  ri.subresource = std::move(sub);
  return ri;
}

TEST(RequestLabelsTest, ReportVerbsAndScopesAsKubeApiserver) {
  struct Case {
    std::string method;
    RequestInfo ri;
    bool watch;
    std::string content_type;
    std::string verb, scope;
  } cases[] = {
      {"GET", Resource("", "configmaps", "ns", "a"), false, "", "GET", "resource"},
      {"GET", Resource("", "configmaps", "ns"), false, "", "LIST", "namespace"},
      {"GET", Resource("", "configmaps"), false, "", "LIST", "cluster"},
      {"GET", Resource("", "configmaps", "ns"), true, "", "WATCH", "namespace"},
      {"POST", Resource("", "configmaps", "ns"), false, "application/json", "POST", "namespace"},
      {"PUT", Resource("", "configmaps", "ns", "a"), false, "application/json", "PUT", "resource"},
      {"PATCH", Resource("", "configmaps", "ns", "a"), false, "application/merge-patch+json", "PATCH", "resource"},
      {"PATCH", Resource("", "configmaps", "ns", "a"), false, "application/apply-patch+yaml", "APPLY", "resource"},
      {"DELETE", Resource("", "configmaps", "ns"), false, "", "DELETE", "namespace"},
  };
  for (const auto& c : cases) {
    RequestLabels l = LabelsFor(c.method, &c.ri, true, c.watch, false, c.content_type);
    EXPECT_EQ(l.verb, c.verb) << c.method;
    EXPECT_EQ(l.scope, c.scope) << c.method;
    EXPECT_EQ(l.resource, "configmaps");
    EXPECT_EQ(l.version, "v1");
    EXPECT_EQ(l.component, "apiserver");
  }
  RequestInfo status = Resource("example.com", "widgets", "ns", "w", "status");
  RequestLabels l = LabelsFor("PUT", &status, true, false, true, "application/json");
  EXPECT_EQ(l.subresource, "status");
  EXPECT_EQ(l.group, "example.com");
  EXPECT_EQ(l.dry_run, "All");
}

TEST(RequestLabelsTest, WhatTheClientMadeUpIsNeverALabelValue) {
  RequestInfo made_up = Resource("made.up", "x\"y\nz");
  RequestLabels unknown = LabelsFor("GET", &made_up, /*served=*/false, false, false, "");
  EXPECT_EQ(unknown.resource, "");
  EXPECT_EQ(unknown.group, "");
  EXPECT_EQ(unknown.scope, "");
  EXPECT_EQ(unknown.verb, "GET");
  RequestInfo odd_sub = Resource("", "configmaps", "ns", "a", "anything-at-all");
  EXPECT_EQ(LabelsFor("GET", &odd_sub, true, false, false, "").resource, "");
  EXPECT_EQ(LabelsFor("BREW", nullptr, false, false, false, "").verb, "other");
  EXPECT_EQ(LabelsFor("OPTIONS", nullptr, false, false, false, "").verb, "OPTIONS");
}

TEST(RequestMetricsTest, EscapesLabelValuesAndKeepsBucketsCumulative) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  RequestMetrics m;
  RequestLabels l;
  l.verb = "GET";
  l.resource = "we\"ird";  // only possible for a served resource, but escaped all the same
  m.observe(l, 200, std::chrono::microseconds(700));
  m.observe(l, 200, std::chrono::milliseconds(30));
  std::string out;
  m.render(out);
  EXPECT_NE(out.find("resource=\"we\\\"ird\""), std::string::npos) << out;
  EXPECT_NE(out.find("apiserver_request_total{verb=\"GET\",dry_run=\"\",group=\"\",version=\"\",resource=\"we\\\"ird\","
                     "subresource=\"\",scope=\"\",component=\"apiserver\",code=\"200\"} 2"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("le=\"0.001\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("le=\"0.05\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("le=\"+Inf\"} 2\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace setpoint::apiserver
