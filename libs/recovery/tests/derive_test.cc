// DeriveTask and ParseTask on the seed samples and on the recovery shapes they do not show.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "kubesync/plan/parse.h"
#include "kubesync/plan/validate.h"
#include "kubesync/recovery/task.h"

namespace kubesync::recovery {
namespace {

using nlohmann::json;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(KUBESYNC_PLAN_TESTDATA) + "/" + name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

plan::Plan PlanFrom(const std::string& yaml, const std::string& ns = "dr-config") {
  auto plan = plan::ParseLiveSynchronizationYaml(yaml);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  plan::Plan p = plan.ok() ? *plan : plan::Plan{};
  p.namespace_ = ns;
  return p;
}

TEST(DeriveTaskTest, SetTestLabelSample) {
  // seeds/001 "Recovering from a disaster": the LiveSynchronization and the Task it gives
  // (with identifier.resource, the field the sample misspells as "resources").
  const json task = DeriveTask(PlanFrom(ReadTestdata("000_set_test_label.yaml")), "dr-config");
  const json want = json::parse(R"({
    "apiVersion": "automation.astronetes.io/v1alpha1",
    "kind": "Task",
    "metadata": {
      "name": "set-test-label",
      "namespace": "dr-config",
      "labels": {"kubesync.io/managed-by": "dr-config.set-test-label"},
      "annotations": {"kubesync.io/live-synchronization": "dr-config.set-test-label"}
    },
    "spec": {
      "plugin": "kubernetes-objects-transformation",
      "config": {"resources": [{
        "identifier": {"group": "apps", "version": "v1", "resource": "deployments"},
        "patch": {"operations": [{"op": "replace", "path": "/labels/test", "value": "ok"}]}
      }]}
    }
  })");
  EXPECT_EQ(task, want) << task.dump(2);
  EXPECT_TRUE(plan::ValidateAutomationObject(task).ok()) << plan::ValidateAutomationObject(task).message();
}

TEST(DeriveTaskTest, BucketSampleKeepsEachRuleWithItsNamespaceSelector) {
  const json task = DeriveTask(PlanFrom(ReadTestdata("000_bucket_livesync.yaml")), "dr-config");
  const json& resources = task["spec"]["config"]["resources"];
  ASSERT_EQ(resources.size(), 2u) << task.dump(2);  // the services/secrets rules have no recovery step
  const json patch = json::parse(R"([{"op": "replace", "path": "/spec/replicas", "value": 1}])");
  EXPECT_EQ(resources[0]["patch"]["operations"], patch);
  EXPECT_EQ(resources[0]["patch"]["filter"],
            json::parse(R"({"namespaceSelector": {"matchLabels": {"env": "pre"}}})"));
  EXPECT_EQ(resources[1]["patch"]["filter"],
            json::parse(R"({"namespaceSelector": {"matchLabels": {"env": "pre-second"}}})"));
  EXPECT_FALSE(resources[0].contains("fromOriginal"));
}

TEST(DeriveTaskTest, NoRecoveryStepGivesNoResources) {
  const json task =
      DeriveTask(PlanFrom(ReadTestdata("002_active_passive_objects_shape.yaml"), "team-a"), "team-a");
  EXPECT_EQ(task["spec"]["config"]["resources"], json::array());
  EXPECT_EQ(task["metadata"]["annotations"]["kubesync.io/live-synchronization"], "team-a.active-passive");
}

constexpr char kFromOriginal[] = R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata: {name: warm, namespace: dr}
spec:
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: source
    destinationName: destination
    bucketName: bucket
    replication:
      resources:
        - group: apps
          version: v1
          resource: deployments
          filters:
            namespaceSelector:
              matchExpressions:
                - {key: tier, operator: In, values: [web, api]}
            selector:
              matchLabels: {app: shop}
            nameSelector:
              regex: ["^shop-"]
              excludeRegex: ["-canary$"]
          transformation:
            patch:
              - {op: replace, path: /spec/replicas, value: 0}
          recoveryProcess:
            fromOriginal: {enabled: true}
            fromPatch:
              - {op: remove, path: /metadata/annotations/paused}
            patchOptions: {skipIfNotFoundOnDelete: true}
        - group: batch
          version: v1
          resource: cronjobs
          filters:
            selector:
              matchExpressions:
                - {key: dr, operator: Exists}
          recoveryProcess:
            fromOriginal: {enabled: true}
        - group: ""
          version: v1
          resource: configmaps
)";

