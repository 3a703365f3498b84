// The other automation objects of the samples: Task, TaskRun, ZooKeeper Synchronization(Plan).
#include "kubesync/plan/validate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;
using testing::ReadTestdata;

TEST(ValidateTest, ReferenceTaskShapeIsAcceptedWithAWarning) {
  // seeds/001 6.1.4 and seeds/002 write identifier.resources: read as identifier.resource,
  // with a warning naming the field (as op "delete" is read as "remove").
  for (const char* file : {"001_reference_task.yaml", "002_reference_task.yaml"}) {
    ParseReport report;
    const Status s = ValidateAutomationYaml(ReadTestdata(file), &report);
    EXPECT_TRUE(s.ok()) << file << ": " << s.message();
    ASSERT_EQ(report.warnings.size(), 1u) << file;
    EXPECT_EQ(report.warnings[0].ToString(),
              "spec.config.resources[0].identifier.resources: read as identifier.resource (the reference "
              "samples' spelling)");
  }
  // Both spellings, or neither: errors.
  ParseReport report;
  const Status s = ValidateAutomationYaml(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: Task
metadata: {name: t}
spec:
  plugin: kubernetes-objects-transformation
  config:
    resources:
      - identifier: {group: apps, version: v1, resource: deployments, resources: statefulsets}
        patch: {operations: [{op: replace, path: /spec/replicas, value: 1}]}
      - identifier: {group: apps, version: v1}
        patch: {operations: [{op: replace, path: /spec/replicas, value: 1}]}
)",
                                          &report);
  EXPECT_EQ(s.message(),
            "spec.config.resources[0].identifier.resources: give one of resource and resources\n"
            "spec.config.resources[1].identifier.resource: required field is missing");
}

TEST(ValidateTest, FromOriginalPathsAreJsonPointers) {
  // fromOriginal.paths: what the controller derives for transformed fields with no
  // recovery step (restore just those recorded values).
  const std::string task = R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: Task
metadata: {name: t}
spec:
  plugin: kubernetes-objects-transformation
  config:
    resources:
      - identifier: {group: apps, version: v1, resource: deployments}
        fromOriginal: {enabled: true, paths: [/spec/replicas, /metadata/labels/a~1b]}
      - identifier: {group: apps, version: v1, resource: deployments}
        fromOriginal: {enabled: true, paths: [spec.replicas, 3, /a~2]}
)";
  EXPECT_EQ(
      ValidateAutomationYaml(task).message(),
      "spec.config.resources[1].fromOriginal.paths[0]: must be a JSON pointer starting with \"/\" (did you "
      "mean \"/spec/replicas\"?)\n"
      "spec.config.resources[1].fromOriginal.paths[1]: must be a string (got the number 3)\n"
      "spec.config.resources[1].fromOriginal.paths[2]: invalid escape in JSON pointer \"/a~2\": write ~0 for "
      "\"~\" and ~1 for \"/\"");
}

TEST(ValidateTest, DerivedTaskShape) {
  // The shape the controller derives from recoveryProcess (.helpers/s2-contract.md).
  EXPECT_TRUE(ValidateAutomationYaml(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: Task
metadata: {name: warm, namespace: dr}
spec:
  plugin: kubernetes-objects-transformation
  config:
    resources:
      - identifier: {group: apps, version: v1, resource: deployments}
        patch:
          operations: [{op: remove, path: /spec/paused}]
          options: {skipIfNotFoundOnDelete: true}
          filter:
            namespaceSelector: {matchExpressions: [{key: tier, operator: In, values: [web]}]}
            selector: {matchLabels: {app: shop}}
            nameSelector: {includeRegex: ["^shop-"], excludeRegex: ["-canary$"]}
        fromOriginal: {enabled: true}
      - identifier: {group: batch, version: v1, resource: cronjobs}
        fromOriginal: {enabled: true}
      - identifier: {group: batch, version: v1, resource: jobs}
        patch: {filter: {selector: {matchLabels: {a: b}}}}
        fromOriginal: {enabled: true}
)")
                  .ok());
}

TEST(ValidateTest, DerivedTaskShapeErrors) {
  const Status s = ValidateAutomationYaml(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: Task
metadata: {name: warm}
spec:
  plugin: kubernetes-objects-transformation
  config:
    resources:
      - identifier: {group: apps, version: v1, resource: deployments}
      - identifier: {group: apps, version: v1, resource: deployments}
        patch:
          operations: [{op: replace, path: /spec/replicas, value: 1}]
          options: {skipIfNotFoundOnDelete: "yes"}
          filter:
            nameSelector: {includeRegex: ["(a"], regex: ["b"]}
        fromOriginal: {enabled: 1, bucket: x}
      - identifier: {group: apps, version: v1, resource: deployments}
        patch: {filter: {}}
      - identifier: {group: apps, version: v1, resource: deployments}
        patch: {skipIfNotFoundOnDelete: true, operations: []}
        fromPatch: []
)");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(
      s.message(),
      "spec.config.resources[0].patch: required field is missing\n"
      "spec.config.resources[1].fromOriginal.bucket: unknown field (known fields: enabled, paths)\n"
      "spec.config.resources[1].fromOriginal.enabled: must be a boolean, true or false (got the number 1)\n"
      "spec.config.resources[1].patch.options.skipIfNotFoundOnDelete: must be a boolean, true or false "
      "(got the string \"yes\")\n"
      "spec.config.resources[1].patch.filter.nameSelector.regex: unknown field (a Task names it "
      "includeRegex)\n"
      "spec.config.resources[1].patch.filter.nameSelector.includeRegex[0]: invalid regular expression "
      "\"(a\": missing closing ): (a\n"
      "spec.config.resources[2].patch.operations: required field is missing\n"
      "spec.config.resources[3].fromPatch: unknown field (the operations go under patch.operations)\n"
      "spec.config.resources[3].patch.skipIfNotFoundOnDelete: unknown field (it goes under patch.options)");
}

