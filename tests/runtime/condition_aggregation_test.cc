// Owner conditions aggregated from component conditions: seed-systems.md §7.4–§7.6 (the
// HyperConverged operator), one TEST per scenario that applies to a generic helper.
//
// Adapted: S7-02 (the name check is the caller's; the helper's part is that a rejected pass
// writes the caller's ReconcileComplete=False and Unknown for the rest), S7-08 (the condition;
// passing it on to OLM is the caller's), S7-18 (every reason the helper builds is valid, even
// from component names with dashes), S7-19 (the helper writes or leaves alone types other than
// the five; the annotation check is the caller's).
// Skipped: S7-14 (upgrade mode and versions: the caller's, it can set Progressing=True/
// HCOUpgrading with set() after aggregate()), S7-15 (deletion and finalizers), S7-16 (409
// retries), S7-17 (`oc wait` against a server: the e2e suites), S7-21 (status-then-metadata
// write order). All pure: fixed WallTime values, no clock, no sleeps.
#include "setpoint/runtime/condition_aggregation.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <tuple>
#include <vector>

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

const WallTime kT0 = *ParseRfc3339("2026-11-27T05:00:00Z");
const WallTime kT1 = kT0 + seconds(60);
const WallTime kT2 = kT0 + seconds(120);

// A component's status.conditions from (type, status, message) triples.
json::array Component(std::vector<std::tuple<std::string, std::string, std::string>> conds) {
  json::array out;
  for (const auto& [type, status, message] : conds) {
    out.push_back(json::object{{"type", type},
                               {"status", status},
                               {"reason", "AsReported"},
                               {"message", message},
                               {"lastTransitionTime", "2026-11-27T04:00:00Z"}});
  }
  return out;
}

json::array Healthy() {
  return Component({{"Available", "True", ""},
                    {"Progressing", "False", ""},
                    {"Degraded", "False", ""},
                    {"Upgradeable", "True", ""}});
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string("<absent>");
}

// "Status/Reason" of `type`, or "<absent>".
std::string StatusReason(const json::array& conds, std::string_view type) {
  const json::object* c = find_condition(conds, type);
  return c == nullptr ? "<absent>" : Str(*c, "status") + "/" + Str(*c, "reason");
}

std::string Message(const json::array& conds, std::string_view type) {
  const json::object* c = find_condition(conds, type);
  return c == nullptr ? "<absent>" : Str(*c, "message");
}

std::string TransitionTime(const json::array& conds, std::string_view type) {
  return Str(*find_condition(conds, type), "lastTransitionTime");
}

std::vector<std::string> Types(const json::array& conds) {
  std::vector<std::string> out;
  for (const json::value& v : conds) out.push_back(Str(v.as_object(), "type"));
  return out;
}

const std::vector<std::string> kFive = {"ReconcileComplete", "Available", "Progressing", "Degraded", "Upgradeable"};

// One full pass over healthy-or-not components, applied onto `status`.
bool Pass(json::array& status, std::int64_t generation, WallTime now,
          const std::vector<std::pair<std::string, json::array>>& components) {
  ConditionAggregator pass(generation);
  for (const auto& [name, conds] : components) pass.add_component(name, &conds);
  pass.aggregate();
  return pass.apply(status, now);
}

TEST(ConditionAggregation, S7_01_FirstSightWritesTheInitSet) {
  json::object owner{{"metadata", {{"name", "kubevirt-hyperconverged"}, {"generation", 1}}}};
  ASSERT_TRUE(is_first_sight(owner));
  json::array conds;
  EXPECT_TRUE(set_init_conditions(conds, 1, kT0));
  EXPECT_EQ(Types(conds), kFive);
  EXPECT_EQ(StatusReason(conds, "ReconcileComplete"), "Unknown/Init");
  EXPECT_EQ(StatusReason(conds, "Available"), "False/Init");
  EXPECT_EQ(StatusReason(conds, "Progressing"), "True/Init");
  EXPECT_EQ(StatusReason(conds, "Degraded"), "False/Init");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "Unknown/Init");
  for (const json::value& v : conds) {
    EXPECT_EQ(v.at("observedGeneration").as_int64(), 1);
    EXPECT_EQ(v.at("message").as_string(), "Initializing HyperConverged cluster");
    EXPECT_EQ(v.at("lastTransitionTime").as_string(), "2026-11-27T05:00:00Z");
  }
  EXPECT_TRUE(validate_conditions(conds, "status.conditions").empty());
  EXPECT_FALSE(set_init_conditions(conds, 1, kT1)) << "already there: nothing to write";

  owner["status"] = json::object{{"conditions", conds}};
  EXPECT_FALSE(is_first_sight(owner));
  owner["status"] = json::object{{"conditions", json::array()}};
  EXPECT_TRUE(is_first_sight(owner)) << "an empty list is what omitempty leaves of nil";
  EXPECT_EQ(availability_change(json::array(), conds), AvailabilityChange::kNone);
}

