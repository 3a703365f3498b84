// Strategic merge patch cases modelled on what kubectl apply (client-side, 3-way patches
// with directives), kubectl patch --type strategic and python3-kubernetes send.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;

const TypeRef kDeployment{"apps", "v1", "Deployment"};
const TypeRef kPod{"", "v1", "Pod"};

// A Deployment with one container; cases below patch it.
json Deployment() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                 "finalizers": ["a.example.com/f"]},
    "spec": {
      "replicas": 2,
      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
      "template": {
        "metadata": {"labels": {"app": "web", "tier": "fe"}},
        "spec": {
          "containers": [{
            "name": "nginx", "image": "nginx:1.25", "args": ["-g", "daemon off;"],
            "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]
          }],
          "volumes": [{"name": "data", "emptyDir": {}}],
          "tolerations": [{"key": "k1", "operator": "Exists"}, {"key": "k2", "operator": "Exists"}]
        }
      }
    }
  })");
}

struct SmpCase {
  const char* name;
  const char* patch;
  // Pointer -> expected value, checked on the result.
  std::vector<std::pair<const char*, const char*>> expect;
};

class StrategicMergeTest : public testing::TestWithParam<SmpCase> {};

TEST_P(StrategicMergeTest, ProducesTheRealServerResult) {
  const SmpCase& c = GetParam();
  auto result = ApplyStrategicMergePatch(Deployment(), json::parse(c.patch), kDeployment);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (const auto& [pointer, expected] : c.expect) {
    json::json_pointer ptr(pointer);
    if (std::string(expected) == "<absent>") {
      EXPECT_FALSE(result->contains(ptr)) << pointer << " in " << result->dump();
      continue;
    }
    ASSERT_TRUE(result->contains(ptr)) << pointer << " missing in " << result->dump();
    EXPECT_EQ(result->at(ptr), json::parse(expected)) << pointer;
  }
  // Directives never leak into the stored object.
  EXPECT_EQ(result->dump().find("\"$"), std::string::npos) << result->dump();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StrategicMergeTest,
    testing::Values(
        SmpCase{"KubectlApplyAddsContainerInOrder",
                R"({"spec":{"template":{"spec":{
                     "$setElementOrder/containers":[{"name":"nginx"},{"name":"sidecar"}],
                     "containers":[{"name":"sidecar","image":"busybox"}]}}}})",
                {{"/spec/template/spec/containers/0/name", R"("nginx")"},
                 {"/spec/template/spec/containers/0/image", R"("nginx:1.25")"},
                 {"/spec/template/spec/containers/1", R"({"name":"sidecar","image":"busybox"})"}}},
        SmpCase{"PatchWithoutOrderPrependsNewContainer",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}})",
                {{"/spec/template/spec/containers/0/name", R"("sidecar")"},
                 {"/spec/template/spec/containers/1/name", R"("nginx")"},
                 {"/spec/template/spec/containers/1/env/2/name", R"("C")"}}},
        SmpCase{"ChangeOneEnvVar",
                R"({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],
                     "containers":[{"name":"nginx",
                       "$setElementOrder/env":[{"name":"A"},{"name":"B"},{"name":"C"}],
                       "env":[{"name":"B","value":"two"}]}]}}}})",
                {{"/spec/template/spec/containers/0/env",
                  R"([{"name":"A","value":"1"},{"name":"B","value":"two"},{"name":"C","value":"3"}])"},
                 {"/spec/template/spec/containers/0/image", R"("nginx:1.25")"}}},
        SmpCase{"ChangeImageKeepsEverythingElse",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}})",
                {{"/spec/template/spec/containers/0/image", R"("nginx:1.27")"},
                 {"/spec/template/spec/containers/0/ports/1/containerPort", "443"},
                 {"/spec/template/spec/volumes/0/name", R"("data")"}}},
        SmpCase{"RemovePortWithDeleteDirective",
                R"({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],
                     "containers":[{"name":"nginx","$setElementOrder/ports":[{"containerPort":80}],
                       "ports":[{"$patch":"delete","containerPort":443}]}]}}}})",
                {{"/spec/template/spec/containers/0/ports", R"([{"containerPort":80,"name":"http"}])"}}},
        SmpCase{"SetElementOrderReordersEnv",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx",
                     "$setElementOrder/env":[{"name":"C"},{"name":"A"},{"name":"B"}]}]}}}})",
                {{"/spec/template/spec/containers/0/env",
                  R"([{"name":"C","value":"3"},{"name":"A","value":"1"},{"name":"B","value":"2"}])"}}},
        SmpCase{"SetElementOrderWithAddAndServerOnlyItems",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx",
                     "$setElementOrder/env":[{"name":"A"},{"name":"D"}],
                     "env":[{"name":"D","value":"4"}]}]}}}})",
                // mergeSortedSlice: server-only items (B, C: not in the order list) are
                // placed by the live order only against items it knows; D is new, so it
                // goes before them.
                {{"/spec/template/spec/containers/0/env/0/name", R"("A")"},
                 {"/spec/template/spec/containers/0/env/1", R"({"name":"D","value":"4"})"},
                 {"/spec/template/spec/containers/0/env/2/name", R"("B")"},
                 {"/spec/template/spec/containers/0/env/3/name", R"("C")"}}},
        SmpCase{"RetainKeysOnStrategyTypeChange",
                R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":null}}})",
                {{"/spec/strategy", R"({"type":"Recreate"})"}}},
        SmpCase{"RetainKeysOnVolumeSourceChange",
                R"({"spec":{"template":{"spec":{"$setElementOrder/volumes":[{"name":"data"}],
                     "volumes":[{"name":"data","$retainKeys":["configMap","name"],
                                 "configMap":{"name":"cm"},"emptyDir":null}]}}}})",
                {{"/spec/template/spec/volumes", R"([{"name":"data","configMap":{"name":"cm"}}])"}}},
        SmpCase{"DeleteContainerElement",
                R"({"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"nginx"}]}}}})",
                {{"/spec/template/spec/containers", "[]"}}},
        SmpCase{"ReplaceMapDirective",
                R"({"spec":{"template":{"metadata":{"labels":{"$patch":"replace","app":"api"}}}}})",
                {{"/spec/template/metadata/labels", R"({"app":"api"})"}}},
        SmpCase{"DeleteMapDirectiveEmptiesIt",
                R"({"spec":{"template":{"metadata":{"labels":{"$patch":"delete"}}}}})",
                {{"/spec/template/metadata/labels", "{}"}}},
        SmpCase{
            "ReplaceListDirective",
            R"({"spec":{"template":{"spec":{"containers":[{"$patch":"replace"},{"name":"only","image":"x"}]}}}})",
            {{"/spec/template/spec/containers", R"([{"name":"only","image":"x"}])"}}},
        SmpCase{"DeleteFromPrimitiveListFinalizers",
                R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a.example.com/f"]}})",
                {{"/metadata/finalizers", "[]"}}},
        SmpCase{"AddFinalizerPrependsAsTheRealServer",
                R"({"metadata":{"finalizers":["b.example.com/f"]}})",
                {{"/metadata/finalizers", R"(["b.example.com/f","a.example.com/f"])"}}},
        SmpCase{"AddFinalizerWithOrder",
                R"({"metadata":{"$setElementOrder/finalizers":["a.example.com/f","b.example.com/f"],
                                "finalizers":["b.example.com/f"]}})",
                {{"/metadata/finalizers", R"(["a.example.com/f","b.example.com/f"])"}}},
        SmpCase{"DuplicateFinalizerIsMergedOnce",
                R"({"metadata":{"finalizers":["a.example.com/f"]}})",
                {{"/metadata/finalizers", R"(["a.example.com/f"])"}}},
        SmpCase{"NullDeletesFields",
                R"({"metadata":{"labels":{"app":null}},"spec":{"replicas":null,"nope":null}})",
                {{"/metadata/labels", "{}"}, {"/spec/replicas", "<absent>"}, {"/spec/nope", "<absent>"}}},
        SmpCase{"NewMapDropsNestedNulls",
                R"({"metadata":{"annotations":{"a":"1","b":null}}})",
                {{"/metadata/annotations", R"({"a":"1"})"}}},
        SmpCase{"AtomicListTolerationsReplaced",
                R"({"spec":{"template":{"spec":{"tolerations":[{"key":"k3","operator":"Exists"}]}}}})",
                {{"/spec/template/spec/tolerations", R"([{"key":"k3","operator":"Exists"}])"}}},
        SmpCase{"AtomicArgsReplacedInsideMergedContainer",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx","args":["-v"]}]}}}})",
                {{"/spec/template/spec/containers/0/args", R"(["-v"])"},
                 {"/spec/template/spec/containers/0/image", R"("nginx:1.25")"}}},
        SmpCase{"VolumeMountsMergeByMountPath",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx",
                     "volumeMounts":[{"mountPath":"/data","readOnly":true}]}]}}}})",
                {{"/spec/template/spec/containers/0/volumeMounts",
                  R"([{"name":"data","mountPath":"/data","readOnly":true}])"}}},
        SmpCase{"InitContainersMergeByName",
                R"({"spec":{"template":{"spec":{"initContainers":[{"name":"init","image":"busybox"}]}}}})",
                {{"/spec/template/spec/initContainers", R"([{"name":"init","image":"busybox"}])"}}},
        SmpCase{"TypeChangeReplacesValue",
                R"({"spec":{"strategy":"weird"}})",
                {{"/spec/strategy", R"("weird")"}}},
        SmpCase{"UnknownDirectiveLikeKeysAreKeptAsFields",
                R"({"spec":{"template":{"metadata":{"annotations":{"x":"y"}}}}})",
                {{"/spec/template/metadata/annotations", R"({"x":"y"})"},
                 {"/spec/template/metadata/labels/tier", R"("fe")"}}}),
    [](const testing::TestParamInfo<SmpCase>& info) { return std::string(info.param.name); });

