// Every sample of the reference documents (tests/testdata, indentation restored) parses to
// the expected plan, and every known-bad sample fails with a message naming the field.
#include <gtest/gtest.h>

#include "kubesync/plan/parse.h"
#include "test_util.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;
using testing::ReadTestdata;

Plan MustParse(const std::string& file, ParseReport* report = nullptr) {
  auto plan = ParseLiveSynchronizationYaml(ReadTestdata(file), {}, report);
  EXPECT_TRUE(plan.ok()) << file << ": " << plan.status().ToString();
  return plan.ok() ? *plan : Plan{};
}

std::vector<PatchOperation> Replicas(int n) { return {{PatchOp::kReplace, "/spec/replicas", n}}; }

TEST(SamplesTest, ConfiguringLiveSynchronization) {
  ParseReport report;
  const Plan plan = MustParse("000_configuring_livesync.yaml", &report);
  EXPECT_EQ(plan.name, "livesynchronization-sample");
  EXPECT_EQ(plan.plugin, "kubernetes-objects-to-kubernetes");
  EXPECT_FALSE(plan.suspend);
  EXPECT_EQ(plan.source_cluster, "source");
  EXPECT_EQ(plan.destination_cluster, "destination");
  EXPECT_FALSE(plan.bucket.has_value());
  EXPECT_FALSE(plan.observability.enabled);
  EXPECT_EQ(plan.resync_period, std::chrono::hours(1));
  ASSERT_EQ(plan.rules.size(), 1u);
  const Rule& r = plan.rules[0];
  EXPECT_EQ(r.gvr, (Gvr{"apps", "v1", "deployments"}));
  EXPECT_EQ(r.namespace_selector.String(), "disaster-recovery=enabled");
  EXPECT_TRUE(r.selector.Empty());
  EXPECT_EQ(r.transformation.operations, Replicas(0));
  EXPECT_EQ(r.recovery_patch.operations, Replicas(1));
  EXPECT_FALSE(r.recover_from_original);
  EXPECT_EQ(r.source, "spec.config.replication.resources[0]");
  EXPECT_TRUE(report.errors.empty());
  EXPECT_TRUE(report.warnings.empty());
}

TEST(SamplesTest, NameSelectorRegex) {
  const Plan plan = MustParse("000_name_selector_regex.yaml");
  ASSERT_EQ(plan.rules.size(), 1u);
  const Rule& r = plan.rules[0];
  EXPECT_EQ(r.gvr, (Gvr{"", "v1", "configmaps"}));
  ASSERT_EQ(r.include_names.size(), 1u);
  EXPECT_EQ(r.include_names[0].pattern, "config.*");
  const Rule* m = plan.MatchingRule(r.gvr, "app", "my-config-a", json(), json());
  EXPECT_EQ(m, &r);  // unanchored, like Go's MatchString
  EXPECT_EQ(plan.MatchingRule(r.gvr, "app", "settings", json(), json()), nullptr);
}

TEST(SamplesTest, KnownBadExcludeRegex) {
  ParseReport report;
  auto plan = ParseLiveSynchronizationYaml(ReadTestdata("000_known_bad_exclude_regex.yaml"), {}, &report);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
  const std::string expected =
      "spec.config.replication.resources[0].filters.nameSelector.excludeRegex[0]: invalid regular expression "
      "\"*.test\": missing argument to repetition operator: * (did you mean \".*\\\\.test\"?)";
  EXPECT_EQ(plan.status().message(), expected);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].path,
            "spec.config.replication.resources[0].filters.nameSelector.excludeRegex[0]");
}

TEST(SamplesTest, NamespaceSelectorSampleUsesObjectSelector) {
  const Plan plan = MustParse("000_namespace_selector.yaml");
  ASSERT_EQ(plan.rules.size(), 1u);
  EXPECT_EQ(plan.rules[0].selector.String(), "disaster-recovery=enabled");
  EXPECT_TRUE(plan.rules[0].namespace_selector.Empty());
}

