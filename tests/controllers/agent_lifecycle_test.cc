// The agent-lifecycle controller against the real server, the test playing the agents: a Lease
// that lapses makes its Agent Unknown within moments and its Processes Lost; a ProcessSet
// replaces them on the live agent; the agent's finalizer is removed from Lost Processes being
// deleted; an Agent that never had a Lease lapses after the grace period.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "controllers/controller_manager.h"
#include "setpoint_fixture.h"

namespace setpoint::controllers {
namespace {

using namespace test_agent;

using AgentLifecycleTest = AgentFixture;

// What the agent does first for a Process it is given.
void HoldFinalizer(client::DynamicClient& api, const std::string& name) {
  auto r = api.patch(kProcesses, "default", name, client::PatchType::kMerge,
                     R"({"metadata":{"finalizers":["setpoint.dev/agent"]}})");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
}

TEST_F(AgentLifecycleTest, LapsedLeaseLosesProcessesAndTheSetReplacesThemOnTheLiveAgent) {
  AddAgent("alive");
  AddAgent("dying");
  AddProcess("default", "pinned", {}, "dying");
  AddSet("default", "web", 4);
  std::set<std::string> on_dying;
  ASSERT_TRUE(test::Eventually([&] {
    on_dying.clear();
    int bound = 0;
    for (const auto& p : List("default", "app=web"))
      if (!AgentOf(p).empty()) {
        ++bound;
        if (AgentOf(p) == "dying") on_dying.insert(Name(p));
      }
    return bound == 4;
  }));
  ASSERT_EQ(on_dying.size(), 2u) << "spread over both agents";
  for (const auto& p : List("default")) {
    HoldFinalizer(*api_, Name(p));
    ReportRunning("default", Name(p));
  }

  // The dying agent renews one last time, for 2 s.
  RenewLease("dying", 2);
  const auto lapse = std::chrono::steady_clock::now() + 2s;
  ASSERT_TRUE(
      test::Eventually([&] { return ConditionField(Get(kAgents, "", "dying"), "Ready", "status") == "Unknown"; }, 10s));
  const auto seen = std::chrono::steady_clock::now();
  EXPECT_LT(seen - lapse, 1500ms) << "the lapse is noticed promptly";
  json::object dying = Get(kAgents, "", "dying");
  EXPECT_EQ(ConditionField(dying, "Ready", "reason"), "AgentStatusUnknown");
  EXPECT_EQ(ConditionField(dying, "Ready", "message"), "Agent stopped posting status.");
  EXPECT_EQ(ConditionField(Get(kAgents, "", "alive"), "Ready", "status"), "True");

  // A Process nobody replaces shows what happened to it.
  ASSERT_TRUE(test::Eventually([&] { return Phase(Get(kProcesses, "default", "pinned")) == "Lost"; }));
  json::object pinned = Get(kProcesses, "default", "pinned");
  EXPECT_FALSE(IsReady(pinned));
  EXPECT_EQ(ConditionField(pinned, "Ready", "status"), "False");
  EXPECT_EQ(ConditionField(pinned, "Ready", "reason"), "AgentLost");

  // The set's children on the dying agent are deleted, released from the finalizer the agent
  // cannot remove, and replaced on the live agent.
  ASSERT_TRUE(test::Eventually(
      [&] {
        auto all = List("default", "app=web");
        int live_on_alive = 0;
        for (const auto& p : all) {
          if (on_dying.count(Name(p))) return false;
          if (AgentOf(p) == "alive" && !runtime::deletion_requested(p)) ++live_on_alive;
        }
        return all.size() == 4 && live_on_alive == 4;
      },
      20s));
  // Deleting the Lost Process: the finalizer is removed for the agent that cannot.
  ASSERT_TRUE(api_->remove(kProcesses, "default", "pinned").has_value());
  ASSERT_TRUE(test::Eventually([&] { return !api_->get(kProcesses, "default", "pinned").has_value(); }));

  // Processes on the live agent being deleted keep their finalizer: the agent removes it.
  auto kept = List("default", "app=web").front();
  HoldFinalizer(*api_, Name(kept));
  ASSERT_TRUE(api_->remove(kProcesses, "default", Name(kept)).has_value());
  EXPECT_TRUE(test::StaysFalse([&] { return !api_->get(kProcesses, "default", Name(kept)).has_value(); }, 500ms));
}

TEST_F(AgentLifecycleTest, AnAgentWithoutALeaseLapsesAfterTheGracePeriod) {
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(StartServer({.controllers = "garbagecollector"}));
  auto cm = ControllerManager::Start(
      server_->url(), {.controllers = "agentlifecycle", .agent_grace_without_lease = 1s, .leader_elect = false});
  ASSERT_TRUE(cm.has_value()) << cm.error().to_string();
  AddAgent("mute", {}, 0, true, /*lease_seconds=*/0);
  AddAgent("talking", {}, 0, true, /*lease_seconds=*/3600);
  ASSERT_TRUE(
      test::Eventually([&] { return ConditionField(Get(kAgents, "", "mute"), "Ready", "status") == "Unknown"; }));
  EXPECT_EQ(ConditionField(Get(kAgents, "", "talking"), "Ready", "status"), "True");
  (*cm)->stop();
}

}  // namespace
}  // namespace setpoint::controllers