TEST(StrategicMergeKindsTest, PodContainersMergeAtSpec) {
  json pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
    "spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]},
    "status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}})");
  auto result = ApplyStrategicMergePatch(
      pod,
      json::parse(
          R"({"spec":{"containers":[{"name":"b","image":"z"}]},"status":{"conditions":[{"type":"Ready","status":"True"}]}})"),
      kPod);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->at("spec").at("containers"),
            json::parse(R"([{"name":"a","image":"x"},{"name":"b","image":"z"}])"));
  EXPECT_EQ(result->at("status").at("conditions"),
            json::parse(R"([{"type":"Ready","status":"True"},{"type":"PodScheduled","status":"True"}])"));
}

TEST(StrategicMergeKindsTest, CronJobTemplateContainersMerge) {
  json cj = json::parse(R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},
    "spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{
      "containers":[{"name":"job","image":"x","env":[{"name":"A","value":"1"}]}]}}}}}})");
  auto result =
      ApplyStrategicMergePatch(cj, json::parse(R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{
      "containers":[{"name":"job","env":[{"name":"B","value":"2"}]}]}}}}}})"),
                               TypeRef{"batch", "v1", "CronJob"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const json& c = result->at(json::json_pointer("/spec/jobTemplate/spec/template/spec/containers/0"));
  EXPECT_EQ(c.at("image"), "x");
  EXPECT_EQ(c.at("env").size(), 2u);
}

