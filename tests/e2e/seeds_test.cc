// The seed LiveSynchronization samples end to end: each sample file as a user would apply
// it, objects in and out of its scope in the source, and the destination checked against
// the transformed source plus the sample's own promises (replicas 0, originals recorded).
#include <gtest/gtest.h>

#include "kubesync/transform/mark.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// kubesync.io/original-values, parsed; null when absent or malformed.
json OriginalValues(const json& object) {
  const std::string raw = Annotation(object, std::string(transform::kOriginalValuesAnnotation));
  return raw.empty() ? json() : json::parse(raw, nullptr, false);
}

bool RecordsOriginal(const json& object, const std::string& path, const json& value) {
  const json originals = OriginalValues(object);
  if (!originals.is_array()) {
    return false;
  }
  for (const auto& o : originals) {
    if (o.value("path", "") == path && o.contains("value") && o["value"] == value) {
      return true;
    }
  }
  return false;
}

bool Replicas(const json& d, int n) { return d["spec"].value("replicas", -1) == n; }

class SeedSamplesTest : public PipelineTest {};

// seeds/001 6.1.3: Deployments of namespaces env=pre and env=pre-second arrive with
// replicas 0 and their original replicas recorded; Services of both; Secrets of env=pre
// only; nothing of other namespaces. Objects exist before the pipeline starts (initial
// list) and are created while it runs (watch).
TEST_F(SeedSamplesTest, LiveSynchronizationSample001) {
  StartPipeline({.plan_yaml = ReadTestdata("001_live_synchronization_sample.yaml"), .start_components = false});
  const std::vector<std::pair<std::string, std::string>> namespaces = {
      {"app-pre", "pre"}, {"app-second", "pre-second"}, {"app-prod", "prod"}};
  for (const auto& [ns, env] : namespaces) {
    E2E_ASSERT_OK(EnsureNamespace(src(), ns, {{"env", env}}));
    // The sample has no forceNamespaceCreation: the user prepares the destination.
    E2E_ASSERT_OK(EnsureNamespace(dst(), ns));
    E2E_ASSERT_OK(Upsert(src(), DeploymentRef(ns), DeploymentObject(ns, "web", 3, {{"app", "web"}})));
    E2E_ASSERT_OK(Upsert(src(), ServiceRef(ns), ServiceObject(ns, "web")));
    E2E_ASSERT_OK(Upsert(src(), SecretRef(ns), SecretObject(ns, "creds", {{"user", "alice"}})));
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef(ns), ConfigMapObject(ns, "settings", {{"k", "v"}})));
  }
  E2E_ASSERT_OK(p().StartComponents());

  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 5u) << "2 deployments, 2 services, 1 secret";

  for (const std::string ns : {"app-pre", "app-second"}) {
    auto d = dst().Get(DeploymentRef(ns, "web"));
    ASSERT_TRUE(d.ok()) << ns << ": " << d.status().ToString();
    EXPECT_TRUE(Replicas(*d, 0)) << d->dump();
    EXPECT_TRUE(RecordsOriginal(*d, "/spec/replicas", 3)) << d->dump();
    EXPECT_TRUE(transform::IsManagedBy(*d, p().id()));
    EXPECT_TRUE(dst().Get(ServiceRef(ns, "web")).ok()) << ns;
  }
  auto secret = dst().Get(SecretRef("app-pre", "creds"));
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ((*secret)["data"]["user"], Base64("alice"));

  // A Deployment created while the pipeline runs.
  E2E_ASSERT_OK(Upsert(src(), DeploymentRef("app-second"), DeploymentObject("app-second", "api", 2)));
  json last;
  EXPECT_TRUE(p().WaitForDestination(
      DeploymentRef("app-second", "api"),
      [](const json& d) { return Replicas(d, 0) && RecordsOriginal(d, "/spec/replicas", 2); }, seconds(15), &last))
      << last.dump();

  // Out of scope: let every queued message drain, then nothing else is there.
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(SecretRef("app-second", "creds"), seconds(1)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(DeploymentRef("app-prod", "web"), seconds(1)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ServiceRef("app-prod", "web"), seconds(1)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app-pre", "settings"), seconds(1)));
}

// seeds/000 "Configuring a LiveSynchronization": namespaceSelector disaster-recovery=enabled,
// replicas 0 on the standby; started on an empty source, everything arrives by watch.
TEST_F(SeedSamplesTest, ConfiguringSample000) {
  StartPipeline({.plan_yaml = ReadTestdata("000_configuring_livesync.yaml")});
  E2E_ASSERT_OK(EnsureNamespace(src(), "shop", {{"disaster-recovery", "enabled"}}));
  E2E_ASSERT_OK(EnsureNamespace(src(), "lab", {{"disaster-recovery", "disabled"}}));
  E2E_ASSERT_OK(EnsureNamespace(dst(), "shop"));
  E2E_ASSERT_OK(EnsureNamespace(dst(), "lab"));
  for (int i = 0; i < 5; ++i) {
    const std::string name = "web-" + std::to_string(i);
    E2E_ASSERT_OK(Upsert(src(), DeploymentRef("shop"), DeploymentObject("shop", name, i + 1)));
    E2E_ASSERT_OK(Upsert(src(), DeploymentRef("lab"), DeploymentObject("lab", name, i + 1)));
  }
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 5u);
  auto d = dst().Get(DeploymentRef("shop", "web-4"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(Replicas(*d, 0));
  EXPECT_TRUE(RecordsOriginal(*d, "/spec/replicas", 5)) << d->dump();
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));
  auto lab = dst().List(DeploymentRef("lab"));
  ASSERT_TRUE(lab.ok());
  EXPECT_TRUE(lab->items.empty()) << lab->items.size() << " deployments of the lab namespace were copied";
}

