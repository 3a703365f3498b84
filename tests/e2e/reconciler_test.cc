// The reconciler end to end (issue 12): real nats-server, redis-server, two emulators and
// every component binary. What only a diff of the two clusters can find: copies of a rule
// removed from the plan, deletes nobody saw while Redis was wiped, copies edited or
// deleted by hand on the standby; and what it must never do: touch an object it did not
// create, delete from an emptied source, or write anything in a dry run.
#include <gtest/gtest.h>

#include "configmap_plan.h"
#include "kubesync/state/redis_client.h"
#include "kubesync/transform/mark.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class ReconcilerTest : public PipelineTest {
 protected:
  void SeedConfigMaps(const std::string& ns, int n, int from = 0) {
    for (int i = from; i < from + n; ++i) {
      E2E_ASSERT_OK(Upsert(src(), ConfigMapRef(ns),
                           ConfigMapObject(ns, "cm-" + std::to_string(i), {{"v", "1"}}, {{"dr", "on"}})));
    }
  }
  void Converge(size_t in_scope, std::chrono::milliseconds timeout = seconds(40)) {
    DiffReport diff;
    ASSERT_TRUE(p().WaitForConvergence(timeout, &diff)) << diff.ToString();
    ASSERT_EQ(diff.in_scope, in_scope) << diff.ToString();
    ASSERT_TRUE(p().WaitForIdle(seconds(30))) << p().ConsumerReport();
  }
  static const json* Line(const std::vector<json>& report, const std::string& resource) {
    for (const json& line : report) {
      if (line.value("resource", "") == resource) return &line;
    }
    return nullptr;
  }
  static const json* Total(const std::vector<json>& report) {
    for (const json& line : report) {
      if (line.value("total", false)) return &line;
    }
    return nullptr;
  }
};

TEST_F(ReconcilerTest, ARuleRemovedFromThePlanHasItsObjectsDeletedAtTheNextPass) {
  StartPipeline({.plan_yaml = ConfigMapPlan("rule-removed"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  SeedConfigMaps("app", 4);
  for (int i = 0; i < 2; ++i) {
    E2E_ASSERT_OK(
        Upsert(src(), SecretRef("app"), SecretObject("app", "s-" + std::to_string(i), {{"k", "v"}})));
  }
  Converge(6);

  // The secrets rule goes; the components restart with the new plan (as the controller
  // restarts a set whose configuration changed).
  p().StopAll();
  std::string plan = ConfigMapPlan("rule-removed");
  plan = plan.substr(0, plan.find("        - version: v1\n          resource: secrets"));
  testsupport::WriteFile(p().plan_path(), plan);
  E2E_ASSERT_OK(p().StartComponents());
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(p().WaitForDestinationAbsent(SecretRef("app", "s-" + std::to_string(i)), seconds(40)))
        << "s-" << i << " stayed after its rule was removed";
  }
  for (int i = 0; i < 4; ++i) {
    auto cm = dst().Get(ConfigMapRef("app", "cm-" + std::to_string(i)));
    EXPECT_TRUE(cm.ok()) << "cm-" << i << ": " << cm.status().ToString();
  }
  // The source is only read.
  auto source_secret = src().Get(SecretRef("app", "s-0"));
  EXPECT_TRUE(source_secret.ok()) << source_secret.status().ToString();
  EXPECT_FALSE(LogLines(p().Logs(Component::kReconciler), "reconcile pass finished").empty());
}

TEST_F(ReconcilerTest, RedisFlushedWhileTheSourceChangesAndDeletesStillConverges) {
  StartPipeline({.plan_yaml = ConfigMapPlan("flushed", "      resyncPeriod: 3s\n"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  SeedConfigMaps("app", 10);
  Converge(10);

  auto redis = state::RedisClient::Connect({.url = p().redis().url()});
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  ASSERT_TRUE((*redis)->Command({"FLUSHALL"}).ok());
  // Deletes nobody watches: the listener is down, and Redis no longer knows what the
  // destination holds.
  ASSERT_EQ(p().Stop(Component::kEventsListener), 0);
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "cm-0")).status());
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "cm-1")).status());
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "cm-2"), [](json& cm) { cm["data"]["v"] = "2"; }));
  E2E_ASSERT_OK(
      Modify(src(), ConfigMapRef("app", "cm-3"), [](json& cm) { cm["metadata"]["labels"]["dr"] = "off"; }));
  SeedConfigMaps("app", 1, 10);
  ASSERT_TRUE((*redis)->Command({"FLUSHALL"}).ok());
  E2E_ASSERT_OK(p().StartComponent(Component::kEventsListener));

  Converge(8, seconds(60));
  for (const std::string name : {"cm-0", "cm-1", "cm-3"}) {
    EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", name), seconds(5))) << name;
  }
}