TEST(ConditionAggregation, S7_02_ARejectedPassWritesTheCallersConditionAndUnknownForTheRest) {
  ConditionAggregator pass(1);
  pass.set("ReconcileComplete", "False", "InvalidRequest",
           "Request does not match expected name (kubevirt-hyperconverged) and namespace (ns)");
  json::array conds;
  EXPECT_TRUE(pass.apply(conds, kT0));
  EXPECT_EQ(Types(conds), kFive);
  EXPECT_EQ(StatusReason(conds, "ReconcileComplete"), "False/InvalidRequest");
  EXPECT_EQ(Message(conds, "ReconcileComplete"),
            "Request does not match expected name (kubevirt-hyperconverged) and namespace (ns)");
  for (const char* type : {"Available", "Progressing", "Degraded", "Upgradeable"}) {
    EXPECT_EQ(StatusReason(conds, type), "Unknown/StatusUnknown") << type;
  }
}

TEST(ConditionAggregation, S7_03_AllComponentsHealthyMakeTheOwnerAvailable) {
  ConditionAggregator pass(4);
  const json::array kubevirt = Healthy();
  const json::array cdi =
      Component({{"Available", "True", ""}, {"Progressing", "False", ""}, {"Degraded", "False", ""}});
  EXPECT_TRUE(pass.add_component("KubeVirt", &kubevirt));
  EXPECT_TRUE(pass.add_component("CDI", &cdi)) << "no Upgradeable condition is still ready";
  EXPECT_TRUE(pass.aggregate()) << "every component up";
  json::array conds;
  EXPECT_TRUE(pass.apply(conds, kT0));
  EXPECT_EQ(Types(conds), kFive);
  EXPECT_EQ(StatusReason(conds, "ReconcileComplete"), "True/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "Available"), "True/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "Progressing"), "False/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "Degraded"), "False/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "True/ReconcileCompleted");
  for (const json::value& v : conds) {
    EXPECT_EQ(v.at("message").as_string(), "Reconcile completed successfully");
    EXPECT_EQ(v.at("observedGeneration").as_int64(), 4);
  }
  EXPECT_TRUE(is_fully_available(conds));
  EXPECT_TRUE(validate_conditions(conds, "status.conditions").empty());
}

TEST(ConditionAggregation, S7_04_ADegradedComponentMakesTheOwnerDegradedAndUnavailable) {
  ConditionAggregator pass(1);
  const json::array kubevirt =
      Component({{"Available", "True", ""}, {"Progressing", "False", ""}, {"Degraded", "True", "x"}});
  const json::array cdi = Healthy();
  EXPECT_FALSE(pass.add_component("KubeVirt", &kubevirt));
  EXPECT_TRUE(pass.add_component("CDI", &cdi));
  EXPECT_FALSE(pass.aggregate());
  json::array conds;
  pass.apply(conds, kT0);
  EXPECT_EQ(StatusReason(conds, "Degraded"), "True/KubeVirtDegraded");
  EXPECT_EQ(Message(conds, "Degraded"), "KubeVirt is degraded: x");
  EXPECT_EQ(StatusReason(conds, "Available"), "False/HCODegraded");
  EXPECT_EQ(Message(conds, "Available"), "HCO is not available due to degraded components");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "False/HCODegraded");
  EXPECT_EQ(Message(conds, "Upgradeable"), "HCO is not Upgradeable due to degraded components");
  EXPECT_EQ(StatusReason(conds, "Progressing"), "False/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "ReconcileComplete"), "True/ReconcileCompleted");

  // A component's own negative condition wins over the owner's "due to degraded components".
  ConditionAggregator both(1);
  const json::array down =
      Component({{"Available", "False", "no pods"}, {"Progressing", "True", "rolling"}, {"Degraded", "True", "x"}});
  both.add_component("KubeVirt", &down);
  both.aggregate();
  json::array conds2;
  both.apply(conds2, kT0);
  EXPECT_EQ(StatusReason(conds2, "Available"), "False/KubeVirtNotAvailable");
  EXPECT_EQ(Message(conds2, "Available"), "KubeVirt is not available: no pods");
  EXPECT_EQ(StatusReason(conds2, "Progressing"), "True/KubeVirtProgressing");
  EXPECT_EQ(StatusReason(conds2, "Upgradeable"), "False/KubeVirtProgressing");
}

