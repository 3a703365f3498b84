#include "conditions.h"

#include <gtest/gtest.h>

namespace kubesync::controller {
namespace {

using nlohmann::json;

TEST(ConditionsTest, AddsAConditionToAnEmptyList) {
  json conditions;
  SetCondition(conditions, {"Ready", ConditionStatus::kTrue, "Running", "all running"}, 3,
               "2026-01-01T00:00:00Z");
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0]["type"], "Ready");
  EXPECT_EQ(conditions[0]["status"], "True");
  EXPECT_EQ(conditions[0]["reason"], "Running");
  EXPECT_EQ(conditions[0]["message"], "all running");
  EXPECT_EQ(conditions[0]["observedGeneration"], 3);
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
}

TEST(ConditionsTest, KeepsTheTransitionTimeWhileTheStatusStaysTheSame) {
  json conditions;
  SetCondition(conditions, {"Ready", ConditionStatus::kTrue, "Running", "a"}, 1, "2026-01-01T00:00:00Z");
  SetCondition(conditions, {"Ready", ConditionStatus::kTrue, "Running", "b"}, 2, "2026-01-01T00:05:00Z");
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(conditions[0]["message"], "b");
  EXPECT_EQ(conditions[0]["observedGeneration"], 2);
  SetCondition(conditions, {"Ready", ConditionStatus::kFalse, "Suspended", ""}, 2, "2026-01-01T00:06:00Z");
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "2026-01-01T00:06:00Z");
  EXPECT_EQ(conditions[0]["status"], "False");
}

TEST(ConditionsTest, SetsTypesIndependently) {
  json conditions;
  SetCondition(conditions, {"Ready", ConditionStatus::kTrue, "Running", ""}, 1, "t1");
  SetCondition(conditions, {"Invalid", ConditionStatus::kFalse, "Valid", ""}, 1, "t1");
  EXPECT_EQ(conditions.size(), 2u);
  EXPECT_TRUE(IsConditionTrue(conditions, "Ready"));
  EXPECT_FALSE(IsConditionTrue(conditions, "Invalid"));
  EXPECT_FALSE(IsConditionTrue(conditions, "Degraded"));
  EXPECT_EQ(FindCondition(conditions, "Degraded"), nullptr);
  SetCondition(conditions, {"Ready", ConditionStatus::kTrue, "", ""}, 1, "t2");
  EXPECT_EQ((*FindCondition(conditions, "Ready"))["reason"], "Unknown");
}

TEST(ConditionsTest, StableStatusIgnoresTheProbeTime) {
  json a = {{"reachable", true}, {"lastProbeTime", "t1"}};
  json b = {{"reachable", true}, {"lastProbeTime", "t2"}};
  EXPECT_EQ(StableStatus(a), StableStatus(b));
  b["reachable"] = false;
  EXPECT_NE(StableStatus(a), StableStatus(b));
}

TEST(ConditionsTest, OnlyStatusChangedTellsOurStatusEchoFromARealChange) {
  const json before = {{"metadata", {{"name", "ls"}, {"generation", 1}, {"resourceVersion", "10"}}},
                       {"spec", {{"suspend", false}}},
                       {"status", {{"objectsSynchronized", 1}}}};
  json echo = before;
  echo["metadata"]["resourceVersion"] = "11";
  echo["metadata"]["managedFields"] = json::array({{{"manager", "kubesync"}}});
  echo["status"]["objectsSynchronized"] = 2;
  EXPECT_TRUE(OnlyStatusChanged(before, echo));

  json spec_change = echo;
  spec_change["spec"]["suspend"] = true;
  spec_change["metadata"]["generation"] = 2;
  EXPECT_FALSE(OnlyStatusChanged(before, spec_change));
  json label_change = echo;
  label_change["metadata"]["labels"] = {{"team", "a"}};
  EXPECT_FALSE(OnlyStatusChanged(before, label_change));
  json deleting = echo;
  deleting["metadata"]["deletionTimestamp"] = "2026-12-06T00:00:00Z";
  EXPECT_FALSE(OnlyStatusChanged(before, deleting));
}

}  // namespace
}  // namespace kubesync::controller
