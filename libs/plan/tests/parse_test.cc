// Validation: every error at once, with field paths and, where obvious, the fix.
#include "kubesync/plan/parse.h"

#include <gtest/gtest.h>

namespace kubesync::plan {
namespace {

using nlohmann::json;

constexpr const char* kHeader = R"(apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata:
  name: ls
  namespace: dr
spec:
)";

struct Outcome {
  Status status;
  ParseReport report;
  std::vector<std::string> errors;  // "path: message"
  std::vector<std::string> warnings;
};

Outcome Parse(const std::string& spec_yaml) {
  Outcome o;
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + spec_yaml, {}, &o.report);
  o.status = plan.ok() ? OkStatus() : plan.status();
  for (const auto& e : o.report.errors) o.errors.push_back(e.ToString());
  for (const auto& w : o.report.warnings) o.warnings.push_back(w.ToString());
  return o;
}

using Lines = std::vector<std::string>;

TEST(ParseTest, ReportsEveryErrorAtOnceInDocumentOrder) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    destinationName: ""
    bucketName: b
    replication:
      resyncPeriod: 1 hour
      resources:
        - group: apps
          resource: Deployment
          transformation:
            patch:
              - op: move
                path: spec/replicas
              - op: replace
                path: /spec/replicas
        - version: v1
          resource: configmaps
          filters:
            nameSelector:
              regex: ["ok.*", "(unclosed"]
              excludeRegex: ["[z-a]"]
            namespaceSelector:
              matchExpressions:
                - key: env
                  operator: Equals
          recoveryProcess:
            fromOriginal:
              enabled: "true"
)");
  ASSERT_EQ(o.status.code(), Code::kInvalidArgument);
  const Lines want = {
      "spec.config.sourceName: required field is missing",
      "spec.config.destinationName: must not be empty",
      "spec.config.replication.resyncPeriod: invalid duration \"1 hour\": unknown unit \" hour\" (use h, m "
      "and s) (want a duration "
      "such as \"1h0m0s\", \"3h25m12s\", \"90m\" or \"45s\")",
      "spec.config.replication.resources[0].version: required field is missing",
      "spec.config.replication.resources[0].resource: invalid resource \"Deployment\": want the plural, "
      "lower-case "
      "resource name (did you mean deployments?)",
      "spec.config.replication.resources[0].transformation.patch[0].op: JSON patch op \"move\" is not "
      "supported "
      "here: want replace, add or remove",
      "spec.config.replication.resources[0].transformation.patch[0].path: must be a JSON pointer starting "
      "with \"/\" "
      "(did you mean \"/spec/replicas\"?)",
      "spec.config.replication.resources[0].transformation.patch[1].value: required for op replace",
      "spec.config.replication.resources[1].filters.namespaceSelector.matchExpressions[0].operator: "
      "unsupported "
      "value \"Equals\": want In, NotIn, Exists or DoesNotExist",
      "spec.config.replication.resources[1].filters.nameSelector.regex[1]: invalid regular expression "
      "\"(unclosed\": missing closing ): (unclosed",
      "spec.config.replication.resources[1].filters.nameSelector.excludeRegex[0]: invalid regular expression "
      "\"[z-a]\": invalid character class range: z-a",
      "spec.config.replication.resources[1].recoveryProcess.fromOriginal.enabled: must be a boolean, true or "
      "false "
      "(got the string \"true\") (write it without quotes)",
  };
  EXPECT_EQ(o.errors, want);
  std::string joined;
  for (const auto& l : want) joined += (joined.empty() ? "" : "\n") + l;
  EXPECT_EQ(o.status.message(), joined);  // one error per line
}

TEST(ParseTest, UnknownFieldsSuggestTheCloseName) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  suspnd: true
  config:
    sourceName: s
    destinationName: d
    bucketname: b
    observabilty: {enabled: true}
    replication:
      resources:
        - group: apps
          version: v1
          resources: deployments
          filter: {}
          transformation:
            patches: []
    selectors: []
)");
  const Lines want = {
      "spec.suspnd: unknown field (did you mean suspend?)",
      "spec.config.bucketname: unknown field (did you mean bucketName?)",
      "spec.config.observabilty: unknown field (did you mean observability?)",
      "spec.config.selectors: unknown field (it belongs to the kubernetes-to-kubernetes plugin; list "
      "resources "
      "under replication.resources)",
      "spec.config.replication.resources[0].filter: unknown field (did you mean filters?)",
      "spec.config.replication.resources[0].resources: unknown field (did you mean resource?)",
      "spec.config.replication.resources[0].resource: required field is missing",
      "spec.config.replication.resources[0].transformation.patches: unknown field (did you mean patch?)",
  };
  EXPECT_EQ(o.errors, want);
}