TEST(ConditionAggregation, S7_05_AProgressingComponentBlocksUpgradesButNotAvailability) {
  ConditionAggregator pass(1);
  const json::array cdi =
      Component({{"Available", "True", ""}, {"Progressing", "True", "y"}, {"Degraded", "False", ""}});
  EXPECT_FALSE(pass.add_component("CDI", &cdi));
  EXPECT_FALSE(pass.aggregate());
  json::array conds;
  pass.apply(conds, kT0);
  EXPECT_EQ(StatusReason(conds, "Progressing"), "True/CDIProgressing");
  EXPECT_EQ(Message(conds, "Progressing"), "CDI is progressing: y");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "False/CDIProgressing");
  EXPECT_EQ(Message(conds, "Upgradeable"), "CDI is progressing: y");
  EXPECT_EQ(StatusReason(conds, "Available"), "True/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "Degraded"), "False/ReconcileCompleted");
  EXPECT_FALSE(is_fully_available(conds));

  // Only the owner's verdict when no component gave an Upgradeable reason of its own.
  ConditionAggregator owner_only(1);
  owner_only.set("Progressing", "True", "Rollout", "rolling out");
  owner_only.aggregate();
  EXPECT_EQ(owner_only.find("Upgradeable")->reason, "HCOProgressing");
  EXPECT_EQ(owner_only.find("Upgradeable")->message, "HCO is not Upgradeable due to progressing components");
}

TEST(ConditionAggregation, S7_06_AComponentWithoutConditionsIsNotAvailable) {
  const json::array empty;
  const json::object no_status{{"metadata", {{"name", "cdi"}}}};
  for (int variant = 0; variant < 3; ++variant) {
    ConditionAggregator pass(1);
    const bool ready = variant == 0   ? pass.add_component("SSP", nullptr)
                       : variant == 1 ? pass.add_component("SSP", &empty)
                                      : pass.add_component_object("SSP", no_status);
    EXPECT_FALSE(ready);
    pass.aggregate();
    json::array conds;
    pass.apply(conds, kT0);
    EXPECT_EQ(StatusReason(conds, "Available"), "False/SSPConditions") << variant;
    EXPECT_EQ(Message(conds, "Available"), "SSP resource has no conditions");
    EXPECT_EQ(StatusReason(conds, "Progressing"), "True/SSPConditions");
    EXPECT_EQ(Message(conds, "Progressing"), "SSP resource has no conditions");
    EXPECT_EQ(StatusReason(conds, "Upgradeable"), "False/SSPConditions");
    EXPECT_EQ(StatusReason(conds, "Degraded"), "False/ReconcileCompleted");
  }
}

TEST(ConditionAggregation, S7_07_AComponentWithoutAvailableIsNotAvailable) {
  ConditionAggregator pass(1);
  const json::array cnao = Component({{"Progressing", "False", ""}, {"Degraded", "False", ""}});
  EXPECT_FALSE(pass.add_component("CNAO", &cnao));
  pass.aggregate();
  json::array conds;
  pass.apply(conds, kT0);
  EXPECT_EQ(StatusReason(conds, "Available"), "False/CNAONotAvailable");
  EXPECT_EQ(Message(conds, "Available"), R"(missing "Available" condition)");
  EXPECT_EQ(StatusReason(conds, "Progressing"), "False/ReconcileCompleted");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "True/ReconcileCompleted");

  // Missing Progressing or Degraded: the component is not ready, but it reports nothing negative,
  // so the owner is not held back by it (upstream behaves the same).
  ConditionAggregator partial(1);
  const json::array no_progressing = Component({{"Available", "True", ""}, {"Degraded", "False", ""}});
  EXPECT_FALSE(partial.add_component("CNAO", &no_progressing));
  EXPECT_TRUE(partial.aggregate());
}

