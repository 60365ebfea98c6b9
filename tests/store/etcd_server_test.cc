// `setpoint server --store etcd://…` end to end: two API servers (the in-process Server, as
// `setpoint server` runs it) on one etcd, driven over HTTP with the REST client. What one server
// writes, the other lists and watches, with the same resourceVersions (etcd's mod_revision).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "apiserver/server.h"
#include "etcd_fixture.h"
#include "setpoint/client/rest_client.h"
#include "store/open_store.h"
#include "store_test_util.h"

namespace setpoint::store {
namespace {

namespace json = boost::json;
using testing::EtcdCluster;
using testing::TempDir;

constexpr const char* kConfigMaps = "/api/v1/namespaces/default/configmaps";

class EtcdServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Available()) GTEST_SKIP() << testing::kEtcdBinary << " is not installed";
    std::string error;
    cluster_ = EtcdCluster::Start(dir_.path() + "/etcd", cluster_options(), &error);
    ASSERT_NE(cluster_, nullptr) << error;
    for (int i = 0; i < 2; ++i) {
      apiserver::ServerOptions o;
      o.data_dir = dir_.path() + "/server" + std::to_string(i);
      o.listen = "127.0.0.1:0";
      o.worker_threads = 4;
      o.io_threads = 1;
      o.write_kubeconfig = false;
      store::StoreConfig sc;
      sc.spec = cluster_->url();
      auto store = store::OpenStore(sc);
      ASSERT_TRUE(store.has_value()) << store.error().to_string();
      auto s = apiserver::Server::Start(o, std::move(*store));
      ASSERT_TRUE(s.has_value()) << s.error().to_string();
      servers_.push_back(std::move(*s));
      client::RestConfig rc;
      rc.server = "http://127.0.0.1:" + std::to_string(servers_.back()->port());
      auto c = client::RestClient::Create(rc);
      ASSERT_TRUE(c.has_value()) << c.error().to_string();
      clients_.push_back(std::move(*c));
    }
  }

  virtual testing::EtcdClusterOptions cluster_options() const { return {}; }

  void TearDown() override {
    clients_.clear();
    for (auto& s : servers_) s->stop();
    servers_.clear();
    cluster_.reset();
  }

  json::object request(int server, client::Method m, const std::string& path, const std::string& body = {}) {
    auto r = clients_[server]->request(m, path, body);
    EXPECT_TRUE(r.has_value()) << path << ": " << (r ? "" : r.error().to_string());
    if (!r) return {};
    return json::parse(r->body).as_object();
  }

  static std::string ResourceVersion(const json::object& o) {
    return std::string(o.at("metadata").as_object().at("resourceVersion").as_string());
  }

  // Waits for the next event on `w` (ignoring bookmarks).
  static std::optional<client::WatchEvent> Next(client::WatchStream& w) {
    auto deadline = std::chrono::steady_clock::now() + testing::kDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = w.next(std::chrono::milliseconds(200));
      if (!e) return std::nullopt;
      if (*e && (*e)->type != "BOOKMARK") return **e;
      if (w.ended()) return std::nullopt;
    }
    return std::nullopt;
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::vector<std::unique_ptr<apiserver::Server>> servers_;
  std::vector<client::RestClientPtr> clients_;
};

TEST_F(EtcdServerTest, WhatOneServerWritesTheOtherListsAndWatches) {
  json::object list0 = request(1, client::Method::kGet, kConfigMaps);
  std::string start = std::string(list0["metadata"].as_object()["resourceVersion"].as_string());
  auto watch = clients_[1]->watch(std::string(kConfigMaps) + "?watch=true&resourceVersion=" + start);
  ASSERT_TRUE(watch.has_value()) << watch.error().to_string();

  json::object created =
      request(0, client::Method::kPost, kConfigMaps,
              R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"k":"v"}})");
  std::string rv = ResourceVersion(created);
  EXPECT_GT(std::stoll(rv), std::stoll(start));

  auto added = Next(**watch);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->type, "ADDED");
  EXPECT_EQ(ResourceVersion(added->object.as_object()), rv);

  // A consistent read on the other server sees the write at the same resourceVersion.
  json::object got = request(1, client::Method::kGet, std::string(kConfigMaps) + "/shared");
  EXPECT_EQ(ResourceVersion(got), rv);
  EXPECT_EQ(got["data"].as_object()["k"].as_string(), "v");
  json::object list = request(1, client::Method::kGet, kConfigMaps);
  ASSERT_EQ(list["items"].as_array().size(), 1u);
  EXPECT_GE(std::stoll(std::string(list["metadata"].as_object()["resourceVersion"].as_string())), std::stoll(rv));

  // An update through the second server with a stale resourceVersion conflicts (etcd's compare).
  got["data"].as_object()["k"] = "w";
  std::string body = json::serialize(got);
  json::object updated = request(1, client::Method::kPut, std::string(kConfigMaps) + "/shared", body);
  auto stale = clients_[0]->request(client::Method::kPut, std::string(kConfigMaps) + "/shared", body);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), StatusCode::kConflict);
  auto modified = Next(**watch);
  ASSERT_TRUE(modified.has_value());
  EXPECT_EQ(modified->type, "MODIFIED");
  EXPECT_EQ(ResourceVersion(modified->object.as_object()), ResourceVersion(updated));

  request(0, client::Method::kDelete, std::string(kConfigMaps) + "/shared");
  auto deleted = Next(**watch);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->type, "DELETED");
  EXPECT_EQ(deleted->object.as_object().at("data").as_object().at("k").as_string(), "w");
}

// An etcd out of space: writes fail with a message naming the alarm, and /readyz and /metrics
// say so, on every server of the cluster.
class EtcdServerNoSpaceTest : public EtcdServerTest {
 protected:
  testing::EtcdClusterOptions cluster_options() const override { return {.quota_backend_bytes = "1048576"}; }
};

TEST_F(EtcdServerNoSpaceTest, AFullEtcdIsReportedByReadyzAndMetrics) {
  const std::string big(100 * 1024, 'x');
  std::optional<Status> refused;
  for (int i = 0; i < 200 && !refused; ++i) {
    auto r = clients_[0]->request(client::Method::kPost, kConfigMaps,
                                  R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big-)" +
                                      std::to_string(i) + R"("},"data":{"v":")" + big + R"("}})");
    if (!r) refused = r.error();
  }
  ASSERT_TRUE(refused.has_value()) << "etcd never ran out of space";
  EXPECT_NE(refused->message().find("NOSPACE"), std::string::npos) << refused->to_string();
  for (int server = 0; server < 2; ++server) {
    ASSERT_TRUE(setpoint::test::Eventually([&] {
      auto ready = clients_[server]->request(client::Method::kGet, "/readyz");
      return !ready && ready.error().message().find("[-]etcd failed: alarm NOSPACE raised") != std::string::npos;
    })) << "server "
        << server;
    auto metrics = clients_[server]->request(client::Method::kGet, "/metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_NE(metrics->body.find("setpoint_store_alarm{alarm=\"NOSPACE\"} 1"), std::string::npos);
    EXPECT_NE(metrics->body.find("setpoint_store_reachable 1"), std::string::npos);
  }
  // Reads still work.
  EXPECT_TRUE(clients_[1]->request(client::Method::kGet, kConfigMaps).has_value());
}

}  // namespace
}  // namespace setpoint::store
