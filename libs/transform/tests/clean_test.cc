#include "kubesync/transform/clean.h"

#include <gtest/gtest.h>

#include "objects.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;
namespace t = testing;

const plan::Gvr kDeployments{"apps", "v1", "deployments"};
const plan::Gvr kServices{"", "v1", "services"};
const plan::Gvr kPvcs{"", "v1", "persistentvolumeclaims"};
const plan::Gvr kPvs{"", "v1", "persistentvolumes"};
const plan::Gvr kJobs{"batch", "v1", "jobs"};
const plan::Gvr kPods{"", "v1", "pods"};

TEST(CleanTest, DeploymentLosesServerFieldsAndKeepsIntent) {
  json source = t::Deployment();
  json out = Clean(source, kDeployments);
  const json& meta = out["metadata"];
  for (const char* key : {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"}) {
    EXPECT_FALSE(meta.contains(key)) << key;
  }
  EXPECT_FALSE(out.contains("status"));
  EXPECT_FALSE(meta["annotations"].contains("deployment.kubernetes.io/revision"));
  EXPECT_EQ(meta["annotations"]["team"], "storefront");
  EXPECT_TRUE(meta["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_EQ(meta["name"], "web");
  EXPECT_EQ(meta["namespace"], "shop");
  EXPECT_EQ(meta["labels"], source["metadata"]["labels"]);
  EXPECT_EQ(out["spec"], source["spec"]);
  EXPECT_EQ(out["kind"], "Deployment");
  EXPECT_EQ(out["apiVersion"], "apps/v1");
}

TEST(CleanTest, SourceIsNotModifiedAndCleanIsIdempotent) {
  json source = t::Deployment();
  json copy = source;
  json once = Clean(source, kDeployments);
  EXPECT_EQ(source, copy);
  EXPECT_EQ(Clean(once, kDeployments), once);
}

TEST(CleanTest, OwnerReferencesFinalizersAndDeletionFieldsGo) {
  json cr = t::CustomResource();
  cr["metadata"]["ownerReferences"] = {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "o"}, {"uid", "u"}}};
  cr["metadata"]["deletionTimestamp"] = "2024-02-09T15:00:00Z";
  cr["metadata"]["deletionGracePeriodSeconds"] = 0;
  cr["metadata"]["selfLink"] = "/apis/example.com/v1/namespaces/shop/widgets/w1";
  json out = Clean(cr, {"example.com", "v1", "widgets"});
  EXPECT_EQ(out["metadata"], json::parse(R"({"name":"w1","namespace":"shop","labels":{"app":"w"}})"));
  EXPECT_EQ(out["spec"], cr["spec"]);
  EXPECT_FALSE(out.contains("status"));
}

TEST(CleanTest, KubesyncMarksOfAChainedCopyAreDropped) {
  json cr = t::CustomResource();
  cr["metadata"]["labels"]["kubesync.io/managed-by"] = "a.b";
  cr["metadata"]["annotations"] = {{"kubesync.io/original-values", "[]"}, {"kubesync.io/source-uid", "x"}};
  json out = Clean(cr, {"example.com", "v1", "widgets"});
  EXPECT_EQ(out["metadata"]["labels"], json({{"app", "w"}}));
  EXPECT_FALSE(out["metadata"].contains("annotations"));
}

TEST(CleanTest, ClusterIpServiceLosesAllocatedIps) {
  json out = Clean(t::Service("ClusterIP"), kServices);
  EXPECT_FALSE(out["spec"].contains("clusterIP"));
  EXPECT_FALSE(out["spec"].contains("clusterIPs"));
  EXPECT_EQ(out["spec"]["ports"][0], json::parse(R"({"name":"http","port":80,"protocol":"TCP","targetPort":8080})"));
  EXPECT_EQ(out["spec"]["ipFamilies"], json({"IPv4"}));
}

TEST(CleanTest, HeadlessServiceKeepsNone) {
  json out = Clean(t::HeadlessService(), kServices);
  EXPECT_EQ(out["spec"]["clusterIP"], "None");
  EXPECT_EQ(out["spec"]["clusterIPs"], json({"None"}));
}

TEST(CleanTest, AllocatedNodePortIsDropped) {
  json out = Clean(t::Service("NodePort"), kServices);
  EXPECT_FALSE(out["spec"]["ports"][0].contains("nodePort"));
  EXPECT_EQ(out["spec"]["type"], "NodePort");
}

TEST(CleanTest, NodePortFromLastAppliedIsKept) {
  json svc = t::Service("NodePort");
  svc["spec"]["ports"].push_back({{"name", "admin"}, {"port", 9000}, {"protocol", "TCP"}, {"nodePort", 31999}});
  svc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
      R"({"spec":{"type":"NodePort","ports":[{"name":"http","port":80,"nodePort":31234},{"name":"admin","port":9000}]}})";
  json out = Clean(svc, kServices);
  EXPECT_EQ(out["spec"]["ports"][0]["nodePort"], 31234);
  EXPECT_FALSE(out["spec"]["ports"][1].contains("nodePort"));
}

TEST(CleanTest, NodePortOwnedInManagedFieldsIsKept) {
  json svc = t::Service("NodePort");
  svc["metadata"]["managedFields"] = json::parse(R"([{"manager":"kubectl","operation":"Apply",
    "fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":
    {".":{},"f:nodePort":{},"f:port":{}}}}}}])");
  json out = Clean(svc, kServices);
  EXPECT_EQ(out["spec"]["ports"][0]["nodePort"], 31234);
  EXPECT_FALSE(out["metadata"].contains("managedFields"));
}

