// The limits a LiveSynchronization cannot get past (issue 10): component replicas and
// concurrentTasks are capped, the source and destination are two clusters unless the
// LiveSynchronization says otherwise, and kubesync's own automation.astronetes.io group is
// never replicated.
#include <gtest/gtest.h>

#include "kubesync/plan/parse.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;

json LiveSync(json config, json annotations = nullptr, std::string plugin = std::string(kObjectsPlugin)) {
  json metadata = {{"name", "ls"}, {"namespace", "dr"}};
  if (!annotations.is_null()) metadata["annotations"] = annotations;
  return {{"apiVersion", kAutomationApiVersion},
          {"kind", "LiveSynchronization"},
          {"metadata", metadata},
          {"spec", {{"plugin", plugin}, {"config", config}}}};
}

json ObjectsConfig(
    json resources = json::array({{{"group", "apps"}, {"version", "v1"}, {"resource", "deployments"}}})) {
  return {
      {"sourceName", "live"}, {"destinationName", "standby"}, {"replication", {{"resources", resources}}}};
}

std::vector<std::string> Errors(const json& object) {
  ParseReport report;
  auto plan = ParseLiveSynchronization(object, {}, &report);
  std::vector<std::string> out;
  for (const auto& e : report.errors) out.push_back(e.ToString());
  EXPECT_EQ(plan.ok(), out.empty());
  return out;
}

TEST(LimitsTest, ComponentReplicasAndConcurrentTasksAreCapped) {
  json config = ObjectsConfig();
  config["components"] = {
      {"processor", {{"replicas", kMaxComponentReplicas}, {"concurrentTasks", kMaxConcurrentTasks}}},
      {"synchronizer", {{"replicas", kMaxComponentReplicas + 1}}},
      {"eventsListener", {{"concurrentTasks", 100000}, {"replicas", 2147483647}}}};
  EXPECT_EQ(
      Errors(LiveSync(config)),
      (std::vector<std::string>{
          "spec.config.components.eventsListener.replicas: must be at most 16 (got 2147483647): each "
          "replica is a process on the controller's host",
          "spec.config.components.eventsListener.concurrentTasks: must be at most 128 (got 100000): each "
          "task is a thread of every replica",
          "spec.config.components.synchronizer.replicas: must be at most 16 (got 17): each replica is a "
          "process on the controller's host"}));
  config["components"].erase("synchronizer");
  config["components"].erase("eventsListener");
  auto plan = ParseLiveSynchronization(LiveSync(config));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->components.at("processor").replicas, kMaxComponentReplicas);
  EXPECT_EQ(plan->components.at("processor").concurrent_tasks, kMaxConcurrentTasks);
}

TEST(LimitsTest, CapsHoldInTheSelectorsShapeAndThePlanForm) {
  json config = {
      {"sourceName", "live"},
      {"destinationName", "standby"},
      {"selectors", {{{"target", {{"group", "apps"}, {"version", "v1"}, {"resources", {"deployments"}}}}}}},
      {"components", {{"processor", {{"replicas", 64}}}}}};
  EXPECT_EQ(
      Errors(LiveSync(config, nullptr, std::string(kSelectorsPlugin))),
      (std::vector<std::string>{"spec.config.components.processor.replicas: must be at most 16 (got 64): "
                                "each replica is a process on the controller's host"}));
  auto plan = ParseLiveSynchronization(LiveSync(ObjectsConfig()));
  ASSERT_TRUE(plan.ok());
  json form = ToJson(*plan);
  form["components"]["synchronizer"] = {{"concurrentTasks", 129}};
  ParseReport report;
  EXPECT_FALSE(FromJson(form, &report).ok());
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(
      report.errors[0].ToString(),
      "components.synchronizer.concurrentTasks: must be at most 128 (got 129): each task is a thread of "
      "every replica");
}

TEST(LimitsTest, SameSourceAndDestinationIsRefusedUnlessAllowed) {
  json config = ObjectsConfig();
  config["destinationName"] = "live";
  EXPECT_EQ(
      Errors(LiveSync(config)),
      (std::vector<std::string>{
          "spec.config.destinationName: is the source cluster \"live\" too: kubesync would write onto the "
          "objects it reads (annotate the LiveSynchronization kubesync.io/allow-same-cluster: \"true\" "
          "if that is what you want)"}));

  EXPECT_EQ(
      Errors(LiveSync(config, {{std::string(kAllowSameClusterAnnotation), "yes"}})),
      (std::vector<std::string>{
          "metadata.annotations[kubesync.io/allow-same-cluster]: must be \"true\" or \"false\" (got "
          "\"yes\")",
          "spec.config.destinationName: is the source cluster \"live\" too: kubesync would write onto the "
          "objects it reads (annotate the LiveSynchronization kubesync.io/allow-same-cluster: \"true\" "
          "if that is what you want)"}));

  auto plan =
      ParseLiveSynchronization(LiveSync(config, {{std::string(kAllowSameClusterAnnotation), "true"}}));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->allow_same_cluster);
  // The plan form carries the permission, so components accept what the controller accepted.
  auto again = FromJson(ToJson(*plan));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->allow_same_cluster);
  EXPECT_TRUE(again->Equivalent(*plan));
  json form = ToJson(*plan);
  form.erase("allowSameCluster");
  ParseReport report;
  EXPECT_FALSE(FromJson(form, &report).ok());
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].path, "destinationCluster");

  // Two different clusters need no annotation, and do not carry the flag.
  auto two = ParseLiveSynchronization(LiveSync(ObjectsConfig()));
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(two->allow_same_cluster);
  EXPECT_FALSE(ToJson(*two).contains("allowSameCluster"));
}

