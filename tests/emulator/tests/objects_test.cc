#include "objects.h"

#include <gtest/gtest.h>

namespace kubesync::emulator {
namespace {

const ResourceType& Type(const std::string& g, const std::string& r) {
  static Registry registry;
  static std::map<std::string, ResourceTypePtr> keep;
  auto t = registry.Find(g, g == "autoscaling" ? "v2" : "v1", r);
  keep[g + r] = t;
  return *t;
}

TEST(ObjectsTest, CreateStampsServerFieldsAndGeneration) {
  auto out = PrepareCreate(Type("apps", "deployments"),
                           {{"metadata", {{"name", "d"}, {"uid", "mine"}}}, {"spec", {{"x", 1}}}}, "ns",
                           "2024-05-01T10:00:00Z");
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(out));
  const auto& o = std::get<nlohmann::json>(out);
  EXPECT_EQ(o["kind"], "Deployment");
  EXPECT_EQ(o["apiVersion"], "apps/v1");
  EXPECT_EQ(o["metadata"]["namespace"], "ns");
  EXPECT_NE(o["metadata"]["uid"], "mine");
  EXPECT_EQ(o["metadata"]["generation"], 1);
  EXPECT_EQ(o["metadata"]["creationTimestamp"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(o["spec"]["replicas"], 1);  // defaulted
  auto cm = std::get<nlohmann::json>(
      PrepareCreate(Type("", "configmaps"), {{"metadata", {{"name", "c"}}}}, "ns", "t"));
  EXPECT_FALSE(cm["metadata"].contains("generation"));
}

TEST(ObjectsTest, GenerationBumpsOnlyOutsideMetadataAndStatus) {
  const auto& t = Type("apps", "deployments");
  auto cur = std::get<nlohmann::json>(
      PrepareCreate(t, {{"metadata", {{"name", "d"}}}, {"spec", {{"x", 1}}}}, "ns", "t"));
  cur["metadata"]["resourceVersion"] = "5";
  auto labels = cur;
  labels["metadata"]["labels"] = {{"a", "b"}};
  auto same = std::get<nlohmann::json>(PrepareUpdate(t, cur, labels, "", "d", false));
  EXPECT_EQ(same["metadata"]["generation"], 1);
  auto spec = cur;
  spec["spec"]["x"] = 2;
  spec["status"] = {{"ready", 1}};
  auto bumped = std::get<nlohmann::json>(PrepareUpdate(t, cur, spec, "", "d", false));
  EXPECT_EQ(bumped["metadata"]["generation"], 2);
  EXPECT_EQ(bumped["status"], cur["status"]);
  auto status = std::get<nlohmann::json>(PrepareUpdate(t, cur, spec, "status", "d", false));
  EXPECT_EQ(status["status"]["ready"], 1);
  EXPECT_EQ(status["spec"]["x"], 1);
  EXPECT_EQ(status["metadata"]["generation"], 1);
  auto stale = spec;
  stale["metadata"]["resourceVersion"] = "4";
  auto err = PrepareUpdate(t, cur, stale, "", "d", false);
  ASSERT_TRUE(std::holds_alternative<ApiError>(err));
  EXPECT_EQ(std::get<ApiError>(err).reason, "Conflict");
  EXPECT_TRUE(SameContent(cur, same) == false);
  auto rv_only = cur;
  rv_only["metadata"]["resourceVersion"] = "9";
  EXPECT_TRUE(SameContent(cur, rv_only));
}

TEST(ObjectsTest, ServiceKeepsAllocatedClusterIpOnUpdate) {
  const auto& t = Type("", "services");
  auto cur = std::get<nlohmann::json>(
      PrepareCreate(t, {{"metadata", {{"name", "s"}}}, {"spec", {{"ports", {{{"port", 80}}}}}}}, "ns", "t"));
  const std::string ip = cur["spec"]["clusterIP"];
  EXPECT_EQ(ip.rfind("10.96.", 0), 0u);
  EXPECT_EQ(cur["spec"]["ports"][0]["targetPort"], 80);
  auto in = cur;
  in["spec"].erase("clusterIP");
  in["spec"].erase("clusterIPs");
  auto out = std::get<nlohmann::json>(PrepareUpdate(t, cur, in, "", "s", false));
  EXPECT_EQ(out["spec"]["clusterIP"], ip);
}

TEST(ObjectsTest, CrdValidationAndStatus) {
  auto bad = PrepareCrd({{"metadata", {{"name", "x.example.com"}}},
                         {"spec",
                          {{"group", "example.com"},
                           {"scope", "Namespaced"},
                           {"names", {{"plural", "things"}, {"kind", "Thing"}}},
                           {"versions", {{{"name", "v1"}, {"served", true}, {"storage", false}}}}}}},
                        "t");
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad));
  const auto& e = std::get<ApiError>(bad);
  EXPECT_EQ(e.code, 422);
  ASSERT_EQ(e.causes.size(), 2u);
  EXPECT_EQ(e.causes[0].field, "metadata.name");
  EXPECT_EQ(e.causes[1].field, "spec.versions");
}

TEST(ObjectsTest, ScaleRoundTrip) {
  const auto& t = Type("apps", "deployments");
  nlohmann::json d = {{"metadata", {{"name", "d"}, {"resourceVersion", "3"}, {"generation", 1}}},
                      {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"a", "b"}}}}}}},
                      {"status", {{"replicas", 1}}}};
  auto scale = ToScale(t, d);
  EXPECT_EQ(scale["spec"]["replicas"], 2);
  EXPECT_EQ(scale["status"]["replicas"], 1);
  EXPECT_EQ(scale["status"]["selector"], "a=b");
  scale["spec"]["replicas"] = 5;
  auto out = std::get<nlohmann::json>(FromScale(t, d, scale));
  EXPECT_EQ(out["spec"]["replicas"], 5);
  EXPECT_EQ(out["metadata"]["generation"], 2);
  scale["metadata"]["resourceVersion"] = "2";
  EXPECT_TRUE(std::holds_alternative<ApiError>(FromScale(t, d, scale)));
}

}  // namespace
}  // namespace kubesync::emulator