TEST(ParseTest, UnknownFieldWithoutCloseNameListsTheKnownOnes) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources: [{version: v1, resource: pods, zzz: 1}]
)");
  EXPECT_EQ(o.errors,
            (Lines{"spec.config.replication.resources[0].zzz: unknown field (known fields: group, version, "
                   "resource, transformation, filters, recoveryProcess)"}));
}

TEST(ParseTest, RequiredTopLevelFields) {
  auto plan = ParseLiveSynchronization(json{{"kind", "LiveSynchronisation"}, {"metadata", json::object()}});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(
      plan.status().message(),
      "apiVersion: required field is missing\n"
      "kind: want \"LiveSynchronization\" (got \"LiveSynchronisation\") (did you mean LiveSynchronization?)\n"
      "metadata.name: required field is missing\n"
      "spec: required field is missing");
  auto not_object = ParseLiveSynchronization(json::array());
  EXPECT_EQ(not_object.status().message(), "a LiveSynchronization must be an object (got a list)");
}

TEST(ParseTest, UnknownPluginSuggests) {
  const Outcome o = Parse("  plugin: kubernetes-object-to-kubernetes\n  config: {}\n");
  EXPECT_EQ(o.errors, (Lines{"spec.plugin: unknown plugin \"kubernetes-object-to-kubernetes\": want "
                             "kubernetes-objects-to-kubernetes or kubernetes-to-kubernetes (did you mean "
                             "kubernetes-objects-to-kubernetes?)"}));
  const Outcome zk = Parse("  plugin: zookeeper-to-zookeeper-nodes\n  config: {}\n");
  ASSERT_EQ(zk.errors.size(), 1u);
  EXPECT_EQ(zk.errors[0].rfind("spec.plugin: unknown plugin \"zookeeper-to-zookeeper-nodes\"", 0), 0u)
      << zk.errors[0];
}

TEST(ParseTest, OtherAutomationKindIsNamed) {
  auto plan = ParseLiveSynchronization(json{{"apiVersion", "automation.astronetes.io/v1alpha1"},
                                            {"kind", "Task"},
                                            {"metadata", {{"name", "t"}}},
                                            {"spec", {{"plugin", "kubernetes-objects-to-kubernetes"}}}});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message().substr(0, plan.status().message().find('\n')),
            "kind: want \"LiveSynchronization\" (got \"Task\"): only a LiveSynchronization is parsed into a "
            "replication plan");
}

TEST(ParseTest, DeleteIsAnAliasOfRemoveWithAWarning) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources:
        - version: v1
          resource: services
          transformation:
            patchOptions: {skipIfNotFoundOnDelete: true}
            patch: [{op: delete, path: /spec/clusterIP}]
)");
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.warnings,
            (Lines{"spec.config.replication.resources[0].transformation.patch[0].op: \"delete\" is read "
                   "as the JSON patch op \"remove\""}));
}

TEST(ParseTest, PatchValuesKeepTheirYamlTypes) {
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources:
        - version: v1
          resource: configmaps
          transformation:
            patch:
              - {op: add, path: /data/a, value: "true"}
              - {op: add, path: /data/b, value: true}
              - {op: add, path: /data/c, value: 3}
              - {op: add, path: /data/d, value: "3"}
              - {op: add, path: /data/e, value: null}
              - {op: add, path: /metadata/annotations/x~1y, value: {k: [1, 2.5]}}
)");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const auto& ops = plan->rules[0].transformation.operations;
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0].value, json("true"));
  EXPECT_EQ(ops[1].value, json(true));
  EXPECT_EQ(ops[2].value, json(3));
  EXPECT_EQ(ops[3].value, json("3"));
  EXPECT_TRUE(ops[4].value.is_null());
  EXPECT_EQ(ops[5].value, json::parse(R"({"k":[1,2.5]})"));
  EXPECT_EQ(ops[5].op, PatchOp::kAdd);
}

TEST(ParseTest, BadJsonPointers) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources:
        - version: v1
          resource: services
          transformation:
            patch:
              - {op: remove, path: ""}
              - {op: remove, path: /a~2b}
              - {op: remove, path: spec.replicas}
              - {op: remove}
)");
  const std::string p = "spec.config.replication.resources[0].transformation.patch";
  EXPECT_EQ(o.errors,
            (Lines{p + "[0].path: must not be empty (an empty JSON pointer is the whole object)",
                   p + "[1].path: invalid escape in JSON pointer \"/a~2b\": write ~0 for \"~\" and ~1 for "
                       "\"/\"",
                   p + "[2].path: must be a JSON pointer starting with \"/\" (did you mean "
                       "\"/spec/replicas\"?)",
                   p + "[3].path: required field is missing"}));
}