// seeds/000 "Name selector": ConfigMaps whose name matches config.* (an unanchored search,
// as Go's MatchString); the default exclusions (kube-* namespaces, the operator's
// namespace, kube-root-ca.crt) hold whatever the rules say.
TEST_F(SeedSamplesTest, NameSelectorRegexSample) {
  StartPipeline({.plan_yaml = ReadTestdata("000_name_selector_regex.yaml"), .start_components = false});
  const std::vector<std::string> prepared_namespaces = {"team-a", std::string(kOperatorNamespace)};
  for (const auto& ns : prepared_namespaces) {
    E2E_ASSERT_OK(EnsureNamespace(src(), ns));
    E2E_ASSERT_OK(EnsureNamespace(dst(), ns));
  }
  for (const std::string name : {"config-a", "my-config-b", "settings", "kube-root-ca.crt"}) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("team-a"), ConfigMapObject("team-a", name, {{"name", name}})));
  }
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("kube-system"), ConfigMapObject("kube-system", "config-sys", {{"a", "b"}})));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef(std::string(kOperatorNamespace)),
                       ConfigMapObject(std::string(kOperatorNamespace), "config-op", {{"a", "b"}})));
  E2E_ASSERT_OK(p().StartComponents());

  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 2u);
  auto a = dst().Get(ConfigMapRef("team-a", "config-a"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)["data"]["name"], "config-a");
  EXPECT_TRUE(dst().Get(ConfigMapRef("team-a", "my-config-b")).ok());
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("team-a", "settings"), seconds(1)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("team-a", "kube-root-ca.crt"), seconds(1)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("kube-system", "config-sys"), seconds(1)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef(std::string(kOperatorNamespace), "config-op"), seconds(1)));
}

json ServiceAccountObject(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
}

json IngressObject(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"rules",
             json::array({{{"host", "shop.example.com"},
                           {"http",
                            {{"paths", json::array({{{"path", "/"},
                                                     {"pathType", "Prefix"},
                                                     {"backend",
                                                      {{"service", {{"name", "web"}, {"port", {{"number", 80}}}}}}}}})}}}}})}}}};
}

json RoleBindingObject(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "RoleBinding"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "shop-reader"}}},
          {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", "builder"}, {"namespace", ns}}})}};
}

json ClusterRoleObject(const std::string& name) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", {{"name", name}}},
          {"rules", json::array({{{"apiGroups", json::array({""})},
                                  {"resources", json::array({"configmaps"})},
                                  {"verbs", json::array({"get", "list"})}}})}};
}

// seeds/002 active-passive (kubernetes-to-kubernetes shape): the namespaces labelled
// sync=true are themselves replicated (so the destination needs no preparation), with
// their Services, Secrets, ConfigMaps, ServiceAccounts, Deployments (replicas 0),
// RoleBindings and Ingresses; ClusterRoles (cluster-scoped: no namespace selector).
TEST_F(SeedSamplesTest, ActivePassiveSample002) {
  StartPipeline({.plan_yaml = ReadTestdata("002_active_passive.yaml"), .start_components = false});
  E2E_ASSERT_OK(EnsureNamespace(src(), "shop", {{"sync", "true"}}));
  E2E_ASSERT_OK(EnsureNamespace(src(), "internal", {{"sync", "false"}}));
  for (const std::string ns : {"shop", "internal"}) {
    E2E_ASSERT_OK(Upsert(src(), DeploymentRef(ns), DeploymentObject(ns, "web", 2)));
    E2E_ASSERT_OK(Upsert(src(), ServiceRef(ns), ServiceObject(ns, "web")));
    E2E_ASSERT_OK(Upsert(src(), SecretRef(ns), SecretObject(ns, "creds", {{"token", "t0k"}})));
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef(ns), ConfigMapObject(ns, "cfg", {{"mode", "active"}})));
    E2E_ASSERT_OK(Upsert(src(), Ref({"", "v1", "serviceaccounts"}, ns), ServiceAccountObject(ns, "builder")));
    E2E_ASSERT_OK(Upsert(src(), Ref({"networking.k8s.io", "v1", "ingresses"}, ns), IngressObject(ns, "web")));
    E2E_ASSERT_OK(
        Upsert(src(), Ref({"rbac.authorization.k8s.io", "v1", "rolebindings"}, ns), RoleBindingObject(ns, "read")));
  }
  E2E_ASSERT_OK(Upsert(src(), Ref({"rbac.authorization.k8s.io", "v1", "clusterroles"}), ClusterRoleObject("shop-reader")));
  E2E_ASSERT_OK(p().StartComponents());

  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(40), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 9u) << "namespace, 7 objects in it, the ClusterRole";
  auto ns = dst().Get(NamespaceRef("shop"));
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_TRUE(transform::IsManagedBy(*ns, p().id()));
  auto d = dst().Get(DeploymentRef("shop", "web"));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(Replicas(*d, 0));
  EXPECT_TRUE(RecordsOriginal(*d, "/spec/replicas", 2)) << d->dump();
  EXPECT_TRUE(dst().Get(Ref({"rbac.authorization.k8s.io", "v1", "clusterroles"}, "", "shop-reader")).ok());

  // Live: a new ConfigMap in the synced namespace.
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("shop"), ConfigMapObject("shop", "late", {{"x", "1"}})));
  EXPECT_TRUE(p().WaitForDestination(ConfigMapRef("shop", "late"),
                                     [](const json& cm) { return cm["data"].value("x", "") == "1"; }));
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(NamespaceRef("internal"), seconds(1)));
}

}  // namespace
}  // namespace kubesync::e2e