TEST_F(ReconcilerTest, HandEditsOnTheStandbyAreRepairedOnlyOnManagedObjects) {
  StartPipeline({.plan_yaml = ConfigMapPlan("hand-edits", "      resyncPeriod: 3s\n"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  SeedConfigMaps("app", 4);
  Converge(4);

  E2E_ASSERT_OK(
      Modify(dst(), ConfigMapRef("app", "cm-0"), [](json& cm) { cm["data"]["v"] = "edited by hand"; }));
  E2E_ASSERT_OK(dst().Delete(ConfigMapRef("app", "cm-1")).status());
  // Someone's own objects: one unlabelled, one that even carries the selected label.
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), ConfigMapObject("app", "mine", {{"v", "keep"}})));
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"),
                             ConfigMapObject("app", "mine-labelled", {{"v", "keep"}}, {{"dr", "on"}})));
  // ... and an unmanaged copy's namesake the source does have: never overwritten.
  E2E_ASSERT_OK(dst().Delete(ConfigMapRef("app", "cm-2")).status());
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), ConfigMapObject("app", "cm-2", {{"v", "theirs"}})));

  ASSERT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "cm-0"), [](const json& cm) { return cm["data"].value("v", "") == "1"; },
      seconds(40)))
      << "the hand edit was not repaired";
  ASSERT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "cm-1"), [](const json& cm) { return cm["data"].value("v", "") == "1"; },
      seconds(40)))
      << "the hand delete was not repaired";
  // A few more passes, then the unmanaged objects are as their owners left them.
  const size_t passes = LogLines(p().Logs(Component::kReconciler), "reconcile pass finished").size();
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        return LogLines(p().Logs(Component::kReconciler), "reconcile pass finished").size() >= passes + 2;
      },
      seconds(30)));
  for (const std::string name : {"mine", "mine-labelled"}) {
    auto theirs = dst().Get(ConfigMapRef("app", name));
    ASSERT_TRUE(theirs.ok()) << name << ": " << theirs.status().ToString();
    EXPECT_EQ((*theirs)["data"]["v"], "keep") << name;
    EXPECT_FALSE(transform::IsManagedBy(*theirs, p().id())) << name;
  }
  auto cm2 = dst().Get(ConfigMapRef("app", "cm-2"));
  ASSERT_TRUE(cm2.ok());
  EXPECT_EQ((*cm2)["data"]["v"], "theirs");
}

TEST_F(ReconcilerTest, TheMassDeletionGuardTripsOnAnEmptiedSource) {
  StartPipeline({.plan_yaml = ConfigMapPlan("guard"), .log_level = "info", .reconciler = false});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  SeedConfigMaps("app", 12);
  Converge(12);
  // The source looks empty (a wrong cluster, a bad restore): the listener does not see it.
  ASSERT_EQ(p().Stop(Component::kEventsListener), 0);
  for (int i = 0; i < 12; ++i)
    E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "cm-" + std::to_string(i))).status());

  auto run = p().RunReconcilerOnce();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 3) << run->stdout_text;
  const json* total = Total(run->report);
  ASSERT_NE(total, nullptr) << run->stdout_text;
  EXPECT_EQ((*total)["extra"], 12);
  EXPECT_EQ((*total)["deleted"], 0);
  EXPECT_EQ((*total)["guardTripped"], true);
  EXPECT_FALSE(LogLines(run->stdout_text, "mass deletion guard tripped: nothing deleted").empty());
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));
  auto left = dst().List(ConfigMapRef("app"));
  ASSERT_TRUE(left.ok());
  size_t managed = 0;
  for (const json& cm : left->items) managed += transform::IsManagedBy(cm, p().id()) ? 1 : 0;
  EXPECT_EQ(managed, 12u);
}

