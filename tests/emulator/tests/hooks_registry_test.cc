#include <gtest/gtest.h>

#include "hooks.h"
#include "registry.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

TEST(FaultsTest, MatchesByVerbAndResourceAndCountsDown) {
  Faults faults;
  auto f = ParseFault({{"verb", "create"},
                       {"resource", "configmaps"},
                       {"count", 2},
                       {"code", 429},
                       {"retryAfterSeconds", 4}});
  ASSERT_TRUE(f.ok());
  faults.Add(*f);
  EXPECT_FALSE(faults.Match("get", "configmaps").error);
  EXPECT_FALSE(faults.Match("create", "secrets").error);
  auto a = faults.Match("create", "configmaps");
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, 429);
  EXPECT_EQ(a.error->reason, "TooManyRequests");
  EXPECT_EQ(a.error->ToJson()["details"]["retryAfterSeconds"], 4);
  EXPECT_TRUE(faults.Match("create", "configmaps").error);
  EXPECT_FALSE(faults.Match("create", "configmaps").error);
  faults.Add(*ParseFault({{"code", 0}, {"latencyMs", 7}}));
  auto l = faults.Match("watch", "pods");
  EXPECT_EQ(l.latency_ms, 7);
  EXPECT_FALSE(l.error);
  EXPECT_FALSE(ParseFault({{"code", 0}}).ok());
  EXPECT_FALSE(ParseFault({{"count", 0}}).ok());
  EXPECT_FALSE(ParseFault(nlohmann::json::array()).ok());
}

TEST(CountersTest, CountsPerVerbResourceUser) {
  Counters c;
  c.Count("create", "configmaps", "admin");
  c.Count("create", "configmaps", "admin");
  c.Count("get", "deployments/scale", "bob");
  auto j = c.ToJson();
  ASSERT_EQ(j["requests"].size(), 2u);
  EXPECT_EQ(j["requests"][0]["count"], 2);
  c.Reset();
  EXPECT_TRUE(c.ToJson()["requests"].empty());
}

TEST(RegistryTest, CrdsComeAndGoInDiscoveryAndOpenApi) {
  Registry r;
  EXPECT_EQ(r.Find("apps", "v1", "deployments")->short_names[0], "deploy");
  EXPECT_EQ(r.Find("", "v1", "pods")->categories[0], "all");
  EXPECT_FALSE(r.Find("", "v1", "namespaces")->namespaced);
  const std::string hash_before = r.OpenApiIndex()["paths"]["api/v1"]["serverRelativeURL"];
  r.AddCrd({{"metadata", {{"name", "foos.ex.com"}}},
            {"spec",
             {{"group", "ex.com"},
              {"scope", "Cluster"},
              {"names", {{"plural", "foos"}, {"kind", "Foo"}}},
              {"versions",
               {{{"name", "v1"},
                 {"served", true},
                 {"storage", true},
                 {"subresources", {{"scale", {{"specReplicasPath", ".spec.size"}}}}}},
                {{"name", "v2"}, {"served", false}, {"storage", false}}}}}}});
  auto foo = r.Find("ex.com", "v1", "foos");
  ASSERT_NE(foo, nullptr);
  EXPECT_FALSE(foo->namespaced);
  EXPECT_TRUE(foo->custom);
  EXPECT_TRUE(foo->scale_sub);
  EXPECT_EQ(foo->spec_replicas_path, ".spec.size");
  EXPECT_EQ(foo->singular, "foo");
  EXPECT_EQ(r.Find("ex.com", "v2", "foos"), nullptr);
  auto list = r.ResourceList("ex.com", "v1");
  ASSERT_TRUE(list);
  EXPECT_EQ((*list)["resources"][1]["name"], "foos/scale");
  EXPECT_TRUE(r.ApiGroup("ex.com"));
  EXPECT_TRUE(r.OpenApiDocument("apis/ex.com/v1"));
  EXPECT_NE(r.OpenApiIndex()["paths"]["api/v1"]["serverRelativeURL"], hash_before);
  r.RemoveCrd("foos.ex.com");
  EXPECT_EQ(r.Find("ex.com", "v1", "foos"), nullptr);
  EXPECT_FALSE(r.ApiGroup("ex.com"));
  const nlohmann::json groups = r.ApiGroupList();  // iterate a named copy, not a temporary
  for (const auto& g : groups["groups"]) EXPECT_NE(g["name"], "ex.com");
}

TEST(UtilTest, ContinueTokensRoundTripAndRejectGarbage) {
  auto p = DecodeContinue(EncodeContinue(42, "default/a"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rv, 42u);
  EXPECT_EQ(p->last_key, "default/a");
  EXPECT_FALSE(DecodeContinue("!!!"));
  EXPECT_FALSE(DecodeContinue(Base64Encode("{\"rv\":\"x\"}")));
  EXPECT_EQ(*Base64Decode(Base64Encode("ab")), "ab");
}

TEST(UtilTest, YamlToJsonKeepsTypes) {
  std::string err;
  auto j = YamlToJson("a: 1\nb: \"1\"\nc: true\nd: ~\ne: [x, 2.5]\n", &err);
  ASSERT_TRUE(j) << err;
  EXPECT_EQ((*j)["a"], 1);
  EXPECT_EQ((*j)["b"], "1");
  EXPECT_EQ((*j)["c"], true);
  EXPECT_TRUE((*j)["d"].is_null());
  EXPECT_EQ((*j)["e"][1], 2.5);
  EXPECT_FALSE(YamlToJson("a: [1, 2\n", &err));
}

}  // namespace
}  // namespace kubesync::emulator