TEST(ConditionAggregation, S7_08_AComponentThatIsNotUpgradeableBlocksUpgradesWithItsReason) {
  ConditionAggregator pass(1);
  const json::array ssp = Component({{"Available", "True", ""},
                                     {"Progressing", "False", ""},
                                     {"Degraded", "False", ""},
                                     {"Upgradeable", "False", "z"}});
  EXPECT_TRUE(pass.add_component("SSP", &ssp)) << "Upgradeable is not part of readiness";
  EXPECT_FALSE(pass.aggregate()) << "but the component is not all up";
  ASSERT_NE(pass.find("Upgradeable"), nullptr);
  EXPECT_EQ(pass.find("Upgradeable")->reason, "SSPNotUpgradeable");  // what an OLM-like consumer gets
  EXPECT_EQ(pass.find("Upgradeable")->message, "SSP is not upgradeable: z");
  json::array conds;
  pass.apply(conds, kT0);
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "False/SSPNotUpgradeable");
  EXPECT_EQ(StatusReason(conds, "Available"), "True/ReconcileCompleted");
  EXPECT_TRUE(is_fully_available(conds));

  // NotUpgradeable replaces an earlier component's Progressing reason; a later Progressing
  // component does not replace it.
  const json::array cdi =
      Component({{"Available", "True", ""}, {"Progressing", "True", "y"}, {"Degraded", "False", ""}});
  ConditionAggregator cdi_first(1);
  cdi_first.add_component("CDI", &cdi);
  cdi_first.add_component("SSP", &ssp);
  EXPECT_EQ(cdi_first.find("Upgradeable")->reason, "SSPNotUpgradeable");
  ConditionAggregator ssp_first(1);
  ssp_first.add_component("SSP", &ssp);
  ssp_first.add_component("CDI", &cdi);
  EXPECT_EQ(ssp_first.find("Upgradeable")->reason, "SSPNotUpgradeable");
  EXPECT_EQ(ssp_first.find("Progressing")->reason, "CDIProgressing");
}

TEST(ConditionAggregation, S7_09_TransitionTimeMovesOnlyWhenTheStatusChanges) {
  json::array conds;
  Pass(conds, 1, kT0, {{"KubeVirt", Healthy()}});
  EXPECT_EQ(TransitionTime(conds, "Available"), "2026-11-27T05:00:00Z");
  Pass(conds, 1, kT1, {{"KubeVirt", Healthy()}});
  EXPECT_EQ(TransitionTime(conds, "Available"), "2026-11-27T05:00:00Z") << "still True: unchanged";

  const json::array down =
      Component({{"Available", "False", "gone"}, {"Progressing", "False", ""}, {"Degraded", "False", ""}});
  EXPECT_TRUE(Pass(conds, 1, kT2, {{"KubeVirt", down}}));
  EXPECT_EQ(StatusReason(conds, "Available"), "False/KubeVirtNotAvailable");
  EXPECT_EQ(TransitionTime(conds, "Available"), "2026-11-27T05:02:00Z");
  EXPECT_EQ(TransitionTime(conds, "ReconcileComplete"), "2026-11-27T05:00:00Z");
  EXPECT_EQ(TransitionTime(conds, "Upgradeable"), "2026-11-27T05:00:00Z");
}

TEST(ConditionAggregation, S7_10_ANoOpPassReportsNoChangeSoTheWriteIsSkipped) {
  json::array conds;
  EXPECT_TRUE(Pass(conds, 2, kT0, {{"KubeVirt", Healthy()}, {"CDI", Healthy()}}));
  const json::array before = conds;
  EXPECT_FALSE(Pass(conds, 2, kT1, {{"KubeVirt", Healthy()}, {"CDI", Healthy()}}));
  EXPECT_EQ(conds, before);

  json::object status{{"conditions", conds}, {"observedGeneration", 2}};
  ConditionAggregator pass(2);
  const json::array healthy = Healthy();
  pass.add_component("KubeVirt", &healthy);
  pass.aggregate();
  EXPECT_FALSE(pass.apply_to_status(status, kT2));

  // A changed message alone is a change worth writing.
  const json::array slow =
      Component({{"Available", "True", ""}, {"Progressing", "True", "a"}, {"Degraded", "False", ""}});
  Pass(conds, 2, kT1, {{"KubeVirt", slow}});
  const json::array slower =
      Component({{"Available", "True", ""}, {"Progressing", "True", "b"}, {"Degraded", "False", ""}});
  EXPECT_TRUE(Pass(conds, 2, kT2, {{"KubeVirt", slower}}));
  EXPECT_FALSE(Pass(conds, 2, kT2, {{"KubeVirt", slower}}));
}