TEST(CleanTest, KeepNodePortsOptionKeepsAllocatedOnes) {
  json out = Clean(t::Service("LoadBalancer"), kServices, {.keep_node_ports = true});
  EXPECT_EQ(out["spec"]["ports"][0]["nodePort"], 31234);
  EXPECT_EQ(out["spec"]["healthCheckNodePort"], 32100);
  EXPECT_FALSE(out["spec"].contains("clusterIP"));
}

TEST(CleanTest, LoadBalancerLosesHealthCheckNodePortAndStatus) {
  json out = Clean(t::Service("LoadBalancer"), kServices);
  EXPECT_FALSE(out["spec"].contains("healthCheckNodePort"));
  EXPECT_FALSE(out["spec"]["ports"][0].contains("nodePort"));
  EXPECT_EQ(out["spec"]["externalTrafficPolicy"], "Local");
  EXPECT_FALSE(out.contains("status"));
}

TEST(CleanTest, BoundPvcLosesControllerBindingButKeepsClaimIntent) {
  json out = Clean(t::BoundPvc(), kPvcs);
  EXPECT_FALSE(out["spec"].contains("volumeName"));
  EXPECT_EQ(out["spec"]["resources"], json::parse(R"({"requests":{"storage":"1Gi"}})"));
  EXPECT_EQ(out["spec"]["storageClassName"], "local-path");
  EXPECT_EQ(out["metadata"]["annotations"], json({{"backup", "daily"}}));
  EXPECT_FALSE(out["metadata"].contains("finalizers"));
}

TEST(CleanTest, PreBoundPvcKeepsVolumeName) {
  json pvc = t::BoundPvc();
  pvc["metadata"]["annotations"].erase("pv.kubernetes.io/bound-by-controller");
  json out = Clean(pvc, kPvcs);
  EXPECT_EQ(out["spec"]["volumeName"], "pvc-11111111-2222-3333-4444-555555555555");
}

TEST(CleanTest, PvBoundByControllerLosesClaimRef) {
  json out = Clean(t::BoundPv(), kPvs);
  EXPECT_FALSE(out["spec"].contains("claimRef"));
  EXPECT_EQ(out["metadata"]["annotations"], json({{"pv.kubernetes.io/provisioned-by", "rancher.io/local-path"}}));
  EXPECT_EQ(out["spec"]["hostPath"]["path"], "/var/local-path/data");
}

TEST(CleanTest, PreBoundPvKeepsClaimNameButNotSourceIdentity) {
  json pv = t::BoundPv();
  pv["metadata"]["annotations"].erase("pv.kubernetes.io/bound-by-controller");
  json out = Clean(pv, kPvs);
  EXPECT_EQ(out["spec"]["claimRef"], json::parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "name":"data","namespace":"shop"})"));
}

TEST(CleanTest, JobLosesGeneratedSelectorAndLabels) {
  json out = Clean(t::JobWithGeneratedSelector(), kJobs);
  EXPECT_FALSE(out["spec"].contains("selector"));
  EXPECT_EQ(out["spec"]["template"]["metadata"]["labels"], json({{"app", "migrate"}}));
  EXPECT_EQ(out["metadata"]["labels"], json({{"app", "migrate"}}));
  EXPECT_FALSE(out["metadata"].contains("annotations"));
}

TEST(CleanTest, JobWithManualSelectorIsKept) {
  json job = t::JobWithGeneratedSelector();
  job["spec"]["manualSelector"] = true;
  json out = Clean(job, kJobs);
  EXPECT_EQ(out["spec"]["selector"], job["spec"]["selector"]);
  EXPECT_EQ(out["spec"]["template"], job["spec"]["template"]);
}

TEST(CleanTest, PodLosesNodeTokenVolumesAndPriority) {
  json out = Clean(t::PodOwnedByReplicaSet(), kPods);
  EXPECT_FALSE(out["spec"].contains("nodeName"));
  EXPECT_FALSE(out["spec"].contains("priority"));
  EXPECT_EQ(out["spec"]["volumes"], json::array());
  EXPECT_EQ(out["spec"]["containers"][0]["volumeMounts"], json::array());
  EXPECT_FALSE(out["metadata"].contains("ownerReferences"));
}