TEST_F(ReconcilerTest, OnceDryRunReportsExactCountsAndWritesNothing) {
  StartPipeline({.plan_yaml = ConfigMapPlan("dry-run"), .log_level = "info", .reconciler = false});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  SeedConfigMaps("app", 6);
  E2E_ASSERT_OK(Upsert(src(), SecretRef("app"), SecretObject("app", "s-0", {{"k", "v"}})));
  Converge(7);
  for (const auto& [name, code] : p().StopAll()) ASSERT_EQ(code, 0) << name;

  // Drift: one missing (deleted by hand), two stale (edited by hand; changed in the
  // source), one extra (deleted in the source), one secret missing.
  E2E_ASSERT_OK(dst().Delete(ConfigMapRef("app", "cm-0")).status());
  E2E_ASSERT_OK(Modify(dst(), ConfigMapRef("app", "cm-1"), [](json& cm) { cm["data"]["v"] = "by hand"; }));
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "cm-2"), [](json& cm) { cm["data"]["v"] = "2"; }));
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "cm-3")).status());
  E2E_ASSERT_OK(dst().Delete(SecretRef("app", "s-0")).status());
  E2E_ASSERT_OK(p().destination_cluster().ResetCounters());
  E2E_ASSERT_OK(p().source_cluster().ResetCounters());

  auto run = p().RunReconcilerOnce({"--dry-run"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0) << run->stdout_text;
  const json* cms = Line(run->report, "configmaps");
  const json* secrets = Line(run->report, "secrets");
  const json* total = Total(run->report);
  ASSERT_TRUE(cms != nullptr && secrets != nullptr && total != nullptr) << run->stdout_text;
  EXPECT_EQ(*cms, (json{{"apiGroup", ""},
                        {"apiVersion", "v1"},
                        {"resource", "configmaps"},
                        {"missing", 1},
                        {"stale", 2},
                        {"extra", 1},
                        {"written", 0},
                        {"deleted", 0}}));
  EXPECT_EQ((*secrets)["missing"], 1);
  EXPECT_EQ((*total)["missing"], 2);
  EXPECT_EQ((*total)["stale"], 2);
  EXPECT_EQ((*total)["extra"], 1);
  EXPECT_EQ((*total)["written"], 0);
  EXPECT_EQ((*total)["deleted"], 0);
  EXPECT_EQ((*total)["dryRun"], true);
  // Nothing written to either cluster by anyone (the emulators' counters).
  for (auto* cluster : {&p().destination_cluster(), &p().source_cluster()}) {
    for (const std::string verb : {"create", "update", "patch", "delete"}) {
      auto n = cluster->CountRequests(verb, "*");
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      EXPECT_EQ(*n, 0) << verb;
    }
  }

  // The pipeline running again copies the source's change itself (the listener lists
  // again); what only a diff finds is left to a real pass, which writes exactly that.
  E2E_ASSERT_OK(p().StartComponents());
  ASSERT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "cm-2"), [](const json& cm) { return cm["data"].value("v", "") == "2"; },
      seconds(30)));
  ASSERT_TRUE(p().WaitForIdle(seconds(30)));
  E2E_ASSERT_OK(p().ResetCounters());
  auto real = p().RunReconcilerOnce();
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_EQ(real->exit_code, 0) << real->stdout_text;
  const json* real_total = Total(real->report);
  ASSERT_NE(real_total, nullptr) << real->stdout_text;
  EXPECT_EQ((*real_total)["missing"], 2);
  EXPECT_EQ((*real_total)["stale"], 1);
  EXPECT_EQ((*real_total)["written"], 3);
  EXPECT_EQ((*real_total)["deleted"], 1);
  Converge(6);
  auto writes = p().PipelineWrites();
  ASSERT_TRUE(writes.ok());
  EXPECT_EQ(writes->destination_by_pipeline, 4) << "3 writes and 1 delete, nothing else";
  EXPECT_EQ(writes->source_by_pipeline, 0);

  // And now nothing is left to do.
  auto after = p().RunReconcilerOnce({"--dry-run"});
  ASSERT_TRUE(after.ok());
  const json* after_total = Total(after->report);
  ASSERT_NE(after_total, nullptr);
  EXPECT_EQ((*after_total)["missing"], 0);
  EXPECT_EQ((*after_total)["stale"], 0);
  EXPECT_EQ((*after_total)["extra"], 0);
}

}  // namespace
}  // namespace kubesync::e2e
