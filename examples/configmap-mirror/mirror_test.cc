// The operator against the real setpoint API server, in this process (setpoint::testing). The
// server is made to misbehave as busy clusters do — its cache lags writes by 200 ms and updates
// meet 409 Conflicts — and the test checks that the operator still converges and never makes a
// second copy. Waits are deadlines on what the server shows, never fixed sleeps.
#include <chrono>
#include <utility>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "mirror.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/testing/eventually.h"
#include "setpoint/testing/test_server.h"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
const setpoint::client::GroupVersionResource& kConfigMaps = setpoint::types::GvrOf<setpoint::corev1::ConfigMap>();

// Waits for a condition with a deadline (the SDK test kit's; never a bare sleep).
template <typename F>
bool Eventually(F&& done, std::chrono::milliseconds deadline = 20s) {
  return setpoint::testing::Eventually(std::forward<F>(done), deadline);
}

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = setpoint::testing::TestServer::Start({.cache_delay = 200ms});
    ASSERT_TRUE(server.has_value()) << server.error().to_string();
    server_ = std::move(*server);
    rest_ = server_->make_client();
    api_ = std::make_unique<setpoint::client::DynamicClient>(*rest_);
    auto manager = setpoint::runtime::Manager::Create(*rest_, {.name = "mirror-test"});
    ASSERT_TRUE(manager.has_value()) << manager.error().to_string();
    manager_ = std::move(*manager);
    reconciler_ = std::make_unique<mirror::MirrorReconciler>();
    auto controller = mirror::BuildController(manager_->controller("configmap-mirror"), *reconciler_);
    ASSERT_TRUE(controller.has_value()) << controller.error().to_string();
    ASSERT_TRUE(manager_->add(std::move(*controller)).ok());
    ASSERT_TRUE(manager_->start().ok());
  }
  void TearDown() override {
    if (manager_) (void)manager_->stop();
  }

  // The copy's data.colour on the server ("" when there is no copy).
  std::string CopyColour() {
    auto got = api_->get(kConfigMaps, "default", "app-mirror");
    if (!got) return "";
    const auto* data = got->if_contains("data");
    const auto* colour = data && data->is_object() ? data->as_object().if_contains("colour") : nullptr;
    return colour && colour->is_string() ? std::string(colour->as_string()) : "?";
  }

  std::unique_ptr<setpoint::testing::TestServer> server_;
  std::unique_ptr<setpoint::client::RestClient> rest_;
  std::unique_ptr<setpoint::client::DynamicClient> api_;
  std::unique_ptr<setpoint::runtime::Manager> manager_;
  std::unique_ptr<mirror::MirrorReconciler> reconciler_;
};

TEST_F(MirrorTest, ConvergesUnderLagAndConflictsWithoutASecondCopy) {
  json::object app{{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", {{"name", "app"}, {"namespace", "default"}, {"labels", {{"mirror", "true"}}}}},
                   {"data", {{"colour", "blue"}}}};
  auto created = api_->create(kConfigMaps, "default", app);
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  ASSERT_TRUE(Eventually([&] { return CopyColour() == "blue"; })) << "no copy";

  json::object changed = *created;
  changed["data"] = json::object{{"colour", "green"}};
  ASSERT_TRUE(api_->update(kConfigMaps, "default", changed).has_value());
  // The operator sees the change only once the lagging cache does (200 ms): its update of the
  // copy then meets two 409s and must retry through them.
  server_->conflict_next_updates(2, "configmaps");
  ASSERT_TRUE(Eventually([&] { return CopyColour() == "green"; })) << "the copy did not follow";
  EXPECT_EQ(server_->conflicts_injected(), 2u) << "the copy's update should have met the injected conflicts";

  // Someone deletes the copy: it comes back.
  ASSERT_TRUE(api_->remove(kConfigMaps, "default", "app-mirror").has_value());
  ASSERT_TRUE(Eventually([&] { return reconciler_->creates() == 2 && CopyColour() == "green"; })) << "not restored";

  // The original goes: so does the copy.
  ASSERT_TRUE(api_->remove(kConfigMaps, "default", "app").has_value());
  ASSERT_TRUE(Eventually([&] { return CopyColour().empty(); })) << "the copy outlived its original";
  EXPECT_EQ(reconciler_->creates(), 2) << "a copy was created more often than it was needed";
}

TEST_F(MirrorTest, LeavesUnlabelledConfigMapsAndOthersCopiesAlone) {
  json::object plain{{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "plain"}, {"namespace", "default"}}},
                     {"data", {{"k", "v"}}}};
  ASSERT_TRUE(api_->create(kConfigMaps, "default", plain).has_value());
  // A ConfigMap named like a mirror, but made by someone else, is never overwritten.
  json::object squatter{{"apiVersion", "v1"},
                        {"kind", "ConfigMap"},
                        {"metadata", {{"name", "app-mirror"}, {"namespace", "default"}}},
                        {"data", {{"colour", "mine"}}}};
  ASSERT_TRUE(api_->create(kConfigMaps, "default", squatter).has_value());
  json::object app{{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", {{"name", "app"}, {"namespace", "default"}, {"labels", {{"mirror", "true"}}}}},
                   {"data", {{"colour", "blue"}}}};
  ASSERT_TRUE(api_->create(kConfigMaps, "default", app).has_value());
  // The operator reports the clash as a Warning event on the original.
  ASSERT_TRUE(Eventually([&] {
    auto events = api_->list({"", "v1", "events", true, "Event"}, "default",
                             {.field_selector = "involvedObject.name=app,reason=MirrorTaken"});
    return events && !events->items.empty();
  })) << "no MirrorTaken event";
  EXPECT_EQ(CopyColour(), "mine");
  EXPECT_FALSE(api_->get(kConfigMaps, "default", "plain-mirror").has_value());
  EXPECT_EQ(reconciler_->creates(), 0);
}

}  // namespace