TEST(ConditionAggregation, S7_11_EveryConditionCarriesTheNewGeneration) {
  json::object owner{{"metadata", {{"generation", 3}}}, {"status", json::object{}}};
  json::object& status = owner["status"].as_object();
  {
    ConditionAggregator old_pass(2);
    const json::array healthy = Healthy();
    old_pass.add_component("KubeVirt", &healthy);
    old_pass.aggregate();
    old_pass.apply_to_status(status, kT0);
  }
  EXPECT_EQ(status.at("observedGeneration").as_int64(), 2);
  EXPECT_FALSE(conditions_are_current(owner)) << "spec edited to generation 3, status from 2";

  ConditionAggregator pass(3);
  const json::array healthy = Healthy();
  pass.add_component("KubeVirt", &healthy);
  pass.aggregate();
  EXPECT_TRUE(pass.apply_to_status(status, kT1)) << "only the generations differ, and that is a change";
  EXPECT_EQ(status.at("observedGeneration").as_int64(), 3);
  const json::array& conds = status.at("conditions").as_array();
  for (const json::value& v : conds) EXPECT_EQ(v.at("observedGeneration").as_int64(), 3) << v;
  EXPECT_EQ(TransitionTime(conds, "Available"), "2026-11-27T05:00:00Z");
  EXPECT_TRUE(conditions_are_current(owner));
}

// What a reconciler does with availability_change: one event per edge.
struct EventLog {
  std::vector<std::string> events;
  void reconcile(json::array& conds, WallTime now, const json::array& component) {
    const json::array before = conds;
    Pass(conds, 1, now, {{"KubeVirt", component}});
    switch (availability_change(before, conds)) {
      case AvailabilityChange::kBecameAvailable:
        events.push_back("Normal ReconcileHCO");
        break;
      case AvailabilityChange::kStoppedBeingAvailable:
        events.push_back("Warning ReconcileHCO");
        break;
      case AvailabilityChange::kNone:
        break;
    }
  }
};

TEST(ConditionAggregation, S7_12_BecomingAvailableIsOneEvent) {
  json::array conds;
  set_init_conditions(conds, 1, kT0);
  EventLog log;
  const json::array rolling =
      Component({{"Available", "True", ""}, {"Progressing", "True", ""}, {"Degraded", "False", ""}});
  log.reconcile(conds, kT0, rolling);
  EXPECT_TRUE(log.events.empty()) << "available but still progressing is not fully available";
  log.reconcile(conds, kT1, Healthy());
  log.reconcile(conds, kT1, Healthy());
  log.reconcile(conds, kT2, Healthy());
  EXPECT_EQ(log.events, std::vector<std::string>{"Normal ReconcileHCO"});
}

TEST(ConditionAggregation, S7_13_StoppingBeingAvailableIsOneWarning) {
  json::array conds;
  EventLog log;
  log.reconcile(conds, kT0, Healthy());
  ASSERT_EQ(log.events, std::vector<std::string>{"Normal ReconcileHCO"});
  const json::array down =
      Component({{"Available", "False", ""}, {"Progressing", "False", ""}, {"Degraded", "False", ""}});
  log.reconcile(conds, kT1, down);
  log.reconcile(conds, kT1, down);
  EXPECT_EQ(log.events, (std::vector<std::string>{"Normal ReconcileHCO", "Warning ReconcileHCO"}));
  log.reconcile(conds, kT2, Healthy());
  EXPECT_EQ(log.events.size(), 3u);
  EXPECT_EQ(log.events.back(), "Normal ReconcileHCO");
}

TEST(ConditionAggregation, S7_18_EveryReasonWrittenIsValidEvenFromOddNames) {
  ConditionAggregator pass(1, ConditionWording::for_kind("my-app"));
  const json::array degraded =
      Component({{"Available", "True", ""}, {"Progressing", "False", ""}, {"Degraded", "True", ""}});
  const json::array unavailable = Component({{"Available", "False", ""}});
  pass.add_component("kube-virt", &degraded);
  pass.add_component("3scale.io", &unavailable);
  pass.aggregate();
  json::array conds;
  pass.apply(conds, kT0);
  EXPECT_TRUE(validate_conditions(conds, "status.conditions").empty()) << conds;
  EXPECT_EQ(StatusReason(conds, "Degraded"), "True/kubevirtDegraded");
  EXPECT_EQ(Message(conds, "Degraded"), "kube-virt is degraded: ") << "the message keeps the name";
  EXPECT_EQ(StatusReason(conds, "Available"), "False/scaleioNotAvailable");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "False/myappDegraded");
  EXPECT_EQ(Message(conds, "Upgradeable"), "my-app is not Upgradeable due to degraded components");
}