TEST(StrategicMergeKindsTest, ServicePortsMergeByPort) {
  json svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},
    "spec":{"ports":[{"port":80,"targetPort":8080},{"port":443,"targetPort":8443}]}})");
  auto result =
      ApplyStrategicMergePatch(svc, json::parse(R"({"spec":{"ports":[{"port":443,"targetPort":9443}]}})"),
                               TypeRef{"", "v1", "Service"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->at("spec").at("ports"),
            json::parse(R"([{"port":80,"targetPort":8080},{"port":443,"targetPort":9443}])"));
}

TEST(StrategicMergeKindsTest, OwnerReferencesMergeByUid) {
  json cm = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
    "ownerReferences":[{"uid":"u1","name":"a","kind":"X","apiVersion":"v1"}]},"data":{"a":"1"}})");
  auto result = ApplyStrategicMergePatch(
      cm,
      json::parse(
          R"({"metadata":{"ownerReferences":[{"uid":"u2","name":"b","kind":"X","apiVersion":"v1"}]},"data":{"b":"2"}})"),
      TypeRef{"", "v1", "ConfigMap"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->at("metadata").at("ownerReferences").size(), 2u);
  EXPECT_EQ(result->at("data"), json::parse(R"({"a":"1","b":"2"})"));
}

TEST(StrategicMergeKindsTest, CustomResourcesAreUnsupportedMediaType) {
  TypeRef cr{"example.com", "v1", "Widget"};
  EXPECT_FALSE(HasStrategicSchema(cr));
  auto result = ApplyStrategicMergePatch(json::object(), json::parse(R"({"spec":{}})"), cr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnimplemented);
  EXPECT_EQ(result.status().http_status(), 415);
  EXPECT_EQ(result.status().reason(), "UnsupportedMediaType");
}

