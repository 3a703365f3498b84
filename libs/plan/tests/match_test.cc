// Plan::MatchingRule and the default exclusions.
#include <gtest/gtest.h>

#include "kubesync/plan/parse.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;

Plan MustParse(const std::string& config_yaml, const std::string& operator_namespace = "") {
  ParseOptions options;
  options.operator_namespace = operator_namespace;
  auto plan = ParseLiveSynchronizationYaml(
      "apiVersion: automation.astronetes.io/v1alpha1\nkind: LiveSynchronization\nmetadata: {name: m}\nspec:\n"
      "  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: s\n    destinationName: d\n"
      "    replication:\n      resources:\n" +
          config_yaml,
      options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : Plan{};
}

const Gvr kConfigMaps{"", "v1", "configmaps"};
const Gvr kDeployments{"apps", "v1", "deployments"};
const Gvr kNamespaces{"", "v1", "namespaces"};

TEST(MatchTest, LabelSelectorWithMatchLabelsAndExpressions) {
  const Plan plan = MustParse(R"(
        - group: apps
          version: v1
          resource: deployments
          filters:
            selector:
              matchLabels: {app: web}
              matchExpressions:
                - {key: tier, operator: In, values: [front, api]}
                - {key: canary, operator: DoesNotExist}
)");
  const json ns;
  EXPECT_NE(plan.MatchingRule(kDeployments, "a", "x", json{{"app", "web"}, {"tier", "api"}}, ns), nullptr);
  EXPECT_EQ(plan.MatchingRule(kDeployments, "a", "x", json{{"app", "web"}, {"tier", "db"}}, ns), nullptr);
  EXPECT_EQ(
      plan.MatchingRule(kDeployments, "a", "x", json{{"app", "web"}, {"tier", "api"}, {"canary", ""}}, ns),
      nullptr);
  EXPECT_EQ(plan.MatchingRule(kDeployments, "a", "x", json(), ns), nullptr);
  // Another gvr never matches: version and group count.
  EXPECT_EQ(plan.MatchingRule({"apps", "v1beta1", "deployments"}, "a", "x",
                              json{{"app", "web"}, {"tier", "api"}}, ns),
            nullptr);
  EXPECT_EQ(plan.MatchingRule({"", "v1", "deployments"}, "a", "x", json{{"app", "web"}, {"tier", "api"}}, ns),
            nullptr);
}

TEST(MatchTest, NamespaceSelector) {
  const Plan plan = MustParse(R"(
        - version: v1
          resource: configmaps
          filters:
            namespaceSelector:
              matchExpressions: [{key: env, operator: NotIn, values: [dev]}]
              matchLabels: {dr: "on"}
)");
  EXPECT_NE(plan.MatchingRule(kConfigMaps, "shop", "c", json(), json{{"dr", "on"}}), nullptr);
  EXPECT_NE(plan.MatchingRule(kConfigMaps, "shop", "c", json(), json{{"dr", "on"}, {"env", "prod"}}),
            nullptr);
  EXPECT_EQ(plan.MatchingRule(kConfigMaps, "shop", "c", json(), json{{"dr", "on"}, {"env", "dev"}}), nullptr);
  EXPECT_EQ(plan.MatchingRule(kConfigMaps, "shop", "c", json(), json()), nullptr);
}

TEST(MatchTest, NameRegexesAreUnanchoredSearches) {
  const Plan plan = MustParse(R"(
        - version: v1
          resource: configmaps
          filters:
            nameSelector:
              regex: ["^app-", "settings"]
              excludeRegex: ["-test$", "tmp"]
)");
  auto matches = [&](const char* name) {
    return plan.MatchingRule(kConfigMaps, "ns", name, json(), json()) != nullptr;
  };
  EXPECT_TRUE(matches("app-a"));
  EXPECT_TRUE(matches("my-settings-x"));  // search, not full match
  EXPECT_FALSE(matches("my-app-a"));      // anchored by the pattern itself
  EXPECT_FALSE(matches("app-a-test"));
  EXPECT_FALSE(matches("app-tmp-a"));
  EXPECT_FALSE(matches("other"));
}

TEST(MatchTest, FirstMatchingRuleWins) {
  const Plan plan = MustParse(R"(
        - group: apps
          version: v1
          resource: deployments
          filters: {namespaceSelector: {matchLabels: {env: pre}}}
          transformation: {patch: [{op: replace, path: /spec/replicas, value: 0}]}
        - group: apps
          version: v1
          resource: deployments
          transformation: {patch: [{op: replace, path: /spec/replicas, value: 1}]}
)");
  const Rule* pre = plan.MatchingRule(kDeployments, "a", "x", json(), json{{"env", "pre"}});
  ASSERT_NE(pre, nullptr);
  EXPECT_EQ(pre->source, "spec.config.replication.resources[0]");
  const Rule* other = plan.MatchingRule(kDeployments, "a", "x", json(), json{{"env", "pro"}});
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->source, "spec.config.replication.resources[1]");
}

