// The ProcessSet controller against the real server, the test playing the agent: indexed owned
// children, scaling through the scale subresource, rolling updates within maxSurge and
// maxUnavailable, hot restarts one child at a time in place, replacement of failed children,
// status and conditions, cascading deletion; and the pure planning rules.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "controllers/processset_plan.h"
#include "setpoint_fixture.h"

namespace setpoint::controllers {
namespace {

using namespace test_agent;

class ProcessSetTest : public AgentFixture {
 protected:
  void SetUp() override {
    AgentFixture::SetUp();
    if (HasFatalFailure()) return;
    AddAgent("a1");
  }

  // The set's children (by owner), index → object; fails on a duplicate live index.
  std::map<int, json::object> Children(const std::string& set, bool include_deleting = false) {
    std::map<int, json::object> out;
    for (auto& p : List("default", "app=" + set)) {
      if (!include_deleting && runtime::deletion_requested(p)) continue;
      const json::object* owner = runtime::get_controller_of(p);
      if (!owner || owner->at("name") != json::value(set)) continue;
      const int index = std::stoi(Label(p, std::string(kIndexLabel)));
      EXPECT_EQ(out.count(index), 0u) << "two children of index " << index;
      out[index] = std::move(p);
    }
    return out;
  }

  std::set<int> Indexes(const std::string& set) {
    std::set<int> out;
    for (const auto& [i, p] : Children(set)) out.insert(i);
    return out;
  }

  json::object Set(const std::string& name) { return Get(kProcessSets, "default", name); }
  std::int64_t StatusInt(const json::object& set, std::string_view field) {
    const json::object* s = GetObject(set, "status");
    return s ? GetInt(*s, field).value_or(-1) : -1;
  }

  // The template's hash as the set reports it.
  std::string CurrentHash(const std::string& name) {
    const json::object set = Set(name);
    const json::object* s = GetObject(set, "status");
    return s ? std::string(GetStringOr(*s, "templateHash", "")) : std::string();
  }

  void SetVersion(const std::string& name, const std::string& version) {
    auto r = api_->patch(kProcessSets, "default", name, client::PatchType::kMerge,
                         R"({"spec":{"template":{"spec":{"args":[")" + version + R"("]}}}})");
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }

  // Settled, with status up to date: every replica ready and on the current template.
  bool Converged(const std::string& name, int replicas) {
    SettleAll("default", "app=" + name);
    json::object set = Set(name);
    const std::int64_t generation = GetInt(set.at("metadata").as_object(), "generation").value_or(0);
    return StatusInt(set, "observedGeneration") == generation && StatusInt(set, "replicas") == replicas &&
           StatusInt(set, "readyReplicas") == replicas && StatusInt(set, "updatedReplicas") == replicas &&
           StatusInt(set, "availableReplicas") == replicas &&
           ConditionField(set, "Progressing", "reason") == "NewProcessSetAvailable" &&
           static_cast<int>(Children(name, true).size()) == replicas;
  }

  // What the set and its children look like, for failure messages.
  std::string Dump(const std::string& name) {
    std::string out = "set status: ";
    json::object set = Set(name);
    if (const json::value* st = set.if_contains("status")) out += json::serialize(*st);
    for (const auto& p : List("default", "app=" + name)) {
      out += "\n  " + Name(p) + " index=" + Label(p, std::string(kIndexLabel)) +
             " hash=" + Label(p, std::string(kTemplateHashLabel)) + " agent=" + AgentOf(p) + " phase=" + Phase(p) +
             " ready=" + (IsReady(p) ? "true" : "false") + (runtime::deletion_requested(p) ? " deleting" : "") +
             " generation=" + json::serialize(p.at("metadata").at("generation"));
      if (const json::value* st = p.if_contains("status")) out += " status=" + json::serialize(*st);
    }
    auto metrics = rest_->request(client::Method::kGet, "/metrics");
    if (metrics)
      for (std::size_t pos = 0;
           (pos = metrics->body.find("controller_runtime_reconcile_total{", pos)) != std::string::npos;) {
        const auto end = metrics->body.find('\n', pos);
        out += "\n" + metrics->body.substr(pos, end - pos);
        pos = end;
      }
    return out;
  }

