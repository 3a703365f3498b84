#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;

json Entry(const json& object, const std::string& manager) {
  for (const json& e : object.at("metadata").at("managedFields")) {
    if (e.at("manager") == manager) return e;
  }
  return nullptr;
}

const json kCreated = json::parse(R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "5",
               "creationTimestamp": "2024-05-01T09:00:00Z", "generation": 1, "labels": {"app": "web"}},
  "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
  "status": {"replicas": 0}
})");

TEST(RecordUpdateManagedFieldsTest, CreateOwnsEveryLeafButSystemFieldsAndStatus) {
  json obj = kCreated;
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "apps/v1", "", "2024-05-01T09:00:00Z");
  ASSERT_EQ(obj.at("metadata").at("managedFields").size(), 1u);
  EXPECT_EQ(obj.at("metadata").at("managedFields").at(0), json::parse(R"({
    "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1",
    "time": "2024-05-01T09:00:00Z", "fieldsType": "FieldsV1",
    "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
                 "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                   "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}
  })"));
}

TEST(RecordUpdateManagedFieldsTest, UpdateTakesChangedFieldsFromOthers) {
  json obj = kCreated;
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "apps/v1", "", "2024-05-01T09:00:00Z");
  json before = obj;
  obj["spec"]["replicas"] = 3;
  RecordUpdateManagedFields(obj, before, "kubectl-scale", "apps/v1", "", "2024-05-01T10:00:00Z");
  EXPECT_EQ(Entry(obj, "kubectl-scale").at("fieldsV1"), json::parse(R"({"f:spec":{"f:replicas":{}}})"));
  EXPECT_EQ(Entry(obj, "kubectl-scale").at("time"), "2024-05-01T10:00:00Z");
  EXPECT_FALSE(Entry(obj, "kubectl-create").at("fieldsV1").at("f:spec").contains("f:replicas"));
  EXPECT_EQ(Entry(obj, "kubectl-create").at("time"), "2024-05-01T09:00:00Z");
}

TEST(RecordUpdateManagedFieldsTest, NoOpUpdateAddsNoEntry) {
  json obj = kCreated;
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "apps/v1", "", "2024-05-01T09:00:00Z");
  json before = obj;
  RecordUpdateManagedFields(obj, before, "kubectl-edit", "apps/v1", "", "2024-05-01T10:00:00Z");
  EXPECT_EQ(obj, before);
}

TEST(RecordUpdateManagedFieldsTest, StatusSubresourceGetsItsOwnEntry) {
  json obj = kCreated;
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "apps/v1", "", "2024-05-01T09:00:00Z");
  json before = obj;
  obj["status"]["replicas"] = 1;
  obj["status"]["conditions"] = json::parse(R"([{"type":"Available","status":"True"}])");
  RecordUpdateManagedFields(obj, before, "kube-controller-manager", "apps/v1", "status",
                            "2024-05-01T10:00:00Z");
  json entry = Entry(obj, "kube-controller-manager");
  EXPECT_EQ(entry.at("subresource"), "status");
  EXPECT_EQ(entry.at("fieldsV1"), json::parse(R"({"f:status":{"f:replicas":{},"f:conditions":{
      "k:{\"type\":\"Available\"}":{".":{},"f:type":{},"f:status":{}}}}})"));
}

TEST(RecordUpdateManagedFieldsTest, RemovedFieldLeavesEveryEntry) {
  json obj = kCreated;
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "apps/v1", "", "2024-05-01T09:00:00Z");
  json before = obj;
  obj["metadata"].erase("labels");
  RecordUpdateManagedFields(obj, before, "kubectl-edit", "apps/v1", "", "2024-05-01T10:00:00Z");
  EXPECT_FALSE(
      Entry(obj, "kubectl-create").at("fieldsV1").contains(json::json_pointer("/f:metadata/f:labels")));
  EXPECT_EQ(Entry(obj, "kubectl-edit"), nullptr);  // removing fields owns nothing
}

TEST(RecordUpdateManagedFieldsTest, EntriesSortApplyFirstThenByTime) {
  auto applied = ServerSideApply(
      std::nullopt, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},
                                                 "data":{"a":"1"}})"),
      TypeRef{"", "v1", "ConfigMap"}, ApplyOptions{"kubectl", false, "2024-05-01T12:00:00Z"});
  ASSERT_TRUE(applied.ok());
  json obj = applied->object;
  json before = obj;
  obj["data"]["b"] = "2";
  RecordUpdateManagedFields(obj, before, "z-editor", "v1", "", "2024-05-01T13:00:00Z");
  before = obj;
  obj["data"]["c"] = "3";
  RecordUpdateManagedFields(obj, before, "a-editor", "v1", "", "2024-05-01T14:00:00Z");
  const json& mf = obj.at("metadata").at("managedFields");
  ASSERT_EQ(mf.size(), 3u);
  EXPECT_EQ(mf[0].at("manager"), "kubectl");
  EXPECT_EQ(mf[1].at("manager"), "z-editor");
  EXPECT_EQ(mf[2].at("manager"), "a-editor");
}

TEST(RecordUpdateManagedFieldsTest, ClientSentEmptyManagedFieldsResetsThem) {
  json obj = kCreated;
  RecordUpdateManagedFields(obj, std::nullopt, "kubectl-create", "apps/v1", "", "2024-05-01T09:00:00Z");
  json before = obj;
  obj["metadata"]["managedFields"] = json::array();
  obj["spec"]["replicas"] = 4;
  RecordUpdateManagedFields(obj, before, "kubectl-edit", "apps/v1", "", "2024-05-01T10:00:00Z");
  ASSERT_EQ(obj.at("metadata").at("managedFields").size(), 1u);
  EXPECT_EQ(obj["metadata"]["managedFields"][0]["manager"], "kubectl-edit");
}

}  // namespace
}  // namespace kubesync::emulator