TEST(MatchTest, DefaultExclusions) {
  const Plan plan = MustParse(R"(
        - {version: v1, resource: configmaps}
        - {version: v1, resource: namespaces}
        - {group: rbac.authorization.k8s.io, version: v1, resource: clusterroles}
)",
                              "resiliency-operator");
  for (const char* ns : {"kube-system", "kube-public", "kube-node-lease", "openshift", "openshift-monitoring",
                         "resiliency-operator"}) {
    EXPECT_TRUE(plan.IsDefaultExcluded(kConfigMaps, ns, "app")) << ns;
    EXPECT_EQ(plan.MatchingRule(kConfigMaps, ns, "app", json(), json()), nullptr) << ns;
    EXPECT_EQ(plan.MatchingRule(kNamespaces, "", ns, json(), json()), nullptr) << ns;
  }
  for (const char* ns : {"default", "kubesync", "my-kube-apps", "shop"}) {
    EXPECT_NE(plan.MatchingRule(kConfigMaps, ns, "app", json(), json()), nullptr) << ns;
    EXPECT_NE(plan.MatchingRule(kNamespaces, "", ns, json(), json()), nullptr) << ns;
  }
  EXPECT_EQ(plan.MatchingRule(kConfigMaps, "shop", "kube-root-ca.crt", json(), json()), nullptr);
  EXPECT_EQ(plan.MatchingRule(kConfigMaps, "shop", "openshift-service-ca.crt", json(), json()), nullptr);
  EXPECT_NE(plan.MatchingRule(kConfigMaps, "shop", "kube-root-ca.crt-copy", json(), json()), nullptr);
  // Only ConfigMaps by those names are excluded.
  EXPECT_FALSE(plan.IsDefaultExcluded({"", "v1", "secrets"}, "shop", "kube-root-ca.crt"));
  // Cluster-scoped objects have no namespace to exclude.
  EXPECT_NE(
      plan.MatchingRule({"rbac.authorization.k8s.io", "v1", "clusterroles"}, "", "kube-view", json(), json()),
      nullptr);
  EXPECT_TRUE(Plan::IsExcludedNamespaceName("kube-x", ""));
  EXPECT_FALSE(Plan::IsExcludedNamespaceName("", "op"));
}

TEST(MatchTest, ClusterScopedObjectsIgnoreTheNamespaceSelector) {
  const Plan plan = MustParse(R"(
        - group: rbac.authorization.k8s.io
          version: v1
          resource: clusterroles
          filters: {namespaceSelector: {matchLabels: {sync: "true"}}, selector: {matchLabels: {dr: "yes"}}}
)");
  const Gvr roles{"rbac.authorization.k8s.io", "v1", "clusterroles"};
  EXPECT_NE(plan.MatchingRule(roles, "", "view", json{{"dr", "yes"}}, json()), nullptr);
  EXPECT_EQ(plan.MatchingRule(roles, "", "view", json{{"dr", "no"}}, json()), nullptr);
}

TEST(MatchTest, NoRulesNoMatch) {
  Plan plan;
  EXPECT_EQ(plan.MatchingRule(kConfigMaps, "a", "b", json(), json()), nullptr);
  EXPECT_TRUE(plan.Resources().empty());
}

}  // namespace
}  // namespace kubesync::plan
