#include "kubesync/transform/pipeline.h"

#include <gtest/gtest.h>

#include "objects.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;
namespace t = testing;

const plan::Gvr kDeployments{"apps", "v1", "deployments"};
const MarkInfo kInfo{"dr", "shop-live", "6b2d3f5e-0d1c-4a7e-9f0a-2b1c3d4e5f60", "184467"};

plan::Patch ScaleToZero() {
  plan::Patch patch;
  patch.operations = {{plan::PatchOp::kReplace, "/spec/replicas", 0}, {plan::PatchOp::kRemove, "/spec/strategy", nullptr}};
  return patch;
}

TEST(PipelineTest, DocumentedSampleEndToEnd) {
  auto out = PrepareForDestination(t::Deployment(), kDeployments, ScaleToZero(), kInfo);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->object["spec"]["replicas"], 0);
  EXPECT_FALSE(out->object["spec"].contains("strategy"));
  EXPECT_FALSE(out->object.contains("status"));
  EXPECT_EQ(out->content_hash, ContentHash(out->object));
  EXPECT_TRUE(IsManagedBy(out->object, "dr.shop-live"));

  // Recovery from the destination object alone gives back the source's values.
  json recovered = out->object;
  ASSERT_TRUE(RestoreFromAnnotation(recovered).ok());
  EXPECT_EQ(recovered["spec"], t::Deployment()["spec"]);
}

TEST(PipelineTest, UnchangedSourceGivesSameHashStatusOnlyChangeToo) {
  auto first = PrepareForDestination(t::Deployment(), kDeployments, ScaleToZero(), kInfo);
  json status_write = t::Deployment();
  status_write["status"]["readyReplicas"] = 2;
  status_write["metadata"]["resourceVersion"] = "184999";
  MarkInfo later = kInfo;
  later.source_resource_version = "184999";
  auto second = PrepareForDestination(status_write, kDeployments, ScaleToZero(), later);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->content_hash, second->content_hash);

  json scaled = t::Deployment();
  scaled["spec"]["replicas"] = 5;  // masked by the transformation, but the original changes
  auto third = PrepareForDestination(scaled, kDeployments, ScaleToZero(), kInfo);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(first->content_hash, third->content_hash);
  EXPECT_EQ(third->object["spec"]["replicas"], 0);
}

TEST(PipelineTest, TransformationErrorNamesTheOperation) {
  plan::Patch patch;
  patch.operations = {{plan::PatchOp::kReplace, "/spec/replicas", 0}, {plan::PatchOp::kRemove, "/spec/paused", nullptr}};
  auto out = PrepareForDestination(t::Deployment(), kDeployments, patch, kInfo);
  EXPECT_EQ(out.status(), InvalidArgumentError("operation 1 (remove /spec/paused): doc is missing key: /spec/paused"));
  patch.skip_if_not_found_on_delete = true;
  EXPECT_TRUE(PrepareForDestination(t::Deployment(), kDeployments, patch, kInfo).ok());
}

TEST(PipelineTest, PatchCannotTouchWhatCleanRemoved) {
  plan::Patch patch;
  patch.operations = {{plan::PatchOp::kReplace, "/status/replicas", 0}};
  EXPECT_EQ(PrepareForDestination(t::Deployment(), kDeployments, patch, kInfo).status(),
            InvalidArgumentError("operation 0 (replace /status/replicas): doc is missing path: /status"));
}

}  // namespace
}  // namespace kubesync::transform