TEST(ConditionAggregation, S7_19_TypesBeyondTheFiveAreWrittenWhenSetAndOtherwiseLeftAlone) {
  json::array conds;
  set_condition(conds, Condition{"example.com/Custom", "True", "Mine", "", 1, std::nullopt}, kT0);
  ConditionAggregator pass(1);
  pass.set("TaintedConfiguration", "True", "UnsupportedFeatureAnnotation", "Unsupported feature was activated");
  pass.aggregate();
  pass.apply(conds, kT0);
  EXPECT_EQ(Types(conds), (std::vector<std::string>{"example.com/Custom", "ReconcileComplete", "Available",
                                                    "Progressing", "Degraded", "Upgradeable", "TaintedConfiguration"}));
  EXPECT_EQ(StatusReason(conds, "TaintedConfiguration"), "True/UnsupportedFeatureAnnotation");
  EXPECT_TRUE(remove_condition(conds, "TaintedConfiguration")) << "removal stays the caller's";
}

TEST(ConditionAggregation, S7_20_TypesNotSetInAFailedPassBecomeUnknown) {
  json::array conds;
  Pass(conds, 1, kT0, {{"KubeVirt", Healthy()}});
  // Ensure failed after one component: no aggregate(), the set holds only its negative conditions.
  ConditionAggregator pass(1);
  const json::array down =
      Component({{"Available", "False", "no pods"}, {"Progressing", "False", ""}, {"Degraded", "False", ""}});
  pass.add_component("KubeVirt", &down);
  EXPECT_TRUE(pass.apply(conds, kT1));
  EXPECT_EQ(StatusReason(conds, "Available"), "False/KubeVirtNotAvailable");
  for (const char* type : {"ReconcileComplete", "Progressing", "Degraded", "Upgradeable"}) {
    EXPECT_EQ(StatusReason(conds, type), "Unknown/StatusUnknown") << type;
    EXPECT_EQ(Message(conds, type), "Unknown Status");
    EXPECT_EQ(TransitionTime(conds, type), "2026-11-27T05:01:00Z");
  }
}

TEST(ConditionAggregation, OwnerWordingIsAParameter) {
  const ConditionWording memcached = ConditionWording::for_kind("Memcached");
  json::array conds;
  set_init_conditions(conds, 1, kT0, memcached);
  EXPECT_EQ(Message(conds, "Available"), "Initializing Memcached");

  ConditionAggregator pass(1, memcached);
  const json::array degraded =
      Component({{"Available", "True", ""}, {"Progressing", "False", ""}, {"Degraded", "True", "d"}});
  pass.add_component("Deployment", &degraded);
  pass.aggregate();
  pass.apply(conds, kT1);
  EXPECT_EQ(StatusReason(conds, "Available"), "False/MemcachedDegraded");
  EXPECT_EQ(Message(conds, "Available"), "Memcached is not available due to degraded components");
  EXPECT_EQ(StatusReason(conds, "Upgradeable"), "False/MemcachedDegraded");
  EXPECT_EQ(StatusReason(conds, "Degraded"), "True/DeploymentDegraded");
}

TEST(ConditionAggregation, Sec7_5_ConditionsAreTrustedOnlyForTheCurrentGeneration) {
  auto owner = [](json::value generation, json::array conds) {
    json::object o{{"metadata", json::object{}}, {"status", {{"conditions", std::move(conds)}}}};
    if (!generation.is_null()) o["metadata"].as_object()["generation"] = generation;
    return o;
  };
  auto cond = [](std::int64_t gen) {
    json::array a;
    set_condition(a, Condition{"Available", "True", "Ok", "", gen, std::nullopt}, kT0);
    set_condition(a, Condition{"Degraded", "False", "Ok", "", gen, std::nullopt}, kT0);
    return a;
  };
  EXPECT_TRUE(conditions_are_current(owner(5, cond(5))));
  EXPECT_FALSE(conditions_are_current(owner(6, cond(5))));
  EXPECT_FALSE(conditions_are_current(owner(5, json::array()))) << "nothing observed yet";
  EXPECT_TRUE(conditions_are_current(owner(nullptr, cond(0)))) << "no generation on either side";
  json::array mixed = cond(5);
  set_condition(mixed, Condition{"Degraded", "False", "Ok", "", 4, std::nullopt}, kT0);
  EXPECT_FALSE(conditions_are_current(owner(5, mixed))) << "one stale condition is enough";
  EXPECT_FALSE(conditions_are_current(json::object{{"metadata", {{"generation", 1}}}}));
}

}  // namespace
}  // namespace setpoint::runtime
