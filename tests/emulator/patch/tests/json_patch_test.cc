#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;

const json kConfigMap = json::parse(R"({
  "apiVersion": "v1", "kind": "ConfigMap",
  "metadata": {"name": "a", "labels": {"app": "web"}},
  "data": {"k1": "v1", "k2": "v2"},
  "list": [1, 2, 3]
})");

TEST(JsonPatchTest, AppliesEveryOperationInOrder) {
  auto result = ApplyJsonPatch(kConfigMap, json::parse(R"([
    {"op": "test", "path": "/data/k1", "value": "v1"},
    {"op": "add", "path": "/data/k3", "value": "v3"},
    {"op": "remove", "path": "/data/k2"},
    {"op": "replace", "path": "/metadata/labels/app", "value": "api"},
    {"op": "copy", "from": "/data/k1", "path": "/data/k4"},
    {"op": "move", "from": "/data/k3", "path": "/data/k5"},
    {"op": "add", "path": "/list/-", "value": 4}
  ])"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->at("data"), json::parse(R"({"k1":"v1","k4":"v1","k5":"v3"})"));
  EXPECT_EQ(result->at("metadata").at("labels").at("app"), "api");
  EXPECT_EQ(result->at("list"), json::parse("[1,2,3,4]"));
}

TEST(JsonPatchTest, AddToMapCreatesKeyEscapedPointer) {
  auto result = ApplyJsonPatch(kConfigMap, json::parse(
                                               R"([{"op":"add","path":"/metadata/annotations","value":{}},
          {"op":"add","path":"/metadata/annotations/example.com~1team","value":"x"}])"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->at("metadata").at("annotations").at("example.com/team"), "x");
}

struct FailureCase {
  const char* name;
  const char* patch;
  const char* message;
  int http;
};

class JsonPatchFailureTest : public testing::TestWithParam<FailureCase> {};

TEST_P(JsonPatchFailureTest, RejectsWithTheRealServerText) {
  const FailureCase& c = GetParam();
  auto result = ApplyJsonPatch(kConfigMap, json::parse(c.patch));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(result.status().message(), c.message);
  EXPECT_EQ(result.status().http_status(), c.http);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonPatchFailureTest,
    testing::Values(
        FailureCase{"RemoveMissing", R"([{"op":"remove","path":"/data/nope"}])",
                    R"(remove operation does not apply: doc is missing path: "/data/nope": missing value)",
                    422},
        FailureCase{"ReplaceMissingKey", R"([{"op":"replace","path":"/data/nope","value":"x"}])",
                    "replace operation does not apply: doc is missing key: /data/nope: missing value", 422},
        FailureCase{"ReplaceMissingParent", R"([{"op":"replace","path":"/spec/nope","value":"x"}])",
                    "replace operation does not apply: doc is missing path: /spec/nope: missing value", 422},
        FailureCase{"AddMissingParent", R"([{"op":"add","path":"/spec/template/x","value":1}])",
                    R"(add operation does not apply: doc is missing path: "/spec/template/x": missing value)",
                    422},
        FailureCase{"TestFails", R"([{"op":"test","path":"/data/k1","value":"other"}])",
                    "testing value /data/k1 failed: test failed", 422},
        FailureCase{"TestMissing", R"([{"op":"test","path":"/data/zz","value":"v"}])",
                    "testing value /data/zz failed: test failed", 422},
        FailureCase{"MoveMissingFrom", R"([{"op":"move","from":"/data/zz","path":"/data/k9"}])",
                    "move operation does not apply: doc is missing from path: /data/zz: missing value", 422},
        FailureCase{"UnknownOp", R"([{"op":"frobnicate","path":"/data"}])",
                    "Unexpected kind: frobnicate: unknown object type", 422},
        FailureCase{"NotAnArray", R"({"op":"add","path":"/a","value":1})",
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch", 400}),
    [](const testing::TestParamInfo<FailureCase>& info) { return std::string(info.param.name); });

TEST(JsonPatchTest, FailedOperationLeavesNoPartialResult) {
  // The first operation applies, the second fails: the caller gets an error, not a
  // half-patched object (the real server stores nothing).
  auto result = ApplyJsonPatch(
      kConfigMap,
      json::parse(
          R"([{"op":"add","path":"/data/k3","value":"v3"},{"op":"test","path":"/data/k1","value":"no"}])"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "testing value /data/k1 failed: test failed");
}

TEST(MergePatchTest, MergesMapsDeletesNullsReplacesLists) {
  auto result = ApplyMergePatch(
      kConfigMap,
      json::parse(R"({"metadata":{"labels":{"app":null,"tier":"fe"}},"data":{"k1":"new"},"list":[9]})"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->at("metadata").at("labels"), json::parse(R"({"tier":"fe"})"));
  EXPECT_EQ(result->at("data"), json::parse(R"({"k1":"new","k2":"v2"})"));
  EXPECT_EQ(result->at("list"), json::parse("[9]"));
  EXPECT_EQ(result->at("kind"), "ConfigMap");
}

TEST(MergePatchTest, RejectsNonObjectPatch) {
  for (const char* patch : {"[1,2]", "\"x\"", "null"}) {
    auto result = ApplyMergePatch(kConfigMap, json::parse(patch));
    ASSERT_FALSE(result.ok()) << patch;
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(result.status().message(), "Invalid JSON Patch");
    EXPECT_EQ(result.status().http_status(), 400);
  }
}

}  // namespace
}  // namespace kubesync::emulator