TEST(ParseTest, FromOriginalNeedsABucket) {
  const std::string body = R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
BUCKET    replication:
      resources:
        - group: apps
          version: v1
          resource: deployments
          recoveryProcess:
            fromOriginal: {enabled: true}
            patchOptions: {skipIfNotFoundOnDelete: true}
)";
  std::string without = body;
  without.replace(without.find("BUCKET"), 6, "");
  // Without a bucket the originals recorded on the destination objects are used.
  auto bucketless = ParseLiveSynchronizationYaml(std::string(kHeader) + without);
  ASSERT_TRUE(bucketless.ok()) << bucketless.status().ToString();
  EXPECT_TRUE(bucketless->rules[0].recover_from_original);
  EXPECT_FALSE(bucketless->bucket.has_value());
  std::string with = body;
  with.replace(with.find("BUCKET"), 6, "    bucketName: gcp\n");
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + with);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->rules[0].recover_from_original);
  EXPECT_TRUE(plan->rules[0].recovery_patch.skip_if_not_found_on_delete);
  EXPECT_EQ(plan->bucket, "gcp");
}

TEST(ParseTest, GroupAndVersionMixUps) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources:
        - {group: apps/v1, version: v1, resource: deployments}
        - {version: apps/v1, resource: deployments}
        - {group: Apps, version: 1, resource: deployments}
        - {version: V1, resource: "ingress class"}
)");
  const std::string p = "spec.config.replication.resources";
  EXPECT_EQ(
      o.errors,
      (Lines{
          p + "[0].group: must be an API group without a version (did you mean group \"apps\" and version "
              "\"v1\"?)",
          p + "[1].version: must be a version without the group (did you mean group \"apps\" and version "
              "\"v1\"?)",
          p + "[2].group: invalid API group \"Apps\": must be a lower-case DNS subdomain such as \"apps\", "
              "or \"\" for the core group",
          p + "[2].version: must be a string (got the number 1)",
          p + "[3].version: invalid API version \"V1\": want e.g. \"v1\" or \"v1beta1\"",
          p + "[3].resource: invalid resource \"ingress class\": want the plural, lower-case resource "
              "name, e.g. \"deployments\""}));
}

TEST(ParseTest, EmptyAndMistypedLists) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources: []
)");
  EXPECT_EQ(o.errors,
            (Lines{"spec.config.replication.resources: must list at least one resource to replicate"}));
  const Outcome s = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources:
        - version: v1
          resource: configmaps
          filters:
            nameSelector:
              regex: "config.*"
)");
  EXPECT_EQ(s.errors,
            (Lines{"spec.config.replication.resources[0].filters.nameSelector.regex: must be a list of "
                   "regular expressions (got the string \"config.*\"); write [\"config.*\"]"}));
}

TEST(ParseTest, ComponentsAndObservability) {
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    observability: {enabled: true, interval: 15m}
    components:
      processor:
        logLevel: debug
        replicas: 3
        concurrentTasks: 8
        imagePullPolicy: IfNotPresent
        resources:
          limits: {cpu: 500m, memory: 1Gi}
          requests: {cpu: 1}
    replication:
      forceNamespaceCreation: true
      resources: [{version: v1, resource: configmaps}]
)");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->observability.enabled);
  EXPECT_EQ(plan->observability.interval, std::chrono::minutes(15));
  EXPECT_TRUE(plan->force_namespace_creation);
  ASSERT_EQ(plan->components.count("processor"), 1u);
  const ComponentSettings& p = plan->components.at("processor");
  EXPECT_EQ(p.log_level, "debug");
  EXPECT_EQ(p.replicas, 3);
  EXPECT_EQ(p.concurrent_tasks, 8);
  EXPECT_EQ(p.image_pull_policy, "IfNotPresent");
  EXPECT_EQ(p.resources["limits"]["memory"], "1Gi");
  EXPECT_EQ(p.resources["requests"]["cpu"], 1);
  EXPECT_EQ(plan->namespace_, "dr");

  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    observability: {interval: 30}
    components:
      eventListener: {}
      synchronizer:
        logLevel: verbose
        replicas: -1
        concurrentTasks: 0
        imagePullPolicy: always
        resources: {limits: {cpu: [1]}}
    replication:
      resources: [{version: v1, resource: configmaps}]
)");
  const std::string c = "spec.config.components";
  EXPECT_EQ(
      o.errors,
      (Lines{"spec.config.observability.interval: must be a duration string such as \"1h0m0s\" (got the "
             "number 30)",
             c + ".eventListener: unknown field (did you mean eventsListener?)",
             c + ".synchronizer.logLevel: unsupported log level \"verbose\": want debug, info, warn or error",
             c + ".synchronizer.imagePullPolicy: unsupported value \"always\": want Always, IfNotPresent or "
                 "Never (did you mean Always?)",
             c + ".synchronizer.replicas: must be between 0 and 2147483647 (got -1)",
             c + ".synchronizer.concurrentTasks: must be between 1 and 2147483647 (got 0)",
             c + ".synchronizer.resources.limits.cpu: must be a quantity such as \"500m\" or \"1Gi\" (got a "
                 "list)"}));
}