  // Drives a rolling update to the end, checking the bounds on every observation of the children.
  void RollAndCheckBounds(const std::string& name, int replicas, int max_total, int min_ready) {
    SetVersion(name, "v2");
    std::string hash;
    ASSERT_TRUE(test::Eventually([&] {
      const json::object set = Set(name);  // one read: the hash and the generation it belongs to
      if (StatusInt(set, "observedGeneration") != 2) return false;
      hash = std::string(set.at("status").at("templateHash").as_string());
      return true;
    }));
    int observations = 0;
    bool done = test::Eventually(
        [&] {
          auto all = List("default", "app=" + name);
          ++observations;
          int ready = 0, updated_ready = 0;
          for (const auto& p : all) {
            if (runtime::deletion_requested(p)) continue;
            if (IsReady(p)) ++ready;
            if (IsReady(p) && Label(p, std::string(kTemplateHashLabel)) == hash) ++updated_ready;
          }
          EXPECT_LE(static_cast<int>(all.size()), max_total) << "more children than replicas + maxSurge";
          EXPECT_GE(ready, min_ready) << "fewer ready children than replicas - maxUnavailable";
          if (updated_ready == replicas && static_cast<int>(all.size()) == replicas) return true;
          SettleAll("default", "app=" + name);
          return false;
        },
        30s, 20ms);
    ASSERT_TRUE(done) << "rollout did not finish after " << observations << " observations\n" << Dump(name);
    EXPECT_EQ(Indexes(name), (std::set<int>{0, 1, 2, 3}));
    ASSERT_TRUE(test::Eventually([&] { return Converged(name, replicas); }));
  }
};

TEST_F(ProcessSetTest, CreatesIndexedChildrenItOwnsAndReportsStatus) {
  AddSet("default", "web", 3);
  ASSERT_TRUE(test::Eventually([&] { return Indexes("web") == std::set<int>{0, 1, 2}; }));
  for (const auto& [index, p] : Children("web")) {
    EXPECT_EQ(Name(p).rfind("web-", 0), 0u) << Name(p);
    const json::object* owner = runtime::get_controller_of(p);
    ASSERT_NE(owner, nullptr);
    EXPECT_EQ(owner->at("kind"), "ProcessSet");
    EXPECT_EQ(owner->at("blockOwnerDeletion"), true);
    EXPECT_EQ(owner->at("uid"), Set("web").at("metadata").at("uid"));
    EXPECT_EQ(Label(p, "app"), "web");
    EXPECT_FALSE(Label(p, std::string(kTemplateHashLabel)).empty());
  }
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 3); }));
  json::object set = Set("web");
  const json::object& status = set.at("status").as_object();
  EXPECT_EQ(status.at("selector"), "app=web");
  EXPECT_EQ(status.at("templateHash").as_string(), Label(Children("web").at(0), std::string(kTemplateHashLabel)));
  EXPECT_EQ(ConditionField(set, "Available", "status"), "True");
  EXPECT_EQ(ConditionField(set, "Available", "reason"), "MinimumReplicasAvailable");
  EXPECT_EQ(ConditionField(set, "Progressing", "status"), "True");
  EXPECT_EQ(ConditionField(set, "Progressing", "observedGeneration"), "1");
  EXPECT_TRUE(HasEvent("default", "web", "SuccessfulCreate"));
}