TEST(ValidateTest, TaskRunSuspendLiveSynchronization) {
  EXPECT_TRUE(ValidateAutomationYaml(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: TaskRun
metadata: {name: restore}
spec: {taskName: warm, suspendLiveSynchronization: true}
)")
                  .ok());
  EXPECT_EQ(
      ValidateAutomationYaml(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: TaskRun
metadata: {name: restore}
spec: {taskName: warm, suspendLiveSynchronization: "true"}
)")
          .message(),
      "spec.suspendLiveSynchronization: must be a boolean, true or false (got the string \"true\") (write it "
      "without quotes)");
}

TEST(ValidateTest, KnownBadZookeeperSynchronizationNamesTheFix) {
  const Status s = ValidateAutomationYaml(ReadTestdata("001_known_bad_zookeeper_synchronization.yaml"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "spec.config.createRoutePath: unknown field (did you mean createRootPath?)");
}

TEST(ValidateTest, GoodSamplesPass) {
  for (const char* file :
       {"001_task_run.yaml", "001_zookeeper_synchronization_plan.yaml", "001_zookeeper_database.yaml",
        "001_generic_bucket.yaml", "001_kubernetes_clusters.yaml", "002_active_passive.yaml",
        "001_live_synchronization_sample.yaml"}) {
    EXPECT_TRUE(ValidateAutomationYaml(ReadTestdata(file)).ok())
        << file << ": " << ValidateAutomationYaml(ReadTestdata(file)).message();
  }
}

TEST(ValidateTest, EveryTestdataFileGivesAVerdict) {
  // Known-bad files fail, the rest pass: nothing crashes or throws.
  for (const auto& entry : std::filesystem::directory_iterator(KUBESYNC_PLAN_TESTDATA)) {
    const std::string name = entry.path().filename().string();
    const Status s = ValidateAutomationYaml(ReadTestdata(name));
    const bool known_bad = name.find("known_bad") != std::string::npos;
    EXPECT_EQ(s.ok(), !known_bad) << name << ": " << s.message();
  }
}

TEST(ValidateTest, ZookeeperAndScheduleErrors) {
  ParseReport report;
  const Status s = ValidateAutomationYaml(R"(
apiVersion: automation.astronetes.io/v1alpha1
kind: SynchronizationPlan
metadata: {name: z}
spec:
  schedule: "10 * * *"
  concurrencyPolicy: forbid
  template:
    spec:
      plugin: zookeeper-to-zookeeper-node
      config: {}
---
apiVersion: automation.astronetes.io/v1alpha1
kind: Synchronization
metadata: {generateName: z-}
spec:
  restartPolicy: Sometimes
  plugin: zookeeper-to-zookeeper-nodes
  config:
    sourceName: a
    destinationName: b
    rootPath: test
    ignoreEphemeral: "yes"
    excludePathRegexp: "**"
---
apiVersion: automation.astronetes.io/v1alpha1
kind: TaskRn
metadata: {name: t}
)",
                                          &report);
  EXPECT_EQ(
      s.message(),
      "documents[0].spec.schedule: cron schedule \"10 * * *\" has 4 fields: want 5 (minute hour day-of-month "
      "month day-of-week), e.g. \"10 * * * *\"\n"
      "documents[0].spec.concurrencyPolicy: unsupported value \"forbid\": want Allow, Forbid, Replace (did "
      "you "
      "mean Forbid?)\n"
      "documents[0].spec.template.spec.plugin: unknown plugin \"zookeeper-to-zookeeper-node\": want "
      "zookeeper-to-zookeeper-nodes (did you mean zookeeper-to-zookeeper-nodes?)\n"
      "documents[1].spec.restartPolicy: unsupported value \"Sometimes\": want Always, OnFailure, Never\n"
      "documents[1].spec.config.rootPath: must be an absolute ZooKeeper path (did you mean \"/test\"?)\n"
      "documents[1].spec.config.ignoreEphemeral: must be a boolean, true or false (got the string \"yes\")\n"
      "documents[1].spec.config.excludePathRegexp: invalid regular expression \"**\": missing argument "
      "to repetition operator: * (did you mean \".*.*\"?)\n"
      "documents[2].kind: unknown kind \"TaskRn\" in \"automation.astronetes.io/v1alpha1\" (did you mean "
      "TaskRun?)");
}

TEST(ValidateTest, LiveSynchronizationErrorsAndWarningsPassThrough) {
  ParseReport report;
  EXPECT_FALSE(ValidateAutomationYaml(ReadTestdata("000_known_bad_exclude_regex.yaml"), &report).ok());
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].path,
            "spec.config.replication.resources[0].filters.nameSelector.excludeRegex[0]");
  EXPECT_TRUE(ValidateAutomationYaml(ReadTestdata("resync_period_twice_same.yaml"), &report).ok());
  EXPECT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(ValidateAutomationObject(json::array()).message(), "must be an object (got a list)");
}

}  // namespace
}  // namespace kubesync::plan