TEST(ParseTest, ResyncPeriodFormats) {
  for (const auto& [text, seconds] : std::vector<std::pair<std::string, long long>>{
           {"3h25m12s", 12312}, {"1h0m0s", 3600}, {"90m", 5400}, {"45s", 45}}) {
    std::string yaml = kHeader;
    yaml +=
        "  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: s\n    destinationName: d\n";
    yaml += "    replication:\n      resyncPeriod: ";
    yaml += text;
    yaml += "\n      resources: [{version: v1, resource: pods}]\n";
    auto plan = ParseLiveSynchronizationYaml(yaml);
    ASSERT_TRUE(plan.ok()) << text << ": " << plan.status().ToString();
    EXPECT_EQ(plan->resync_period.count(), seconds) << text;
  }
}

TEST(ParseTest, SelectorsShapeErrors) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication: {}
    options: {dryRun: yes, dryrun: false}
    globalSelector:
      namespaceSelector:
        matchLabels: {sync: "true"}
    selectors:
      - target: {group: apps, version: v1, resources: deployments}
      - target: {group: "", version: v1, resource: [pods]}
        objectSelector:
          nameSelector: {excludeRegex: ["*-canary"]}
      - objectSelector: {labelSelector: {matchLabels: {a: b}}}
    transformations:
      - resources: [{group: apps, version: v1, resources: [deployments]}]
        operations:
          - op: replace
          - jsonpatch:
              operations: [{op: copy, path: /x, value: 1}]
)");
  const std::string p = "spec.config";
  EXPECT_EQ(
      o.errors,
      (Lines{
          p + ".replication: unknown field (it belongs to the kubernetes-objects-to-kubernetes plugin; list "
              "resources under selectors[].target)",
          p + ".options.dryrun: unknown field (did you mean dryRun?)",
          p + ".globalSelector.namespaceSelector.matchLabels: unknown field (put it under labelSelector)",
          p + ".transformations[0].operations[0].op: unknown field (JSON patch operations go under "
              "jsonpatch.operations)",
          p + ".transformations[0].operations[0].jsonpatch: required field is missing",
          p + ".transformations[0].operations[1].jsonpatch.operations[0].op: JSON patch op \"copy\" is "
              "not supported here: want replace, add or remove",
          p + ".selectors[0].target.resources: must be a list of resources, e.g. [deployments]",
          p + ".selectors[1].objectSelector.nameSelector.excludeRegex[0]: invalid regular expression "
              "\"*-canary\": missing argument to repetition operator: * (did you mean \".*-canary\"?)",
          p + ".selectors[1].target.resource: unknown field (did you mean resources?)",
          p + ".selectors[1].target.resources: required field is missing",
          p + ".selectors[2].target: required field is missing"}));
}

TEST(ParseTest, SelectorsShapeDryRunAndYaml11Booleans) {
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + R"(
  plugin: kubernetes-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    resyncPeriod: 2h
    options: {dryRun: yes}
    selectors:
      - target: {version: v1, resources: [configmaps]}
        objectSelector:
          labelSelector:
            matchExpressions: [{key: tier, operator: In, values: [web, api]}]
          nameSelector: {regex: ["^app-"], excludeRegex: ["-test$"]}
)");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->dry_run);  // plain `yes` is a YAML 1.1 boolean, as kubectl reads it
  EXPECT_EQ(plan->resync_period, std::chrono::hours(2));
  ASSERT_EQ(plan->rules.size(), 1u);
  EXPECT_EQ(plan->rules[0].selector.String(), "tier in (api,web)");
  EXPECT_EQ(plan->rules[0].include_names.size(), 1u);
  EXPECT_EQ(plan->rules[0].exclude_names.size(), 1u);
}