TEST(DeriveTaskTest, FromOriginalAndEveryFilter) {
  plan::Plan p = PlanFrom(kFromOriginal, "dr");
  const json task = DeriveTask(p, "dr");
  const json want_resources = json::parse(R"([
    {
      "identifier": {"group": "apps", "version": "v1", "resource": "deployments"},
      "patch": {
        "operations": [{"op": "remove", "path": "/metadata/annotations/paused"}],
        "options": {"skipIfNotFoundOnDelete": true},
        "filter": {
          "namespaceSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "web"]}]},
          "selector": {"matchLabels": {"app": "shop"}},
          "nameSelector": {"includeRegex": ["^shop-"], "excludeRegex": ["-canary$"]}
        }
      },
      "fromOriginal": {"enabled": true}
    },
    {
      "identifier": {"group": "batch", "version": "v1", "resource": "cronjobs"},
      "patch": {"filter": {"selector": {"matchExpressions": [{"key": "dr", "operator": "Exists"}]}}},
      "fromOriginal": {"enabled": true}
    }
  ])");
  EXPECT_EQ(task["spec"]["config"]["resources"], want_resources) << task.dump(2);
  // Deterministic: the controller compares the serialized form.
  EXPECT_EQ(DeriveTask(p, "dr").dump(), task.dump());

  // What the restorer reads back is the plan's own selection and recovery.
  auto spec = ParseTask(task);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "warm");
  EXPECT_EQ(spec->namespace_, "dr");
  EXPECT_EQ(spec->live_synchronization, "dr.warm");
  ASSERT_EQ(spec->resources.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const plan::Rule& got = spec->resources[i].rule;
    plan::Rule want = p.rules[i];
    want.transformation = {};
    EXPECT_TRUE(got.SameAs(want)) << i;
    EXPECT_EQ(spec->resources[i].source, "spec.config.resources[" + std::to_string(i) + "]");
  }
  EXPECT_TRUE(spec->resources[0].rule.recovery_patch.skip_if_not_found_on_delete);
  EXPECT_TRUE(spec->resources[1].rule.recover_from_original);
  EXPECT_TRUE(spec->resources[1].rule.recovery_patch.empty());
}

TEST(ParseTaskTest, SeedTaskIsRejectedWithTheFieldPath) {
  auto docs = plan::YamlToJson(ReadTestdata("001_known_bad_task.yaml"));
  ASSERT_TRUE(docs.ok());
  auto spec = ParseTask((*docs)[0]);
  EXPECT_EQ(spec.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(spec.status().message(),
            "spec.config.resources[0].identifier.resources: unknown field (did you mean resource?)\n"
            "spec.config.resources[0].identifier.resource: required field is missing");
}

TEST(ParseTaskTest, UserTaskWithoutAnnotationTouchesEveryMatchingObject) {
  auto docs = plan::YamlToJson(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: Task
metadata: {name: active-passive, namespace: ops}
spec:
  plugin: kubernetes-objects-transformation
  config:
    resources:
      - identifier: {group: apps, version: v1, resource: deployments}
        patch:
          operations: [{op: replace, path: /spec/replicas, value: 1}]
          filter:
            namespaceSelector:
              matchLabels: {sync: "true"}
)");
  ASSERT_TRUE(docs.ok());
  auto spec = ParseTask((*docs)[0]);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_FALSE(spec->live_synchronization.has_value());
  ASSERT_EQ(spec->resources.size(), 1u);
  const plan::Rule& rule = spec->resources[0].rule;
  EXPECT_EQ(rule.gvr.String(), "apps/v1/deployments");
  EXPECT_EQ(rule.namespace_selector.String(), "sync=true");
  ASSERT_EQ(rule.recovery_patch.operations.size(), 1u);
  EXPECT_EQ(rule.recovery_patch.operations[0].value, 1);
  EXPECT_FALSE(rule.recover_from_original);
}

TEST(ParseTaskTest, NotATask) {
  auto spec = ParseTask(json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}});
  EXPECT_EQ(spec.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(spec.status().message(),
            "not a Task: want apiVersion automation.astronetes.io/v1alpha1 and kind Task");
}

}  // namespace
}  // namespace kubesync::recovery