TEST(SamplesTest, TransformationsFragment) {
  const Plan plan = MustParse("000_fragment_transformations.yaml");
  ASSERT_EQ(plan.rules.size(), 1u);
  const std::vector<PatchOperation> want = {{PatchOp::kReplace, "/spec/replicas", 0},
                                            {PatchOp::kRemove, "/spec/strategy", nullptr}};
  EXPECT_EQ(plan.rules[0].transformation.operations, want);
}

TEST(SamplesTest, RecoveryProcessFragment) {
  const Plan plan = MustParse("000_fragment_recovery_process.yaml");
  ASSERT_EQ(plan.rules.size(), 1u);
  EXPECT_TRUE(plan.rules[0].transformation.empty());
  EXPECT_EQ(plan.rules[0].recovery_patch.operations, Replicas(1));
}

TEST(SamplesTest, ResyncPeriodBothLocations) {
  EXPECT_EQ(MustParse("000_fragment_resync_period.yaml").resync_period,
            std::chrono::seconds(3 * 3600 + 25 * 60 + 12));
  EXPECT_EQ(MustParse("000_resync_period_prose_location.yaml").resync_period, std::chrono::hours(1));

  ParseReport report;
  const Plan same = MustParse("resync_period_twice_same.yaml", &report);
  EXPECT_EQ(same.resync_period, std::chrono::minutes(90));
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(
      report.warnings[0].ToString(),
      "spec.config.resyncPeriod: also set as spec.config.replication.resyncPeriod (same value); keep one");
  EXPECT_EQ(same.warnings, report.warnings);
}

TEST(SamplesTest, KnownBadResyncPeriodTwice) {
  auto plan = ParseLiveSynchronizationYaml(ReadTestdata("known_bad_resync_period_twice.yaml"));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(
      plan.status().message(),
      "spec.config.replication.resyncPeriod: conflicts with spec.config.resyncPeriod (3h25m12s vs 1h0m0s): "
      "set it in one place, spec.config.replication.resyncPeriod");
}

TEST(SamplesTest, SetTestLabel) {
  const Plan plan = MustParse("000_set_test_label.yaml");
  ASSERT_EQ(plan.rules.size(), 1u);
  const std::vector<PatchOperation> want = {{PatchOp::kReplace, "/labels/test", "ok"}};
  EXPECT_EQ(plan.rules[0].recovery_patch.operations, want);
}

void ExpectSample613Rules(const Plan& plan) {
  ASSERT_EQ(plan.rules.size(), 5u);
  EXPECT_EQ(plan.rules[0].gvr, (Gvr{"apps", "v1", "deployments"}));
  EXPECT_EQ(plan.rules[0].namespace_selector.String(), "env=pre");
  EXPECT_EQ(plan.rules[1].namespace_selector.String(), "env=pre-second");
  EXPECT_EQ(plan.rules[1].transformation.operations, Replicas(0));
  EXPECT_EQ(plan.rules[1].recovery_patch.operations, Replicas(1));
  EXPECT_EQ(plan.rules[2].gvr, (Gvr{"", "v1", "services"}));
  EXPECT_TRUE(plan.rules[2].transformation.empty());
  EXPECT_EQ(plan.rules[3].namespace_selector.String(), "env=pre-second");
  EXPECT_EQ(plan.rules[4].gvr, (Gvr{"", "v1", "secrets"}));
  EXPECT_EQ(plan.Resources(),
            (std::vector<Gvr>{{"apps", "v1", "deployments"}, {"", "v1", "services"}, {"", "v1", "secrets"}}));
  // Second deployment entry applies to env=pre-second namespaces only.
  const Rule* r = plan.MatchingRule({"apps", "v1", "deployments"}, "shop", "web", json::object(),
                                    json{{"env", "pre-second"}});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->source, "spec.config.replication.resources[1]");
  EXPECT_EQ(plan.MatchingRule({"", "v1", "secrets"}, "shop", "s", json(), json{{"env", "pre-second"}}),
            nullptr);
}