TEST(ParseTest, TransformationWithNarrowerSelectorSplitsTheRule) {
  ParseReport report;
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + R"(
  plugin: kubernetes-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    selectors:
      - target: {group: apps, version: v1, resources: [deployments, statefulsets]}
    transformations:
      - resources: [{group: apps, version: v1, resources: [deployments]}]
        namespaceSelector: {labelSelector: {matchLabels: {tier: prod}}}
        operations: [{jsonpatch: {operations: [{op: replace, path: /spec/replicas, value: 0}]}}]
      - resources: [{group: apps, version: v1, resources: [deployments, daemonsets]}]
        operations: [{jsonpatch: {operations: [{op: replace, path: /spec/replicas, value: 1}]}}]
)",
                                           {}, &report);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->rules.size(), 3u);
  EXPECT_EQ(plan->rules[0].namespace_selector.String(), "tier=prod");
  EXPECT_EQ(plan->rules[0].source,
            "spec.config.selectors[0].target.resources[0] with spec.config.transformations[0]");
  EXPECT_EQ(plan->rules[0].transformation.operations[0].value, 0);
  EXPECT_TRUE(plan->rules[1].namespace_selector.Empty());
  EXPECT_EQ(plan->rules[1].transformation.operations[0].value, 1);
  EXPECT_TRUE(plan->rules[2].transformation.empty());  // statefulsets

  const Gvr deployments{"apps", "v1", "deployments"};
  EXPECT_EQ(plan->MatchingRule(deployments, "shop", "web", json(), json{{"tier", "prod"}}), &plan->rules[0]);
  EXPECT_EQ(plan->MatchingRule(deployments, "shop", "web", json(), json{{"tier", "dev"}}), &plan->rules[1]);

  std::vector<std::string> warnings;
  for (const auto& w : report.warnings) warnings.push_back(w.ToString());
  EXPECT_EQ(
      warnings,
      (Lines{
          "spec.config.transformations[1].resources[0].resources[0]: apps/v1/deployments is also transformed "
          "by spec.config.transformations[0]: an object both select gets only the operations of the first",
          "spec.config.transformations[1].resources[0].resources[1]: apps/v1/daemonsets is not selected by "
          "any entry of spec.config.selectors: this transformation never applies to it"}));
}

TEST(ParseTest, UnreachableRuleIsAWarning) {
  const Outcome o = Parse(R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources:
        - {version: v1, resource: secrets}
        - version: v1
          resource: secrets
          filters: {namespaceSelector: {matchLabels: {env: pre}}}
)");
  ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(o.warnings,
            (Lines{"spec.config.replication.resources[1]: never applies: "
                   "spec.config.replication.resources[0] already selects every v1/secrets object this "
                   "entry selects (the first matching entry wins)"}));
}

TEST(ParseTest, YamlSyntaxErrorHasLineAndColumn) {
  ParseReport report;
  auto plan =
      ParseLiveSynchronizationYaml("apiVersion: a\nkind: [LiveSynchronization\nspec: {}\n", {}, &report);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("invalid YAML: line "), std::string::npos)
      << plan.status().message();
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].path, "");
}

TEST(ParseTest, TwoLiveSynchronizationsInOneInput) {
  const std::string doc = std::string(kHeader) + "  plugin: kubernetes-objects-to-kubernetes\n";
  auto plan = ParseLiveSynchronizationYaml(doc + "---\n" + doc);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(), "found 2 LiveSynchronization documents; give one per input");
  EXPECT_EQ(ParseLiveSynchronizationYaml("").status().message(),
            "no LiveSynchronization found: the input is empty");
}

TEST(ParseTest, OperatorNamespaceComesFromOptions) {
  ParseOptions options;
  options.operator_namespace = "resiliency-operator";
  auto plan = ParseLiveSynchronizationYaml(std::string(kHeader) + R"(
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: s
    destinationName: d
    replication:
      resources: [{version: v1, resource: configmaps}]
)",
                                           options);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->operator_namespace, "resiliency-operator");
  EXPECT_EQ(plan->MatchingRule({"", "v1", "configmaps"}, "resiliency-operator", "c", json(), json()),
            nullptr);
  EXPECT_NE(plan->MatchingRule({"", "v1", "configmaps"}, "shop", "c", json(), json()), nullptr);
}

}  // namespace
}  // namespace kubesync::plan
