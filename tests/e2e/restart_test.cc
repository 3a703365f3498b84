// Changes made while the whole component set is down (what `spec.suspend: true`, then
// `false`, does in the controller): after a restart the destination converges, deletes
// included. The reconciler finds objects deleted meanwhile by comparing the destination's
// copies with the source; objects that left the scope meanwhile (their own label, or their
// namespace's label) go too; objects this LiveSynchronization does not manage are never
// deleted (the reconciler does not even consider them).
#include <gtest/gtest.h>

#include "configmap_plan.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class RestartTest : public PipelineTest {};

TEST_F(RestartTest, ChangesAndDeletesWhileEverythingIsDownConverge) {
  StartPipeline({.plan_yaml = ConfigMapPlan("restart"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  E2E_ASSERT_OK(EnsureNamespace(src(), "pre", {{"env", "pre"}}));
  E2E_ASSERT_OK(EnsureNamespace(src(), "pre2", {{"env", "pre"}}));
  for (int i = 0; i < 8; ++i) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"),
                         ConfigMapObject("app", "cm-" + std::to_string(i), {{"v", "1"}}, {{"dr", "on"}})));
  }
  for (int i = 0; i < 3; ++i) {
    E2E_ASSERT_OK(Upsert(src(), SecretRef("pre"), SecretObject("pre", "s-" + std::to_string(i), {{"k", "v"}})));
  }
  E2E_ASSERT_OK(Upsert(src(), SecretRef("pre2"), SecretObject("pre2", "t-0", {{"k", "v"}})));
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  ASSERT_EQ(diff.in_scope, 12u);
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  for (const auto& [name, code] : p().StopAll()) {
    ASSERT_EQ(code, 0) << name << " did not exit 0 on SIGTERM";
  }

  // While everything is down:
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "cm-0")).status());   // deleted
  E2E_ASSERT_OK(src().Delete(SecretRef("pre", "s-0")).status());       // deleted
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "cm-2"), [](json& cm) { cm["data"]["v"] = "2"; }));
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "cm-3"),             // own label: out of scope
                       [](json& cm) { cm["metadata"]["labels"].erase("dr"); }));
  E2E_ASSERT_OK(EnsureNamespace(src(), "pre2", {{"env", "prod"}}));    // namespace: out of scope
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "cm-new", {{"v", "1"}}, {{"dr", "on"}})));
  // cm-1 is deleted in the source, and its destination copy replaced by someone else's
  // object of the same name: that one is not ours and must stay.
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "cm-1")).status());
  E2E_ASSERT_OK(dst().Delete(ConfigMapRef("app", "cm-1")).status());
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), ConfigMapObject("app", "cm-1", {{"owner", "someone-else"}})));
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), ConfigMapObject("app", "foreign", {{"owner", "someone-else"}})));

  E2E_ASSERT_OK(p().StartComponents());
  ASSERT_TRUE(p().WaitForConvergence(seconds(40), &diff)) << diff.ToString();
  // app: cm-2, cm-4..cm-7, cm-new; pre: s-1, s-2.
  EXPECT_EQ(diff.in_scope, 8u);
  for (const auto& ref : {ConfigMapRef("app", "cm-0"), ConfigMapRef("app", "cm-3"), SecretRef("pre", "s-0"),
                          SecretRef("pre2", "t-0")}) {
    EXPECT_TRUE(p().WaitForDestinationAbsent(ref, seconds(5))) << ref.ns << "/" << ref.name;
  }
  auto changed = dst().Get(ConfigMapRef("app", "cm-2"));
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ((*changed)["data"]["v"], "2");
  for (const std::string name : {"cm-1", "foreign"}) {
    auto theirs = dst().Get(ConfigMapRef("app", name));
    ASSERT_TRUE(theirs.ok()) << name << ": " << theirs.status().ToString();
    EXPECT_EQ((*theirs)["data"]["owner"], "someone-else") << name;
  }
  EXPECT_FALSE(LogLines(p().Logs(Component::kReconciler), "reconcile pass finished").empty());
}

}  // namespace
}  // namespace kubesync::e2e
