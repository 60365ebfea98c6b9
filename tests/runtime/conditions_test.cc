// metav1.Condition rules (seed-systems.md §7.3) and S1-08 (observedGeneration on every condition).
#include "setpoint/runtime/conditions.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

const WallTime kT0 = *ParseRfc3339("2026-11-27T05:00:00Z");
const WallTime kT1 = kT0 + seconds(60);
const WallTime kT2 = kT0 + seconds(120);

Condition Available(std::string status, std::string reason, std::int64_t generation = 1) {
  return Condition{"Available", std::move(status), std::move(reason), "msg", generation, std::nullopt};
}

std::string_view Field(const json::object* c, std::string_view key) { return c->at(key).as_string(); }

TEST(ConditionsTest, SetAppendsWithNowAsTransitionTime) {
  json::array conds;
  EXPECT_TRUE(set_condition(conds, Available("True", "MinimumReplicasAvailable"), kT0));
  ASSERT_EQ(conds.size(), 1u);
  const json::object* c = find_condition(conds, "Available");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Field(c, "status"), "True");
  EXPECT_EQ(Field(c, "reason"), "MinimumReplicasAvailable");
  EXPECT_EQ(Field(c, "lastTransitionTime"), "2026-11-27T05:00:00Z");
  EXPECT_EQ(c->at("observedGeneration").as_int64(), 1);
  EXPECT_TRUE(validate_condition(conds[0], "status.conditions[0]").empty());
  EXPECT_TRUE(is_true(conds, "Available"));
  EXPECT_FALSE(is_false(conds, "Available"));
  EXPECT_FALSE(is_true(conds, "Progressing"));
}

TEST(ConditionsTest, TransitionTimeChangesOnlyWhenStatusChanges) {
  json::array conds;
  set_condition(conds, Available("True", "Ready"), kT0);
  // Same status, new reason/message/generation: updated, transition time kept. (S1-08)
  Condition c = Available("True", "StillReady", 3);
  c.message = "new message";
  EXPECT_TRUE(set_condition(conds, c, kT1));
  const json::object* got = find_condition(conds, "Available");
  EXPECT_EQ(Field(got, "lastTransitionTime"), "2026-11-27T05:00:00Z");
  EXPECT_EQ(Field(got, "reason"), "StillReady");
  EXPECT_EQ(Field(got, "message"), "new message");
  EXPECT_EQ(got->at("observedGeneration").as_int64(), 3);
  // Nothing different: no change reported.
  EXPECT_FALSE(set_condition(conds, c, kT2));
  // Status flips: transition time moves to now.
  EXPECT_TRUE(set_condition(conds, Available("False", "Degraded", 3), kT2));
  got = find_condition(conds, "Available");
  EXPECT_EQ(Field(got, "status"), "False");
  EXPECT_EQ(Field(got, "lastTransitionTime"), "2026-11-27T05:02:00Z");
  EXPECT_TRUE(is_false(conds, "Available"));
  ASSERT_EQ(conds.size(), 1u);
}

TEST(ConditionsTest, ExplicitTransitionTimeIsUsedOnChange) {
  json::array conds;
  Condition c = Available("Unknown", "Init");
  c.last_transition_time = kT1;
  set_condition(conds, c, kT2);
  EXPECT_EQ(Field(find_condition(conds, "Available"), "lastTransitionTime"), "2026-11-27T05:01:00Z");
}

TEST(ConditionsTest, ZeroGenerationIsOmitted) {
  json::array conds;
  set_condition(conds, Available("True", "Ready", 2), kT0);
  EXPECT_TRUE(set_condition(conds, Available("True", "Ready", 0), kT0));
  EXPECT_FALSE(find_condition(conds, "Available")->contains("observedGeneration"));
}