TEST(LimitsTest, TheAutomationGroupIsNeverReplicated) {
  EXPECT_EQ(
      Errors(LiveSync(ObjectsConfig(json::array(
          {{{"group", "apps"}, {"version", "v1"}, {"resource", "deployments"}},
           {{"group", "automation.astronetes.io"}, {"version", "v1alpha1"}, {"resource", "taskruns"}}})))),
      (std::vector<std::string>{
          "spec.config.replication.resources[1].group: automation.astronetes.io is kubesync's own API "
          "group and is never replicated (its Tasks and TaskRuns would run in the destination)"}));

  json selectors = {
      {"sourceName", "live"},
      {"destinationName", "standby"},
      {"selectors",
       {{{"target",
          {{"group", "automation.astronetes.io"}, {"version", "v1alpha1"}, {"resources", {"tasks"}}}}}}},
      {"transformations",
       {{{"resources",
          {{{"group", "automation.astronetes.io"},
            {"version", "v1alpha1"},
            {"resources", {"livesynchronizations"}}}}},
         {"operations", json::array()}}}}};
  const auto errors = Errors(LiveSync(selectors, nullptr, std::string(kSelectorsPlugin)));
  ASSERT_FALSE(errors.empty());
  for (const std::string path :
       {"spec.config.selectors[0].target.group", "spec.config.transformations[0].resources[0].group"}) {
    bool found = false;
    for (const auto& e : errors)
      found = found || e.rfind(path + ": automation.astronetes.io is kubesync's own", 0) == 0;
    EXPECT_TRUE(found) << path << " not in:\n" << testing::PrintToString(errors);
  }

  auto plan = ParseLiveSynchronization(LiveSync(ObjectsConfig()));
  ASSERT_TRUE(plan.ok());
  json form = ToJson(*plan);
  form["rules"][0]["group"] = "automation.astronetes.io";
  ParseReport report;
  EXPECT_FALSE(FromJson(form, &report).ok());
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].path, "rules[0].group");
}

TEST(LimitsTest, HugeNameRegexIsRefused) {
  json resources = json::array({{{"group", "apps"},
                                 {"version", "v1"},
                                 {"resource", "deployments"},
                                 {"filters", {{"nameSelector", {{"regex", {std::string(4097, 'a')}}}}}}}});
  EXPECT_EQ(
      Errors(LiveSync(ObjectsConfig(resources))),
      (std::vector<std::string>{"spec.config.replication.resources[0].filters.nameSelector.regex[0]: invalid "
                                "regular expression: 4097 bytes long, more than the limit of 4096"}));
  resources[0]["filters"]["nameSelector"]["regex"][0] = std::string(4096, 'a');
  EXPECT_TRUE(Errors(LiveSync(ObjectsConfig(resources))).empty());
}

TEST(LimitsTest, NoRuleLetsAnAutomationObjectThrough) {
  // A plan made in code (or by an older controller) with a rule for the group: the
  // pipeline's selection still drops every object of it.
  Plan plan;
  Rule rule;
  rule.gvr = {"automation.astronetes.io", "v1alpha1", "taskruns"};
  plan.rules.push_back(rule);
  const Gvr taskruns{"automation.astronetes.io", "v1alpha1", "taskruns"};
  EXPECT_TRUE(plan.IsDefaultExcluded(taskruns, "team-a", "activate"));
  EXPECT_EQ(plan.MatchingRule(taskruns, "team-a", "activate", json::object(), json::object()), nullptr);
  EXPECT_TRUE(
      plan.IsDefaultExcluded({"automation.astronetes.io", "v1beta1", "livesynchronizations"}, "", "x"));
  EXPECT_FALSE(plan.IsDefaultExcluded({"assets.astronetes.io", "v1alpha1", "buckets"}, "team-a", "b"));
  EXPECT_TRUE(plan.Resources().empty());
}

}  // namespace
}  // namespace kubesync::plan