// The template is copied as written: an empty port address (every interface) stays empty in the
// child, not the loopback default the server gives an absent one.
TEST_F(ProcessSetTest, ChildrenGetTheTemplateAsWritten) {
  json::object spec{{"replicas", 1},
                    {"selector", {{"matchLabels", {{"app", "any"}}}}},
                    {"template",
                     {{"metadata", {{"labels", {{"app", "any"}}}}},
                      {"spec",
                       {{"command", json::array{"sleep", "1000"}},
                        {"ports", json::array{json::object{{"name", "http"}, {"address", ""}}}}}}}}};
  ASSERT_TRUE(api_->create(kProcessSets, "default",
                           json::object{{"apiVersion", "setpoint.dev/v1alpha1"},
                                        {"kind", "ProcessSet"},
                                        {"metadata", {{"name", "any"}, {"namespace", "default"}}},
                                        {"spec", std::move(spec)}})
                  .has_value());
  ASSERT_TRUE(test::Eventually([&] { return Indexes("any") == std::set<int>{0}; }));
  const json::object child = Children("any").at(0);
  const json::array& ports = child.at("spec").at("ports").as_array();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].at("address"), "") << json::serialize(child);
}

TEST_F(ProcessSetTest, ScalesThroughTheScaleSubresource) {
  AddSet("default", "web", 3);
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 3); }));
  const std::string keep0 = Name(Children("web").at(0)), keep1 = Name(Children("web").at(1));

  auto patched =
      api_->patch(kProcessSets, "default", "web", client::PatchType::kMerge, R"({"spec":{"replicas":5}})", "scale");
  ASSERT_TRUE(patched.has_value()) << patched.error().to_string();
  ASSERT_TRUE(test::Eventually([&] { return Indexes("web") == std::set<int>{0, 1, 2, 3, 4}; }));
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 5); }));
  auto got = rest_->request(client::Method::kGet, client::ResourcePath(kProcessSets, "default", "web", "scale"));
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  json::object s = ParseJson(got->body).value().as_object();
  EXPECT_EQ(s.at("spec").at("replicas"), 5);
  EXPECT_EQ(s.at("status").at("replicas"), 5);
  EXPECT_EQ(s.at("status").at("selector"), "app=web");

  // PUT the Scale back to 2: the highest indexes go, the others stay the same Processes.
  s["spec"].as_object()["replicas"] = 2;
  auto put =
      rest_->request(client::Method::kPut, client::ResourcePath(kProcessSets, "default", "web", "scale"), ToJson(s));
  ASSERT_TRUE(put.has_value()) << put.error().to_string();
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 2); }));
  auto left = Children("web");
  EXPECT_EQ(Indexes("web"), (std::set<int>{0, 1}));
  EXPECT_EQ(Name(left.at(0)), keep0);
  EXPECT_EQ(Name(left.at(1)), keep1);
}

TEST_F(ProcessSetTest, RollingUpdateByDefaultReplacesOneAtATimeWithoutSurge) {
  AddSet("default", "web", 4);
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 4); }));
  RollAndCheckBounds("web", 4, /*max_total=*/4, /*min_ready=*/3);
}

TEST_F(ProcessSetTest, RollingUpdateWithSurgeKeepsEveryReplicaReady) {
  AddSet("default", "web", 4,
         json::object{{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", 0}}}});
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 4); }));
  RollAndCheckBounds("web", 4, /*max_total=*/5, /*min_ready=*/4);
}