TEST(SamplesTest, LiveSynchronizationSample613) {
  ParseReport report;
  const Plan plan = MustParse("001_live_synchronization_sample.yaml", &report);
  ExpectSample613Rules(plan);
  EXPECT_TRUE(report.warnings.empty());
}

TEST(SamplesTest, BucketSample) {
  const Plan plan = MustParse("000_bucket_livesync.yaml");
  ASSERT_TRUE(plan.bucket.has_value());
  EXPECT_EQ(*plan.bucket, "<bucket_object_name>");
  ExpectSample613Rules(plan);
}

TEST(SamplesTest, ActivePassiveNewShape) {
  const Plan plan = MustParse("002_active_passive.yaml");
  EXPECT_EQ(plan.name, "active-passive");
  EXPECT_EQ(plan.plugin, "kubernetes-to-kubernetes");
  EXPECT_EQ(plan.source_cluster, "cluster-1");
  EXPECT_EQ(plan.destination_cluster, "cluster-2");
  EXPECT_FALSE(plan.dry_run);
  EXPECT_TRUE(plan.observability.enabled);
  ASSERT_EQ(plan.rules.size(), 9u);
  EXPECT_EQ(plan.rules[0].gvr, (Gvr{"", "v1", "namespaces"}));
  EXPECT_EQ(plan.rules[0].selector.String(), "sync=true");
  EXPECT_EQ(plan.rules[0].source, "spec.config.selectors[0].target.resources[0]");
  for (const Rule& r : plan.rules) EXPECT_EQ(r.namespace_selector.String(), "sync=true") << r.source;
  const Rule& deployments = plan.rules[5];
  EXPECT_EQ(deployments.gvr, (Gvr{"apps", "v1", "deployments"}));
  EXPECT_EQ(deployments.transformation.operations, Replicas(0));
  EXPECT_EQ(plan.rules[8].gvr, (Gvr{"networking.k8s.io", "v1", "ingresses"}));

  // Namespace objects: selected by their own labels; cluster-scoped clusterroles are not
  // held to the namespace selector.
  EXPECT_NE(plan.MatchingRule({"", "v1", "namespaces"}, "shop", "shop", json{{"sync", "true"}}, json()),
            nullptr);
  EXPECT_EQ(plan.MatchingRule({"", "v1", "namespaces"}, "shop", "shop", json{{"sync", "false"}}, json()),
            nullptr);
  EXPECT_NE(
      plan.MatchingRule({"rbac.authorization.k8s.io", "v1", "clusterroles"}, "", "view", json(), json()),
      nullptr);
  EXPECT_EQ(plan.MatchingRule({"apps", "v1", "deployments"}, "shop", "web", json(), json{{"sync", "false"}}),
            nullptr);
  EXPECT_EQ(plan.MatchingRule({"apps", "v1", "statefulsets"}, "shop", "db", json(), json{{"sync", "true"}}),
            nullptr);
}

TEST(SamplesTest, BothShapesOfOneIntentGiveEquivalentPlans) {
  const Plan a = MustParse("002_active_passive.yaml");
  const Plan b = MustParse("002_active_passive_objects_shape.yaml");
  EXPECT_TRUE(a.Equivalent(b)) << ToJson(a).dump(1) << "\n----\n" << ToJson(b).dump(1);
  EXPECT_NE(a.rules[0].source, b.rules[0].source);
}

TEST(SamplesTest, DocumentsWithoutLiveSynchronization) {
  auto bucket = ParseLiveSynchronizationYaml(ReadTestdata("001_generic_bucket.yaml"));
  ASSERT_FALSE(bucket.ok());
  EXPECT_EQ(bucket.status().message(), "no LiveSynchronization found (documents: Bucket, Secret)");
  auto clusters = ParseLiveSynchronizationYaml(ReadTestdata("001_kubernetes_clusters.yaml"));
  ASSERT_FALSE(clusters.ok());
  EXPECT_EQ(clusters.status().message(),
            "no LiveSynchronization found (documents: KubernetesCluster, KubernetesCluster)");
}

}  // namespace
}  // namespace kubesync::plan
