// The scheduler against the real server, the test playing the agents: spreading a set across
// agents, agent selectors and capacity, kube-scheduler's message when nothing fits, and the retry
// when an agent appears or room frees up.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "setpoint_fixture.h"

namespace setpoint::controllers {
namespace {

using namespace test_agent;

using SchedulerTest = AgentFixture;

TEST_F(SchedulerTest, SpreadsASetsProcessesAcrossAgents) {
  AddAgent("a1");
  AddAgent("a2");
  AddProcess("default", "loner", {}, "a1");  // a1 runs one more: plain Processes would prefer a2
  AddSet("default", "web", 4);
  std::map<std::string, int> per_agent;
  ASSERT_TRUE(test::Eventually([&] {
    per_agent.clear();
    auto all = List("default", "app=web");
    for (const auto& p : all)
      if (!AgentOf(p).empty()) ++per_agent[AgentOf(p)];
    return all.size() == 4 && per_agent["a1"] + per_agent["a2"] == 4;
  }));
  EXPECT_EQ(per_agent["a1"], 2) << "spread by owner first";
  EXPECT_EQ(per_agent["a2"], 2);
  for (const auto& p : List("default", "app=web")) {
    ASSERT_TRUE(test::Eventually(
        [&] { return ConditionField(Get(kProcesses, "default", Name(p)), "Scheduled", "status") == "True"; }));
    json::object got = Get(kProcesses, "default", Name(p));
    EXPECT_EQ(ConditionField(got, "Scheduled", "reason"), "Scheduled");
    EXPECT_EQ(Phase(got), "Pending") << "bound, not yet started by its agent";
  }
  // Processes without an owner: the fewest processes, then the name.
  AddProcess("default", "p1");
  ASSERT_TRUE(test::Eventually([&] { return AgentOf(Get(kProcesses, "default", "p1")) == "a2"; }));
  EXPECT_TRUE(HasEvent("default", "p1", "Scheduled"));
}

TEST_F(SchedulerTest, HonoursSelectorAndCapacityAndRetriesWhenRoomFreesUp) {
  AddAgent("x", json::object{{"zone", "x"}}, /*capacity=*/1);
  AddAgent("y", json::object{{"zone", "y"}});
  AddProcess("default", "first", json::object{{"zone", "x"}});
  ASSERT_TRUE(test::Eventually([&] { return AgentOf(Get(kProcesses, "default", "first")) == "x"; }));
  AddProcess("default", "second", json::object{{"zone", "x"}});
  ASSERT_TRUE(test::Eventually(
      [&] { return ConditionField(Get(kProcesses, "default", "second"), "Scheduled", "reason") == "Unschedulable"; }));
  json::object second = Get(kProcesses, "default", "second");
  EXPECT_EQ(Phase(second), "Pending");
  EXPECT_EQ(ConditionField(second, "Scheduled", "status"), "False");
  EXPECT_EQ(ConditionField(second, "Scheduled", "message"),
            "0/2 agents are available: 1 didn't match agent selector, 1 full.");
  EXPECT_TRUE(test::Eventually([&] { return HasEvent("default", "second", "FailedScheduling"); }));
  EXPECT_TRUE(AgentOf(second).empty());
  // The first one finishes: its slot is free.
  UpdateStatus(kProcesses, "default", "first",
               [](json::object& status, const json::object&) { status["phase"] = "Succeeded"; });
  ASSERT_TRUE(test::Eventually([&] { return AgentOf(Get(kProcesses, "default", "second")) == "x"; }));
  ASSERT_TRUE(test::Eventually(
      [&] { return ConditionField(Get(kProcesses, "default", "second"), "Scheduled", "status") == "True"; }));
}

TEST_F(SchedulerTest, WaitsWithAMessageUntilAnAgentIsReady) {
  AddProcess("default", "p");
  ASSERT_TRUE(test::Eventually([&] {
    return ConditionField(Get(kProcesses, "default", "p"), "Scheduled", "message") ==
           "0/0 agents are available: no agents are registered.";
  }));
  AddAgent("down", {}, 0, /*ready=*/false);
  AddAgent("cordoned", {}, 0, true, 3600, /*unschedulable=*/true);
  ASSERT_TRUE(test::Eventually([&] {
    return ConditionField(Get(kProcesses, "default", "p"), "Scheduled", "message") ==
           "0/2 agents are available: 1 not ready, 1 unschedulable.";
  }));
  EXPECT_TRUE(test::Eventually([&] { return HasEvent("default", "p", "FailedScheduling"); }));
  EXPECT_TRUE(AgentOf(Get(kProcesses, "default", "p")).empty());
  // The agent that was down reports Ready: the waiting Process goes there.
  UpdateStatus(kAgents, "", "down", [](json::object& status, const json::object&) {
    runtime::set_condition(status["conditions"].as_array(), {"Ready", "True", "AgentReady", "back", 0, {}},
                           std::chrono::system_clock::now());
  });
  ASSERT_TRUE(test::Eventually([&] { return AgentOf(Get(kProcesses, "default", "p")) == "down"; }));
  ASSERT_TRUE(test::Eventually([&] {
    json::object p = Get(kProcesses, "default", "p");
    return ConditionField(p, "Scheduled", "status") == "True" &&
           ConditionField(p, "Scheduled", "reason") == "Scheduled";
  }));
}

TEST_F(SchedulerTest, NeitherOverbooksNorDuplicatesWhileTheCacheLags) {
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(StartServer({.cache_delay = 150ms}));
  AddAgent("x", {}, /*capacity=*/2);
  AddAgent("y", {}, /*capacity=*/2);
  AddSet("default", "web", 5);
  auto bound_and_waiting = [&](std::map<std::string, int>& per_agent, std::vector<std::string>& waiting) {
    per_agent.clear();
    waiting.clear();
    auto all = List("default", "app=web");
    for (const auto& p : all) {
      if (!AgentOf(p).empty())
        ++per_agent[AgentOf(p)];
      else if (ConditionField(p, "Scheduled", "reason") == "Unschedulable")
        waiting.push_back(Name(p));
    }
    return all.size();
  };
  std::map<std::string, int> per_agent;
  std::vector<std::string> waiting;
  ASSERT_TRUE(test::Eventually([&] { return bound_and_waiting(per_agent, waiting) == 5 && waiting.size() == 1; }, 20s));
  EXPECT_TRUE(test::StaysFalse([&] { return bound_and_waiting(per_agent, waiting) != 5; }, 1s)) << "a sixth child";
  EXPECT_EQ(per_agent["x"], 2);
  EXPECT_EQ(per_agent["y"], 2);
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(ConditionField(Get(kProcesses, "default", waiting[0]), "Scheduled", "message"),
            "0/2 agents are available: 2 full.");
}

}  // namespace
}  // namespace setpoint::controllers