TEST_F(ProcessSetTest, HotRestartUpdatesOneChildAtATimeInPlace) {
  AddSet("default", "web", 3, json::object{{"type", "HotRestart"}});
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 3); }));
  std::map<int, std::string> names;
  std::map<int, std::int64_t> generations;
  for (const auto& [i, p] : Children("web")) {
    names[i] = Name(p);
    generations[i] = p.at("metadata").at("generation").as_int64();
  }
  const std::string old_hash = CurrentHash("web");
  SetVersion("web", "v2");
  ASSERT_TRUE(test::Eventually([&] { return CurrentHash("web") != old_hash; }));
  const std::string hash = CurrentHash("web");

  std::set<int> done;
  for (int step = 0; step < 3; ++step) {
    // Exactly one more child moves to the new template, in place.
    int moving = -1;
    ASSERT_TRUE(test::Eventually([&] {
      for (const auto& [i, p] : Children("web"))
        if (!done.count(i) && Label(p, std::string(kTemplateHashLabel)) == hash) moving = i;
      return moving >= 0;
    })) << "step "
        << step;
    json::object child = Children("web").at(moving);
    EXPECT_EQ(Name(child), names[moving]) << "updated in place, not replaced";
    EXPECT_EQ(child.at("spec").at("args").at(0), "v2");
    EXPECT_EQ(AgentOf(child), "a1") << "the agent is kept";
    EXPECT_EQ(child.at("metadata").at("generation"), generations[moving] + 1) << "one spec change";
    // The agent runs the new epoch beside the draining old one: not settled, nothing else moves.
    ReportRunning("default", names[moving], /*epochs=*/2);
    EXPECT_TRUE(test::StaysFalse(
        [&] {
          int updated = 0;
          for (const auto& [i, p] : Children("web")) updated += Label(p, std::string(kTemplateHashLabel)) == hash;
          return updated > static_cast<int>(done.size()) + 1;
        },
        500ms))
        << "a second child was restarted before the first settled";
    ReportRunning("default", names[moving], /*epochs=*/1);
    done.insert(moving);
  }
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 3); }));
  for (const auto& [i, p] : Children("web")) EXPECT_EQ(Name(p), names[i]);
  EXPECT_TRUE(HasEvent("default", "web", "HotRestart"));
}

TEST_F(ProcessSetTest, ReplacesAFailedChild) {
  AddSet("default", "web", 2);
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 2); }));
  const std::string failed = Name(Children("web").at(1));
  UpdateStatus(kProcesses, "default", failed, [](json::object& status, const json::object&) {
    status["phase"] = "Failed";
    status["ready"] = false;
  });
  ASSERT_TRUE(test::Eventually([&] {
    auto c = Children("web", true);
    return c.size() == 2 && c.count(1) && Name(c.at(1)) != failed;
  }));
  EXPECT_FALSE(api_->get(kProcesses, "default", failed).has_value());
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 2); }));
}

TEST_F(ProcessSetTest, AvailabilityFollowsReadinessAndDeleteCascades) {
  AddSet("default", "web", 2);
  ASSERT_TRUE(test::Eventually([&] { return Converged("web", 2); }));
  EXPECT_EQ(ConditionField(Set("web"), "Available", "status"), "True");
  for (const auto& [i, p] : Children("web")) ReportRunning("default", Name(p), 1, /*ready=*/false);
  ASSERT_TRUE(test::Eventually([&] {
    json::object set = Set("web");
    return StatusInt(set, "readyReplicas") == 0 && ConditionField(set, "Available", "status") == "False" &&
           ConditionField(set, "Available", "reason") == "MinimumReplicasUnavailable";
  }));
  auto r = api_->remove(kProcessSets, "default", "web");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_TRUE(test::Eventually([&] { return List("default", "app=web").empty(); }, 20s));
}

