#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;

const TypeRef kDeployment{"apps", "v1", "Deployment"};
const TypeRef kConfigMap{"", "v1", "ConfigMap"};

ApplyOptions Opts(std::string manager, bool force = false, std::string time = "2024-05-01T10:00:00Z") {
  ApplyOptions o;
  o.field_manager = std::move(manager);
  o.force = force;
  o.time = std::move(time);
  return o;
}

json ManagedEntry(const json& object, const std::string& manager, const std::string& operation) {
  for (const json& e : object.at("metadata").at("managedFields")) {
    if (e.at("manager") == manager && e.at("operation") == operation) return e;
  }
  return nullptr;
}

json Apply(const std::optional<json>& live, const json& config, const std::string& manager,
           const TypeRef& type, bool force = false) {
  auto result = ServerSideApply(live, config, type, Opts(manager, force));
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return nullptr;
  EXPECT_TRUE(result->conflicts.empty());
  return result->object;
}

const json kDeploymentConfig = json::parse(R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}
})");

TEST(ServerSideApplyTest, CreateRecordsApplyEntryInFieldsV1Format) {
  json obj = Apply(std::nullopt, kDeploymentConfig, "kubectl", kDeployment);
  EXPECT_EQ(obj.at("spec").at("replicas"), 2);
  EXPECT_EQ(obj.at("metadata").at("name"), "web");
  ASSERT_EQ(obj.at("metadata").at("managedFields").size(), 1u);
  const json& entry = obj.at("metadata").at("managedFields").at(0);
  EXPECT_EQ(entry.at("manager"), "kubectl");
  EXPECT_EQ(entry.at("operation"), "Apply");
  EXPECT_EQ(entry.at("apiVersion"), "apps/v1");
  EXPECT_EQ(entry.at("time"), "2024-05-01T10:00:00Z");
  EXPECT_EQ(entry.at("fieldsType"), "FieldsV1");
  EXPECT_FALSE(entry.contains("subresource"));
  EXPECT_EQ(entry.at("fieldsV1"), json::parse(R"({
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {"f:replicas": {}, "f:selector": {"f:matchLabels": {"f:app": {}}},
      "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}
  })"));
}

TEST(ServerSideApplyTest, ReapplyWithoutAFieldRemovesIt) {
  json obj = Apply(std::nullopt, kDeploymentConfig, "kubectl", kDeployment);
  json config = kDeploymentConfig;
  config["metadata"].erase("labels");
  config["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27";
  obj = Apply(obj, config, "kubectl", kDeployment);
  EXPECT_FALSE(obj.at("metadata").contains("labels")) << obj.dump();
  EXPECT_EQ(obj.at("spec").at("template").at("spec").at("containers").at(0).at("image"), "nginx:1.27");
  EXPECT_FALSE(ManagedEntry(obj, "kubectl", "Apply")
                   .at("fieldsV1")
                   .contains(json::json_pointer("/f:metadata/f:labels")));
}

TEST(ServerSideApplyTest, RemovingAContainerRemovesTheListElement) {
  json config = kDeploymentConfig;
  config["spec"]["template"]["spec"]["containers"].push_back(
      json::parse(R"({"name":"sidecar","image":"busybox"})"));
  json obj = Apply(std::nullopt, config, "kubectl", kDeployment);
  ASSERT_EQ(obj["spec"]["template"]["spec"]["containers"].size(), 2u);
  obj = Apply(obj, kDeploymentConfig, "kubectl", kDeployment);
  EXPECT_EQ(obj["spec"]["template"]["spec"]["containers"],
            json::parse(R"([{"name":"nginx","image":"nginx:1.25"}])"));
}

TEST(ServerSideApplyTest, ConflictWithAnotherManagerAppliesNothing) {
  json obj = Apply(std::nullopt, kDeploymentConfig, "kubectl", kDeployment);
  json other = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
                               "spec":{"replicas":5}})");
  auto result = ServerSideApply(obj, other, kDeployment, Opts("hpa-controller"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->conflicts.size(), 1u);
  EXPECT_EQ(result->conflicts[0].manager, "kubectl");
  EXPECT_EQ(result->conflicts[0].field, ".spec.replicas");
  EXPECT_EQ(result->object, obj);
  EXPECT_EQ(ConflictMessage(result->conflicts),
            "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas");
}

TEST(ServerSideApplyTest, ForceTransfersOwnership) {
  json obj = Apply(std::nullopt, kDeploymentConfig, "kubectl", kDeployment);
  json other = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
                               "spec":{"replicas":5}})");
  obj = Apply(obj, other, "hpa-controller", kDeployment, /*force=*/true);
  EXPECT_EQ(obj.at("spec").at("replicas"), 5);
  EXPECT_EQ(ManagedEntry(obj, "hpa-controller", "Apply").at("fieldsV1"),
            json::parse(R"({"f:spec":{"f:replicas":{}}})"));
  EXPECT_FALSE(ManagedEntry(obj, "kubectl", "Apply").at("fieldsV1").at("f:spec").contains("f:replicas"));
  // kubectl no longer owns replicas: re-applying its old config without force conflicts.
  auto again = ServerSideApply(obj, kDeploymentConfig, kDeployment, Opts("kubectl"));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->conflicts.size(), 1u);
  EXPECT_EQ(again->conflicts[0].manager, "hpa-controller");
}