TEST(ConditionsTest, RemoveAndMultipleTypes) {
  json::array conds;
  set_condition(conds, Available("True", "Ready"), kT0);
  set_condition(conds, Condition{"Degraded", "False", "AsExpected", "", 1, std::nullopt}, kT0);
  EXPECT_EQ(conds.size(), 2u);
  EXPECT_TRUE(remove_condition(conds, "Available"));
  EXPECT_FALSE(remove_condition(conds, "Available"));
  EXPECT_EQ(find_condition(conds, "Available"), nullptr);
  EXPECT_NE(find_condition(conds, "Degraded"), nullptr);
}

TEST(ConditionsTest, TypeRules) {
  for (const char* ok : {"Ready", "Available", "example.com/Degraded", "a", "x-y_z.w", "hco.kubevirt.io/Upgradeable"}) {
    EXPECT_TRUE(is_valid_condition_type(ok)) << ok;
  }
  for (const char* bad :
       {"", "-Ready", "Ready-", "Example.com/Ready", "a/b/c", "/Ready", "ex..com/Ready", "has space"}) {
    EXPECT_FALSE(is_valid_condition_type(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_condition_type(std::string(317, 'a')));
  EXPECT_TRUE(is_valid_condition_type(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_condition_type(std::string(64, 'a'))) << "name part of a qualified name";
  EXPECT_TRUE(is_valid_condition_type(std::string(250, 'a') + ".io/Ready"));
  EXPECT_FALSE(is_valid_condition_type(std::string(251, 'a') + ".io/Ready")) << "prefix over 253";
}

TEST(ConditionsTest, ReasonRules) {
  for (const char* ok : {"A", "Ready", "Min_Replicas", "a,b:c", "Reason_"}) {
    EXPECT_TRUE(is_valid_condition_reason(ok)) << ok;
  }
  for (const char* bad : {"", "1Reason", "_Reason", "Reason:", "Reason,", "Has Space", "Has-Dash"}) {
    EXPECT_FALSE(is_valid_condition_reason(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_condition_reason(std::string(1025, 'a')));
}

std::vector<std::string> Fields(const std::vector<StatusCause>& causes) {
  std::vector<std::string> out;
  for (const auto& c : causes) out.push_back(c.reason + " " + c.field);
  return out;
}

TEST(ConditionsTest, ValidationReportsEveryBadField) {
  json::value bad = json::parse(R"({"type":"-x","status":"Yes","reason":"bad reason",
      "lastTransitionTime":"yesterday","observedGeneration":-1})");
  EXPECT_EQ(Fields(validate_condition(bad, "status.conditions[0]")),
            (std::vector<std::string>{
                "FieldValueInvalid status.conditions[0].type",
                "FieldValueNotSupported status.conditions[0].status",
                "FieldValueInvalid status.conditions[0].reason",
                "FieldValueRequired status.conditions[0].message",
                "FieldValueInvalid status.conditions[0].lastTransitionTime",
                "FieldValueInvalid status.conditions[0].observedGeneration",
            }));
  json::value long_message = json::parse(R"({"type":"Ready","status":"True","reason":"Ok",
      "lastTransitionTime":"2026-11-27T05:00:00Z"})");
  long_message.as_object()["message"] = std::string(32769, 'm');
  EXPECT_EQ(Fields(validate_condition(long_message, "c")), (std::vector<std::string>{"FieldValueTooLong c.message"}));
  long_message.as_object()["message"] = std::string(32768, 'm');
  EXPECT_TRUE(validate_condition(long_message, "c").empty());
  json::value missing = json::object();
  EXPECT_EQ(validate_condition(missing, "c").size(), 5u);
}

TEST(ConditionsTest, DuplicateTypesAreInvalid) {
  json::array conds;
  set_condition(conds, Available("True", "Ready"), kT0);
  conds.push_back(conds[0]);
  EXPECT_EQ(Fields(validate_conditions(conds, "status.conditions")),
            (std::vector<std::string>{"FieldValueDuplicate status.conditions[1].type"}));
}

}  // namespace
}  // namespace setpoint::runtime