TEST(StrategicMergeKindsTest, BuiltinKindsHaveSchema) {
  for (const TypeRef& t :
       {TypeRef{"", "v1", "Namespace"}, TypeRef{"", "v1", "ConfigMap"}, TypeRef{"apps", "v1", "StatefulSet"},
        TypeRef{"batch", "v1", "Job"}, TypeRef{"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"},
        TypeRef{"policy", "v1", "PodDisruptionBudget"},
        TypeRef{"autoscaling", "v2", "HorizontalPodAutoscaler"}, TypeRef{"autoscaling", "v1", "Scale"},
        TypeRef{"coordination.k8s.io", "v1", "Lease"},
        TypeRef{"apiextensions.k8s.io", "v1", "CustomResourceDefinition"},
        TypeRef{"networking.k8s.io", "v1", "Ingress"}}) {
    EXPECT_TRUE(HasStrategicSchema(t)) << t.group << "/" << t.kind;
  }
  EXPECT_FALSE(HasStrategicSchema(TypeRef{"apps", "v1", "Widget"}));
}

struct SmpErrorCase {
  const char* name;
  const char* patch;
  const char* message;
  int http;
};

class StrategicMergeErrorTest : public testing::TestWithParam<SmpErrorCase> {};

TEST_P(StrategicMergeErrorTest, Rejects) {
  const SmpErrorCase& c = GetParam();
  auto result = ApplyStrategicMergePatch(Deployment(), json::parse(c.patch), kDeployment);
  ASSERT_FALSE(result.ok()) << result->dump();
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(result.status().message(), c.message);
  EXPECT_EQ(result.status().http_status(), c.http);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StrategicMergeErrorTest,
    testing::Values(
        SmpErrorCase{"NotAnObject", "[1]",
                     "json: cannot unmarshal array into Go value of type map[string]interface {}", 400},
        SmpErrorCase{"MissingMergeKey", R"({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})",
                     R"(map: {"image":"x"} does not contain declared merge key: name)", 422},
        SmpErrorCase{"UnknownMapDirective", R"({"spec":{"strategy":{"$patch":"frob"}}})",
                     R"(unknown patch type: "frob" in map: {"$patch":"frob"})", 422},
        SmpErrorCase{"MergeDirectiveInList",
                     R"({"spec":{"template":{"spec":{"containers":[{"$patch":"merge","name":"nginx"}]}}}})",
                     "merging lists cannot yet be specified in the patch", 422},
        SmpErrorCase{"RetainKeysMismatch",
                     R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","other":1}}})",
                     "patch content doesn't match retainKeys list", 422},
        SmpErrorCase{"RetainKeysNotAList", R"({"spec":{"strategy":{"$retainKeys":"type"}}})",
                     "invalid patch format of retainKeys", 400},
        SmpErrorCase{"SetElementOrderNotAList",
                     R"({"spec":{"template":{"spec":{"$setElementOrder/containers":{"name":"x"}}}}})",
                     "invalid patch format of setElementOrder list", 400},
        SmpErrorCase{"SetElementOrderMismatch",
                     R"({"metadata":{"$setElementOrder/finalizers":["x"],"finalizers":["y"]}})",
                     "The order in patch list:\n[\"y\"]\n doesn't match $setElementOrder list:\n[\"x\"]\n",
                     422},
        SmpErrorCase{"MixedElementTypes", R"({"metadata":{"finalizers":[["x"]]}})",
                     R"(list element types are not identical: [["a.example.com/f"],[["x"]]])", 422}),
    [](const testing::TestParamInfo<SmpErrorCase>& info) { return std::string(info.param.name); });

TEST(StrategicMergeKindsTest, ListOfListsIsRejected) {
  json original = json::parse(R"({"metadata":{"name":"a","finalizers":[]}})");
  auto result = ApplyStrategicMergePatch(original, json::parse(R"({"metadata":{"finalizers":[["x"]]}})"),
                                         TypeRef{"", "v1", "ConfigMap"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "lists of lists are not supported");
  EXPECT_EQ(result.status().http_status(), 422);
}

}  // namespace
}  // namespace kubesync::emulator
