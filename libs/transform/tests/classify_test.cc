#include "kubesync/transform/classify.h"

#include <gtest/gtest.h>

#include "objects.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;
namespace t = testing;

TEST(ClassifyTest, OrdinaryObjectsAreCopied) {
  EXPECT_TRUE(Classify(t::Deployment(), {"apps", "v1", "deployments"}).copy());
  EXPECT_TRUE(Classify(t::CustomResource(), {"example.com", "v1", "widgets"}).copy());
  EXPECT_TRUE(Classify(json(3), {"", "v1", "pods"}).copy());
  json opaque = json::parse(R"({"type":"Opaque","metadata":{"name":"s"},"data":{"k":"dg=="}})");
  EXPECT_TRUE(Classify(opaque, {"", "v1", "secrets"}).copy());
}

TEST(ClassifyTest, ServiceAccountTokenSecretIsSkipped) {
  Decision d = Classify(t::ServiceAccountTokenSecret(), {"", "v1", "secrets"});
  EXPECT_EQ(d.skip, SkipReason::kServiceAccountToken);
  EXPECT_EQ(SkipReasonName(d.skip), "service-account-token");
  EXPECT_EQ(d.detail, "service account builder");
  EXPECT_EQ(d.detail.find("ZXlK"), std::string::npos);  // never token data
}

TEST(ClassifyTest, ControllerOwnedPodIsSkippedUnlessAsked) {
  Decision d = Classify(t::PodOwnedByReplicaSet(), {"", "v1", "pods"});
  EXPECT_EQ(d.skip, SkipReason::kOwnedByController);
  EXPECT_EQ(d.detail, "controller ReplicaSet web-5d8f7c9b6");
  EXPECT_TRUE(Classify(t::PodOwnedByReplicaSet(), {"", "v1", "pods"}, {.copy_controller_owned = true}).copy());
}

TEST(ClassifyTest, NonControllerOwnerDoesNotSkip) {
  json pod = t::PodOwnedByReplicaSet();
  pod["metadata"]["ownerReferences"][0]["controller"] = false;
  EXPECT_TRUE(Classify(pod, {"", "v1", "pods"}).copy());
  // A controller-owned ConfigMap is not recreated by a built-in controller: copied.
  json cm = json::parse(R"({"metadata":{"name":"c","ownerReferences":[{"kind":"X","name":"x","controller":true}]}})");
  EXPECT_TRUE(Classify(cm, {"", "v1", "configmaps"}).copy());
}

TEST(ClassifyTest, OwnedReplicaSetAndJobAreSkipped) {
  json rs = json::parse(R"({"metadata":{"name":"web-5d8f","ownerReferences":[{"apiVersion":"apps/v1",
    "kind":"Deployment","name":"web","uid":"u","controller":true}]}})");
  EXPECT_EQ(Classify(rs, {"apps", "v1", "replicasets"}).skip, SkipReason::kOwnedByController);
  json job = json::parse(R"({"metadata":{"name":"nightly-28473","ownerReferences":[{"apiVersion":"batch/v1",
    "kind":"CronJob","name":"nightly","uid":"u","controller":true}]}})");
  EXPECT_EQ(Classify(job, {"batch", "v1", "jobs"}).skip, SkipReason::kOwnedByController);
  EXPECT_TRUE(Classify(t::JobWithGeneratedSelector(), {"batch", "v1", "jobs"}).copy());
}

TEST(ClassifyTest, MirrorPodsAndManagedEndpointsAreSkipped) {
  json mirror = json::parse(R"({"metadata":{"name":"etcd-node-a","annotations":{"kubernetes.io/config.mirror":"abc"}}})");
  EXPECT_EQ(Classify(mirror, {"", "v1", "pods"}).skip, SkipReason::kMirrorPod);
  json ep = json::parse(R"({"metadata":{"name":"web","labels":{"endpointslice.kubernetes.io/skip-mirror":"true"}}})");
  EXPECT_EQ(Classify(ep, {"", "v1", "endpoints"}).skip, SkipReason::kControllerManagedEndpoints);
  json manual = json::parse(R"({"metadata":{"name":"external-db"},"subsets":[]})");
  EXPECT_TRUE(Classify(manual, {"", "v1", "endpoints"}).copy());
}

TEST(ClassifyTest, ObjectsBeingDeletedAreSkipped) {
  json cr = t::CustomResource();
  cr["metadata"]["deletionTimestamp"] = "2024-02-09T15:00:00Z";
  Decision d = Classify(cr, {"example.com", "v1", "widgets"});
  EXPECT_EQ(d.skip, SkipReason::kBeingDeleted);
  EXPECT_EQ(SkipReasonName(d.skip), "being-deleted");
}

TEST(PvcNeedsUpdateTest, OnlyResourcesAndOwnMetadataCount) {
  json old_dest = t::BoundPvc();
  json desired = t::BoundPvc();
  desired["spec"].erase("volumeName");
  desired["metadata"]["annotations"] = {{"backup", "daily"}, {"kubesync.io/content-hash", "new"},
                                        {"kubesync.io/source-resource-version", "999"}};
  EXPECT_FALSE(PvcNeedsUpdate(old_dest, desired));
  desired["spec"]["storageClassName"] = "changed-but-immutable";
  EXPECT_FALSE(PvcNeedsUpdate(old_dest, desired));
  json bigger = desired;
  bigger["spec"]["resources"]["requests"]["storage"] = "5Gi";
  EXPECT_TRUE(PvcNeedsUpdate(old_dest, bigger));
  json relabeled = desired;
  relabeled["metadata"]["labels"] = {{"tier", "db"}};
  EXPECT_TRUE(PvcNeedsUpdate(old_dest, relabeled));
}

}  // namespace
}  // namespace kubesync::transform
