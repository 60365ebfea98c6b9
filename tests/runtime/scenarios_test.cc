// The S1 scenarios of reference/seed-systems.md that are about the API server's contract with
// controllers (optimistic concurrency, generation, the status subresource, finalizers), checked
// through the SDK's client against the real server of the test kit.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/apiextensions_v1.h"
#include "testing/crds.h"
#include "testing/eventually.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using client::GroupVersionResource;

const GroupVersionResource& kCrds = setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
const GroupVersionResource kWidgets{"s1.setpoint.dev", "v1", "widgets", true, "Widget"};

class ScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = testing::TestServer::Start();
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    rest_ = server_->make_client();
    api_ = std::make_unique<client::DynamicClient>(*rest_);
    ASSERT_TRUE(api_->create(kCrds, "", test::OpenCrd("s1.setpoint.dev", "widgets", "widget", "Widget")).has_value());
    ASSERT_TRUE(test::Eventually([&] { return api_->list(kWidgets, "default").has_value(); }));
    json::object w{{"apiVersion", "s1.setpoint.dev/v1"},
                   {"kind", "Widget"},
                   {"metadata", {{"name", "w"}, {"namespace", "default"}}},
                   {"spec", {{"size", 1}}}};
    auto created = api_->create(kWidgets, "default", w);
    ASSERT_TRUE(created.has_value()) << created.error().to_string();
    widget_ = *created;
  }
  std::int64_t Generation(const json::object& o) { return *GetInt(o.at("metadata").as_object(), "generation"); }

  std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<client::RestClient> rest_;
  std::unique_ptr<client::DynamicClient> api_;
  json::object widget_;
};

TEST_F(ScenarioTest, S1_06_TwoWritersOnOneVersionExactlyOneWins) {
  json::object a = widget_, b = widget_;
  a["spec"].as_object()["size"] = 2;
  b["spec"].as_object()["size"] = 3;
  auto first = api_->update(kWidgets, "default", a);
  auto second = api_->update(kWidgets, "default", b);
  ASSERT_TRUE(first.has_value());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kConflict);
  EXPECT_NE(second.error().message().find("the object has been modified"), std::string::npos);
}

TEST_F(ScenarioTest, S1_07_StatusWritesKeepGenerationSpecWritesBumpIt) {
  ASSERT_EQ(Generation(widget_), 1);
  json::object s = widget_;
  s["status"] = json::object{{"ready", true}};
  auto after_status = api_->update_status(kWidgets, "default", s);
  ASSERT_TRUE(after_status.has_value());
  EXPECT_EQ(Generation(*after_status), 1);
  json::object spec = *after_status;
  spec["spec"].as_object()["size"] = 5;
  auto after_spec = api_->update(kWidgets, "default", spec);
  ASSERT_TRUE(after_spec.has_value());
  EXPECT_EQ(Generation(*after_spec), 2);
}

TEST_F(ScenarioTest, S1_09_EachEndpointIgnoresTheOtherHalf) {
  json::object main = widget_;
  main["status"] = json::object{{"ready", true}};
  auto updated = api_->update(kWidgets, "default", main);
  ASSERT_TRUE(updated.has_value());
  EXPECT_FALSE(updated->contains("status")) << "status through the main resource must be ignored";
  json::object st = *updated;
  st["spec"].as_object()["size"] = 9;
  st["status"] = json::object{{"ready", true}};
  auto status_written = api_->update_status(kWidgets, "default", st);
  ASSERT_TRUE(status_written.has_value());
  EXPECT_EQ(status_written->at("spec").at("size").as_int64(), 1) << "spec through /status must be ignored";
  EXPECT_EQ(status_written->at("status").at("ready").as_bool(), true);
}

TEST_F(ScenarioTest, S1_10_S1_11_FinalizerHoldsDeletionAndNoNewOnesOnceDeleting) {
  json::object w = widget_;
  ASSERT_TRUE(add_finalizer(w, "x/f"));
  auto held = api_->update(kWidgets, "default", w);
  ASSERT_TRUE(held.has_value());
  auto deleting = api_->remove(kWidgets, "default", "w");
  ASSERT_TRUE(deleting.has_value());
  auto got = api_->get(kWidgets, "default", "w");
  ASSERT_TRUE(got.has_value()) << "a finalizer must hold the object";
  ASSERT_TRUE(deletion_requested(*got));
  // S1-11: no new finalizer on an object being deleted.
  json::object more = *got;
  ASSERT_TRUE(add_finalizer(more, "y/g"));
  auto refused = api_->update(kWidgets, "default", more);
  ASSERT_FALSE(refused.has_value());
  EXPECT_TRUE(refused.error().code() == StatusCode::kForbidden || refused.error().code() == StatusCode::kInvalid)
      << refused.error().to_string();
  // The controller removes its finalizer: the object goes.
  json::object done = *got;
  ASSERT_TRUE(remove_finalizer(done, "x/f"));
  ASSERT_TRUE(api_->update(kWidgets, "default", done).has_value());
  auto gone = api_->get(kWidgets, "default", "w");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace setpoint::runtime
