// The plan's own JSON form: what components receive in a file.
#include <gtest/gtest.h>

#include "kubesync/plan/parse.h"
#include "test_util.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;
using testing::ReadTestdata;

class PlanJsonRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(PlanJsonRoundTrip, ToJsonFromJsonIsEquivalent) {
  ParseOptions options;
  options.operator_namespace = "kubesync-system";
  auto plan = ParseLiveSynchronizationYaml(ReadTestdata(GetParam()), options);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const json j = ToJson(*plan);
  auto back = FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << j.dump(1);
  EXPECT_TRUE(back->Equivalent(*plan));
  EXPECT_EQ(ToJson(*back), j);  // sources, plugin and warnings survive too
  // The YAML entry point accepts the plan's own form as well.
  auto via_text = ParseLiveSynchronizationYaml(j.dump());
  ASSERT_TRUE(via_text.ok()) << via_text.status().ToString();
  EXPECT_EQ(ToJson(*via_text), j);
}

INSTANTIATE_TEST_SUITE_P(Samples, PlanJsonRoundTrip,
                         ::testing::Values("000_configuring_livesync.yaml", "000_name_selector_regex.yaml",
                                           "000_fragment_transformations.yaml", "000_bucket_livesync.yaml",
                                           "001_live_synchronization_sample.yaml", "002_active_passive.yaml",
                                           "resync_period_twice_same.yaml"));

TEST(PlanJsonTest, Shape) {
  auto plan = ParseLiveSynchronizationYaml(ReadTestdata("000_configuring_livesync.yaml"));
  ASSERT_TRUE(plan.ok());
  const json j = ToJson(*plan);
  EXPECT_EQ(j["apiVersion"], "kubesync.io/v1");
  EXPECT_EQ(j["kind"], "ReplicationPlan");
  EXPECT_EQ(j["resyncPeriod"], "1h0m0s");
  EXPECT_EQ(j["rules"][0]["namespaceSelector"], "disaster-recovery=enabled");
  EXPECT_EQ(j["rules"][0]["transformation"]["operations"][0],
            json::parse(R"({"op":"replace","path":"/spec/replicas","value":0})"));
  EXPECT_EQ(j["rules"][0]["source"], "spec.config.replication.resources[0]");
  EXPECT_FALSE(j.contains("bucket"));
}

TEST(PlanJsonTest, FromJsonValidatesWithPaths) {
  json j = ToJson(*ParseLiveSynchronizationYaml(ReadTestdata("000_name_selector_regex.yaml")));
  j["rules"][0]["includeNames"] = json::array({"(x"});
  j["rules"][0]["selector"] = "a in (";
  j["rules"][0]["transformation"]["operations"] = json::array({json{{"op", "nope"}, {"path", "/a"}}});
  j["resyncPeriod"] = "soon";
  j["extra"] = 1;
  ParseReport report;
  auto plan = FromJson(j, &report);
  ASSERT_FALSE(plan.ok());
  std::vector<std::string> paths;
  for (const auto& e : report.errors) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"extra", "resyncPeriod", "rules[0].selector",
                                             "rules[0].includeNames[0]",
                                             "rules[0].transformation.operations[0].op"}));

  auto not_plan = FromJson(json{{"kind", "LiveSynchronization"}});
  ASSERT_FALSE(not_plan.ok());
  EXPECT_EQ(not_plan.status().message(),
            "kind: not a kubesync plan: want apiVersion \"kubesync.io/v1\" and kind \"ReplicationPlan\"");
}

}  // namespace
}  // namespace kubesync::plan