TEST_F(ProcessSetTest, ASelectorThatMissesTheTemplateIsReported) {
  json::object spec{
      {"replicas", 1},
      {"selector", {{"matchLabels", {{"app", "other"}}}}},
      {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", {{"command", json::array{"true"}}}}}}};
  ASSERT_TRUE(api_->create(kProcessSets, "default",
                           json::object{{"apiVersion", "setpoint.dev/v1alpha1"},
                                        {"kind", "ProcessSet"},
                                        {"metadata", {{"name", "bad"}}},
                                        {"spec", spec}})
                  .has_value());
  ASSERT_TRUE(test::Eventually([&] { return HasEvent("default", "bad", "InvalidSpec"); }));
  EXPECT_TRUE(List("default").empty());
}

// The planning rules on their own.
TEST(ProcessSetPlanTest, BoundsResolveAsADeploymentsDo) {
  using types::IntOrString;
  const std::optional<IntOrString> pct = IntOrString("25%"), one = IntOrString(1), bad = IntOrString("1"),
                                   over = IntOrString("150%"), negative = IntOrString(-1);
  EXPECT_EQ(ResolveBound(pct, 10, 0, true).value(), 3);
  EXPECT_EQ(ResolveBound(pct, 10, 0, false).value(), 2);
  EXPECT_EQ(ResolveBound(one, 10, 0, false).value(), 1);
  EXPECT_EQ(ResolveBound(std::nullopt, 10, 7, false).value(), 7);
  EXPECT_FALSE(ResolveBound(bad, 10, 0, false).has_value());
  EXPECT_FALSE(ResolveBound(over, 10, 0, false).has_value());
  EXPECT_FALSE(ResolveBound(negative, 10, 0, false).has_value());
}

TEST(ProcessSetPlanTest, TemplateHashIgnoresKeyOrder) {
  auto a = ParseJson(R"({"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"command":["x"]}})").value();
  auto b = ParseJson(R"({"spec":{"command":["x"]},"metadata":{"labels":{"b":"2","a":"1"}}})").value();
  auto c = ParseJson(R"({"spec":{"command":["y"]},"metadata":{"labels":{"b":"2","a":"1"}}})").value();
  EXPECT_EQ(TemplateHash(a), TemplateHash(b));
  EXPECT_NE(TemplateHash(a), TemplateHash(c));
}

TEST(ProcessSetPlanTest, AReplacedIndexWaitsForItsPredecessorAndScaleDownTakesTheTop) {
  SetView set;
  set.replicas = 3;
  set.hash = "new";
  const WallTime now = std::chrono::system_clock::now();
  auto child = [](std::string name, int index, bool deleting = false, std::string phase = "Running") {
    ChildView c;
    c.name = std::move(name);
    c.index = index;
    c.hash = "new";
    c.deleting = deleting;
    c.phase = std::move(phase);
    c.ready = c.settled = c.phase == "Running";
    return c;
  };
  // Index 1 is still being deleted: nothing is created for it yet; a Failed index 2 goes.
  SetPlan p = PlanProcessSet(set, {child("a", 0), child("b", 1, true), child("c", 2, false, "Failed")}, now);
  EXPECT_TRUE(p.create.empty());
  EXPECT_EQ(p.remove, std::vector<std::string>{"c"});
  EXPECT_EQ(p.counts.replicas, 1);
  // Once it is gone, it is recreated.
  p = PlanProcessSet(set, {child("a", 0), child("c", 2, true)}, now);
  EXPECT_EQ(p.create, std::vector<int>{1});
  // Scale down to 1: indexes 1 and 2 go, whatever their readiness.
  set.replicas = 1;
  p = PlanProcessSet(set, {child("a", 0), child("b", 1), child("c", 2)}, now);
  EXPECT_EQ(p.remove, (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(p.counts.complete);
}

TEST(ProcessSetPlanTest, MinReadySecondsDelaysAvailability) {
  SetView set;
  set.replicas = 1;
  set.hash = "h";
  set.min_ready_seconds = 10;
  const WallTime now = std::chrono::system_clock::now();
  ChildView c;
  c.name = "a";
  c.index = 0;
  c.hash = "h";
  c.phase = "Running";
  c.ready = c.settled = true;
  c.ready_since = now - std::chrono::seconds(4);
  SetPlan p = PlanProcessSet(set, {c}, now);
  EXPECT_EQ(p.counts.available, 0);
  ASSERT_TRUE(p.recheck.has_value());
  EXPECT_EQ(*p.recheck, std::chrono::seconds(6));
  c.ready_since = now - std::chrono::seconds(11);
  EXPECT_EQ(PlanProcessSet(set, {c}, now).counts.available, 1);
}

}  // namespace
}  // namespace setpoint::controllers