TEST(ServerSideApplyTest, SameValueSharesOwnershipWithoutConflict) {
  json obj = Apply(std::nullopt, kDeploymentConfig, "kubectl", kDeployment);
  json other = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
                               "spec":{"replicas":2}})");
  obj = Apply(obj, other, "ci", kDeployment);
  EXPECT_TRUE(ManagedEntry(obj, "kubectl", "Apply").at("fieldsV1").at("f:spec").contains("f:replicas"));
  EXPECT_TRUE(ManagedEntry(obj, "ci", "Apply").at("fieldsV1").at("f:spec").contains("f:replicas"));
  // ci stops applying replicas: kubectl still owns it, so it stays.
  json ci_empty = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",
                                  "annotations":{"ci":"1"}}})");
  obj = Apply(obj, ci_empty, "ci", kDeployment);
  EXPECT_EQ(obj.at("spec").at("replicas"), 2);
}

TEST(ServerSideApplyTest, TwoManagersOwnDifferentFields) {
  json a = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}})");
  json b = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"b":"2"}})");
  json obj = Apply(std::nullopt, a, "alice", kConfigMap);
  obj = Apply(obj, b, "bob", kConfigMap);
  EXPECT_EQ(obj.at("data"), json::parse(R"({"a":"1","b":"2"})"));
  EXPECT_EQ(ManagedEntry(obj, "alice", "Apply").at("fieldsV1"), json::parse(R"({"f:data":{"f:a":{}}})"));
  EXPECT_EQ(ManagedEntry(obj, "bob", "Apply").at("fieldsV1"), json::parse(R"({"f:data":{"f:b":{}}})"));
  // Alice drops her key; Bob's stays.
  json a2 =
      json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"x":"y"}}})");
  obj = Apply(obj, a2, "alice", kConfigMap);
  EXPECT_EQ(obj.at("data"), json::parse(R"({"b":"2"})"));
}

TEST(ServerSideApplyTest, ConflictWithAnUpdateManager) {
  json obj =
      json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}})");
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "v1", "", "2024-05-01T09:00:00Z");
  json config =
      json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"2"}})");
  auto result = ServerSideApply(obj, config, kConfigMap, Opts("kubectl"));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->conflicts.size(), 1u);
  EXPECT_EQ(result->conflicts[0].manager, "kubectl-create");
  EXPECT_EQ(result->conflicts[0].field, ".data.a");
}

TEST(ServerSideApplyTest, FinalizersAreASetOfValues) {
  json config = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
                                "finalizers":["example.com/a"]}})");
  json obj = Apply(std::nullopt, config, "kubectl", kConfigMap);
  EXPECT_EQ(ManagedEntry(obj, "kubectl", "Apply").at("fieldsV1"),
            json::parse(R"({"f:metadata":{"f:finalizers":{"v:\"example.com/a\"":{}}}})"));
  json other = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
                               "finalizers":["example.com/b"]}})");
  obj = Apply(obj, other, "controller", kConfigMap);
  EXPECT_EQ(obj.at("metadata").at("finalizers"), json::parse(R"(["example.com/a","example.com/b"])"));
}

TEST(ServerSideApplyTest, NoOpReapplyKeepsTimestamp) {
  json obj = Apply(std::nullopt, kDeploymentConfig, "kubectl", kDeployment);
  auto again =
      ServerSideApply(obj, kDeploymentConfig, kDeployment, Opts("kubectl", false, "2030-01-01T00:00:00Z"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->object, obj);
}

TEST(ServerSideApplyTest, RequiresAFieldManagerAndAnObject) {
  auto no_manager = ServerSideApply(std::nullopt, kDeploymentConfig, kDeployment, Opts(""));
  ASSERT_FALSE(no_manager.ok());
  EXPECT_EQ(no_manager.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(no_manager.status().message(), "fieldManager: Required value: is required for apply patch");
  auto not_object = ServerSideApply(std::nullopt, json::array(), kDeployment, Opts("kubectl"));
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.status().http_status(), 400);
}

TEST(ServerSideApplyTest, CustomResourceListsAreAtomic) {
  TypeRef widget{"example.com", "v1", "Widget"};
  json config = json::parse(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},
                                "spec":{"items":[{"name":"a"}]}})");
  json obj = Apply(std::nullopt, config, "kubectl", widget);
  EXPECT_EQ(ManagedEntry(obj, "kubectl", "Apply").at("fieldsV1"),
            json::parse(R"({"f:spec":{"f:items":{}}})"));
  config["spec"]["items"] = json::parse(R"([{"name":"b"}])");
  obj = Apply(obj, config, "kubectl", widget);
  EXPECT_EQ(obj.at("spec").at("items"), json::parse(R"([{"name":"b"}])"));
}

TEST(ServerSideApplyTest, MultipleConflictsMessage) {
  std::vector<ApplyConflict> conflicts{{"a", ".spec.x"}, {"b", ".spec.y"}};
  EXPECT_EQ(ConflictMessage(conflicts),
            "Apply failed with 2 conflicts: conflict with \"a\": .spec.x\nconflict with \"b\": .spec.y");
}

}  // namespace
}  // namespace kubesync::emulator