TEST(CleanTest, PodKeepsItsOwnVolumes) {
  json pod = t::PodOwnedByReplicaSet();
  pod["spec"]["volumes"].push_back({{"name", "data"}, {"emptyDir", json::object()}});
  pod["spec"]["volumes"].push_back({{"name", "default-token-abcde"}, {"secret", {{"secretName", "default-token-abcde"}}}});
  pod["spec"]["containers"][0]["volumeMounts"].push_back({{"name", "data"}, {"mountPath", "/data"}});
  json out = Clean(pod, kPods);
  EXPECT_EQ(out["spec"]["volumes"], json::parse(R"([{"name":"data","emptyDir":{}}])"));
  EXPECT_EQ(out["spec"]["containers"][0]["volumeMounts"], json::parse(R"([{"name":"data","mountPath":"/data"}])"));
}

TEST(CleanTest, ServiceAccountLosesTokenSecretReferences) {
  json sa = json::parse(R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"shop",
    "uid":"u"},"secrets":[{"name":"builder-token-x7k2p"},{"name":"registry-creds"}],
    "imagePullSecrets":[{"name":"registry-creds"}]})");
  json out = Clean(sa, {"", "v1", "serviceaccounts"});
  EXPECT_EQ(out["secrets"], json::parse(R"([{"name":"registry-creds"}])"));
  EXPECT_EQ(out["imagePullSecrets"], sa["imagePullSecrets"]);
  sa["secrets"] = json::parse(R"([{"name":"builder-token-x7k2p"}])");
  EXPECT_FALSE(Clean(sa, {"", "v1", "serviceaccounts"}).contains("secrets"));
}

TEST(CleanTest, NamespaceLosesServerLabelAndFinalizers) {
  json ns = json::parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","uid":"u",
    "labels":{"kubernetes.io/metadata.name":"shop","disaster-recovery":"enabled"}},
    "spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}})");
  json out = Clean(ns, {"", "v1", "namespaces"});
  EXPECT_EQ(out, json::parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop",
    "labels":{"disaster-recovery":"enabled"}}})"));
}

TEST(CleanTest, NonObjectsAndOddShapesPassThrough) {
  EXPECT_EQ(Clean(json(5), kServices), json(5));
  EXPECT_EQ(Clean(json::array(), kServices), json::array());
  json odd = json::parse(R"({"metadata":"x","spec":[1],"status":3})");
  EXPECT_EQ(Clean(odd, kServices), json::parse(R"({"metadata":"x","spec":[1]})"));
}

TEST(ForUpdateTest, ServiceKeepsDestinationAllocations) {
  json desired = Clean(t::Service("LoadBalancer"), kServices);
  json existing = t::Service("LoadBalancer");
  existing["spec"]["clusterIP"] = "10.0.0.9";
  existing["spec"]["clusterIPs"] = {"10.0.0.9"};
  existing["spec"]["ports"][0]["nodePort"] = 30001;
  existing["metadata"]["resourceVersion"] = "55";
  json out = ForUpdate(desired, existing, kServices);
  EXPECT_EQ(out["spec"]["clusterIP"], "10.0.0.9");
  EXPECT_EQ(out["spec"]["ports"][0]["nodePort"], 30001);
  EXPECT_EQ(out["spec"]["healthCheckNodePort"], 32100);
  EXPECT_EQ(out["metadata"]["resourceVersion"], "55");
}

TEST(ForUpdateTest, PvcTakesOnlyResourcesFromDesired) {
  json existing = t::BoundPvc();
  json desired = Clean(existing, kPvcs);
  desired["spec"]["resources"]["requests"]["storage"] = "2Gi";
  desired["spec"]["storageClassName"] = "other";
  json out = ForUpdate(desired, existing, kPvcs);
  json expected_spec = existing["spec"];
  expected_spec["resources"]["requests"]["storage"] = "2Gi";
  EXPECT_EQ(out["spec"], expected_spec);
  EXPECT_EQ(out["metadata"]["finalizers"], json({"kubernetes.io/pvc-protection"}));
  EXPECT_EQ(out["metadata"]["resourceVersion"], "900");
}

TEST(ForUpdateTest, PvJobAndPodKeepBindings) {
  json pv = ForUpdate(Clean(t::BoundPv(), kPvs), t::BoundPv(), kPvs);
  EXPECT_EQ(pv["spec"]["claimRef"], t::BoundPv()["spec"]["claimRef"]);
  json job = ForUpdate(Clean(t::JobWithGeneratedSelector(), kJobs), t::JobWithGeneratedSelector(), kJobs);
  EXPECT_EQ(job["spec"]["selector"], t::JobWithGeneratedSelector()["spec"]["selector"]);
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"],
            t::JobWithGeneratedSelector()["spec"]["template"]["metadata"]["labels"]);
  json pod = ForUpdate(Clean(t::PodOwnedByReplicaSet(), kPods), t::PodOwnedByReplicaSet(), kPods);
  EXPECT_EQ(pod["spec"]["nodeName"], "node-a");
}

}  // namespace
}  // namespace kubesync::transform
