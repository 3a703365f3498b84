// DestinationContentHash / Drifted: what the destination's server adds to a copy is not
// drift, what a person changes is.
#include "kubesync/transform/drift.h"

#include <gtest/gtest.h>

#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"
#include "objects.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;
namespace t = testing;

const plan::Gvr kDeployments{"apps", "v1", "deployments"};
const MarkInfo kInfo{"dr", "shop-live", "6b2d3f5e-0d1c-4a7e-9f0a-2b1c3d4e5f60", "184467"};

plan::Patch ScaleToZero() {
  plan::Patch patch;
  patch.operations = {{plan::PatchOp::kReplace, "/spec/replicas", 0}};
  return patch;
}

// What a destination API server returns for a copy it stored: its own identity,
// versions, managedFields, a status and a controller's annotation.
json AsStored(json desired) {
  json& meta = desired["metadata"];
  meta["uid"] = "d1e2f3a4-0000-4000-8000-000000000001";
  meta["resourceVersion"] = "77";
  meta["creationTimestamp"] = "2026-12-07T18:00:00Z";
  meta["generation"] = 1;
  meta["managedFields"] = json::array({{{"manager", "kubesync-synchronizer"}, {"operation", "Update"}}});
  meta["annotations"]["deployment.kubernetes.io/revision"] = "1";
  desired["status"] = {{"observedGeneration", 1}};
  return desired;
}

TEST(DriftTest, AStoredCopyHashesAsWritten) {
  auto desired = PrepareForDestination(t::Deployment(), kDeployments, ScaleToZero(), kInfo);
  ASSERT_TRUE(desired.ok()) << desired.status().ToString();
  const json stored = AsStored(desired->object);
  EXPECT_EQ(DestinationContentHash(stored, kDeployments), desired->content_hash);
  EXPECT_EQ(DestinationContentHash(stored, kDeployments), RecordedContentHash(stored));
  EXPECT_FALSE(Drifted(stored, desired->object, desired->content_hash, kDeployments));
}

TEST(DriftTest, AHandEditIsDrift) {
  auto desired = PrepareForDestination(t::Deployment(), kDeployments, ScaleToZero(), kInfo);
  ASSERT_TRUE(desired.ok());
  json edited = AsStored(desired->object);
  edited["spec"]["replicas"] = 3;  // someone scaled the standby up by hand
  EXPECT_NE(DestinationContentHash(edited, kDeployments), desired->content_hash);
  EXPECT_TRUE(Drifted(edited, desired->object, desired->content_hash, kDeployments));

  json relabelled = AsStored(desired->object);
  relabelled["metadata"]["labels"]["extra"] = "by-hand";
  EXPECT_TRUE(Drifted(relabelled, desired->object, desired->content_hash, kDeployments));

  // The marks are part of the content: a copy whose source uid was changed is drift too.
  json re_marked = AsStored(desired->object);
  re_marked["metadata"]["annotations"][std::string(kSourceUidAnnotation)] = "another";
  EXPECT_TRUE(Drifted(re_marked, desired->object, desired->content_hash, kDeployments));
}

TEST(DriftTest, NeverThrowsOnOddJson) {
  EXPECT_FALSE(DestinationContentHash(json(3), kDeployments).empty());
  EXPECT_FALSE(DestinationContentHash(json{{"metadata", "x"}}, kDeployments).empty());
  EXPECT_FALSE(DestinationContentHash(json{{"metadata", {{"labels", 1}, {"annotations", json::array()}}}},
                                      kDeployments)
                   .empty());
}

}  // namespace
}  // namespace kubesync::transform
