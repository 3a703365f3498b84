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

// seeds/002: both shapes transform /spec/replicas with no recovery step. The Task puts back
// the values recorded on each destination object (the source's replica counts), says so in
// an annotation, and the same words are there for the controller's Event.
TEST(DeriveTaskTest, TransformedPathWithoutRecoveryStepRestoresTheRecordedOriginals) {
  for (const char* file : {"002_active_passive.yaml", "002_active_passive_objects_shape.yaml"}) {
    SCOPED_TRACE(file);
    const plan::Plan p = PlanFrom(ReadTestdata(file), "team-a");
    const json task = DeriveTask(p, "team-a");
    EXPECT_EQ(task["metadata"]["annotations"]["kubesync.io/live-synchronization"], "team-a.active-passive");
    const json want = json::parse(R"([{
      "identifier": {"group": "apps", "version": "v1", "resource": "deployments"},
      "patch": {"filter": {"namespaceSelector": {"matchLabels": {"sync": "true"}}}},
      "fromOriginal": {"enabled": true, "paths": ["/spec/replicas"]}
    }])");
    EXPECT_EQ(task["spec"]["config"]["resources"], want) << task.dump(2);
    EXPECT_TRUE(plan::ValidateAutomationObject(task).ok()) << plan::ValidateAutomationObject(task).message();

    const std::vector<DerivedStep> steps = DerivedSteps(p);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].gvr.String(), "apps/v1/deployments");
    EXPECT_EQ(steps[0].paths, std::vector<std::string>{"/spec/replicas"});
    const std::string description = DescribeDerivedSteps(steps);
    EXPECT_EQ(description,
              "derived recovery (no recovery step given for a transformed field): apps/v1/deployments (" +
                  steps[0].source + "): restore /spec/replicas from kubesync.io/original-values");
    EXPECT_EQ(task["metadata"]["annotations"]["kubesync.io/derived-recovery"], description);

    // The restorer reads it back as a restore of exactly those paths.
    auto spec = ParseTask(task);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    ASSERT_EQ(spec->resources.size(), 1u);
    EXPECT_TRUE(spec->resources[0].rule.recover_from_original);
    EXPECT_EQ(spec->resources[0].original_paths, std::vector<std::string>{"/spec/replicas"});
    EXPECT_EQ(spec->resources[0].rule.namespace_selector.String(), "sync=true");
  }
}

TEST(DeriveTaskTest, ExplicitRecoveryCoversItsPathsAndTheRestIsDerived) {
  // seeds/001 "Transformations": replicas and strategy are transformed; fromPatch puts back
  // replicas only, so strategy comes back from the recorded original.
  plan::Plan p = PlanFrom(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata: {name: partial}
spec:
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: source
    destinationName: destination
    replication:
      resources:
        - group: apps
          version: v1
          resource: deployments
          transformation:
            patch:
              - {op: replace, path: /spec/replicas, value: 0}
              - {op: remove, path: /spec/strategy}
              - {op: add, path: /metadata/labels/standby, value: "yes"}
          recoveryProcess:
            fromPatch:
              - {op: replace, path: /spec/replicas, value: 1}
              - {op: remove, path: /metadata/labels}
        - group: batch
          version: v1
          resource: cronjobs
          transformation:
            patch:
              - {op: replace, path: /spec/suspend, value: true}
          recoveryProcess:
            fromOriginal: {enabled: true}
)",
                          "dr");
  const json task = DeriveTask(p, "dr");
  const json want = json::parse(R"([
    {
      "identifier": {"group": "apps", "version": "v1", "resource": "deployments"},
      "patch": {"operations": [{"op": "replace", "path": "/spec/replicas", "value": 1},
                               {"op": "remove", "path": "/metadata/labels"}]},
      "fromOriginal": {"enabled": true, "paths": ["/spec/strategy"]}
    },
    {
      "identifier": {"group": "batch", "version": "v1", "resource": "cronjobs"},
      "fromOriginal": {"enabled": true}
    }
  ])");
  EXPECT_EQ(task["spec"]["config"]["resources"], want) << task.dump(2);
  const std::vector<DerivedStep> steps = DerivedSteps(p);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].source, "spec.config.replication.resources[0]");
  EXPECT_EQ(steps[0].paths, std::vector<std::string>{"/spec/strategy"});
}

TEST(DeriveTaskTest, NothingDerivedWithoutTransformations) {
  const plan::Plan p = PlanFrom(ReadTestdata("000_set_test_label.yaml"));
  EXPECT_TRUE(DerivedSteps(p).empty());
  EXPECT_EQ(DescribeDerivedSteps(DerivedSteps(p)), "");
  EXPECT_FALSE(
      DeriveTask(p, "dr-config")["metadata"]["annotations"].contains("kubesync.io/derived-recovery"));
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

TEST(ParseTaskTest, ReferenceShapeIsAcceptedWithWarnings) {
  // seeds/001 6.1.4 and seeds/002 spell identifier.resource as "resources": accepted, with a
  // warning naming the field (as op "delete" is read as "remove").
  for (const char* file : {"001_reference_task.yaml", "002_reference_task.yaml"}) {
    SCOPED_TRACE(file);
    auto docs = plan::YamlToJson(ReadTestdata(file));
    ASSERT_TRUE(docs.ok());
    auto spec = ParseTask((*docs)[0]);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    ASSERT_EQ(spec->resources.size(), 1u);
    EXPECT_EQ(spec->resources[0].gvr.String(), "apps/v1/deployments");
    ASSERT_EQ(spec->warnings.size(), 1u);
    EXPECT_EQ(spec->warnings[0].path, "spec.config.resources[0].identifier.resources");
    EXPECT_EQ(spec->warnings[0].message, "read as identifier.resource (the reference samples' spelling)");
  }
  auto docs = plan::YamlToJson(ReadTestdata("002_reference_task.yaml"));
  ASSERT_TRUE(docs.ok());
  auto spec = ParseTask((*docs)[0]);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->resources[0].rule.namespace_selector.String(), "sync=true");
  EXPECT_EQ(spec->resources[0].rule.recovery_patch.operations[0].value, 1);

  // Both spellings at once is ambiguous.
  json both = (*docs)[0];
  both["spec"]["config"]["resources"][0]["identifier"]["resource"] = "statefulsets";
  EXPECT_EQ(ParseTask(both).status().message(),
            "spec.config.resources[0].identifier.resources: give one of resource and resources");
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
