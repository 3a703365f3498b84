#include "kubesync/transform/patch.h"

#include <gtest/gtest.h>

#include <random>

#include "objects.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;
using plan::PatchOp;
using plan::PatchOperation;
namespace t = testing;

PatchOperation Replace(std::string path, json value) { return {PatchOp::kReplace, std::move(path), std::move(value)}; }
PatchOperation Add(std::string path, json value) { return {PatchOp::kAdd, std::move(path), std::move(value)}; }
PatchOperation Remove(std::string path) { return {PatchOp::kRemove, std::move(path), nullptr}; }

TEST(PatchTest, ReplaceReplicasRecordsOriginal) {
  auto out = ApplyTransformation(t::Deployment(), {Replace("/spec/replicas", 0)}, false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->object["spec"]["replicas"], 0);
  EXPECT_EQ(out->originals, (Originals{{"/spec/replicas", json(3)}}));
}

TEST(PatchTest, ContainerImageInArray) {
  auto out = ApplyTransformation(
      t::Deployment(), {Replace("/spec/template/spec/containers/0/image", "registry.dr.example.com/shop/web:1.4.2")},
      false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->object["spec"]["template"]["spec"]["containers"][0]["image"], "registry.dr.example.com/shop/web:1.4.2");
  EXPECT_EQ(out->object["spec"]["template"]["spec"]["containers"][1]["image"], "registry.example.com/shop/proxy:2.0");
  EXPECT_EQ(out->originals,
            (Originals{{"/spec/template/spec/containers/0/image", json("registry.example.com/shop/web:1.4.2")}}));
}

TEST(PatchTest, EscapedLabelKey) {
  auto out = ApplyTransformation(t::Deployment(),
                                 {Replace("/metadata/labels/app.kubernetes.io~1name", "web-dr"),
                                  Add("/metadata/annotations/a~0b~1c", "x")},
                                 false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->object["metadata"]["labels"]["app.kubernetes.io/name"], "web-dr");
  EXPECT_EQ(out->object["metadata"]["annotations"]["a~b/c"], "x");
  EXPECT_EQ(out->originals, (Originals{{"/metadata/labels/app.kubernetes.io~1name", json("web")},
                                       {"/metadata/annotations/a~0b~1c", std::nullopt}}));
}

TEST(PatchTest, AddCreatesOrOverwritesMembersButNotParents) {
  auto out = ApplyTransformation(t::Deployment(), {Add("/spec/paused", true), Add("/spec/replicas", 1)}, false);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->object["spec"]["paused"], true);
  EXPECT_EQ(out->object["spec"]["replicas"], 1);
  auto missing_parent = ApplyTransformation(t::Deployment(), {Add("/spec/nothere/x", 1)}, false);
  EXPECT_EQ(missing_parent.status(),
            InvalidArgumentError("operation 0 (add /spec/nothere/x): doc is missing path: /spec/nothere"));
}

TEST(PatchTest, AddIntoArrays) {
  auto out = ApplyTransformation(t::CustomResource(), {Add("/spec/tags/0", "z"), Add("/spec/tags/-", "end")}, false);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->object["spec"]["tags"], json({"z", "a", "b", "end"}));
  // Shifting ops record the whole array once, with its source value.
  EXPECT_EQ(out->originals, (Originals{{"/spec/tags", json({"a", "b"})}}));
  auto bad = ApplyTransformation(t::CustomResource(), {Add("/spec/tags/3", "z")}, false);
  EXPECT_EQ(bad.status(), InvalidArgumentError("operation 0 (add /spec/tags/3): index out of bounds: /spec/tags/3"));
  auto leading_zero = ApplyTransformation(t::CustomResource(), {Add("/spec/tags/01", "z")}, false);
  EXPECT_EQ(leading_zero.status(), InvalidArgumentError("operation 0 (add /spec/tags/01): invalid array index: 01"));
}

TEST(PatchTest, ReplaceMissingIsAnErrorLikeKubectl) {
  auto out = ApplyTransformation(t::Deployment(), {Replace("/spec/replicas", 0), Replace("/spec/paused", true)}, true);
  EXPECT_EQ(out.status(),
            InvalidArgumentError("operation 1 (replace /spec/paused): doc is missing key: /spec/paused"));
}

TEST(PatchTest, RemoveMissingFailsUnlessSkipped) {
  std::vector<PatchOperation> ops = {Remove("/spec/strategy"), Remove("/spec/paused"), Remove("/spec/x/y"),
                                     Remove("/spec/tags/9"), Replace("/spec/replicas", 0)};
  auto failed = ApplyTransformation(t::Deployment(), ops, false);
  EXPECT_EQ(failed.status(), InvalidArgumentError("operation 1 (remove /spec/paused): doc is missing key: /spec/paused"));
  auto skipped = ApplyTransformation(t::Deployment(), ops, true);
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_FALSE(skipped->object["spec"].contains("strategy"));
  EXPECT_EQ(skipped->object["spec"]["replicas"], 0);
  EXPECT_EQ(skipped->originals, (Originals{{"/spec/strategy", t::Deployment()["spec"]["strategy"]},
                                           {"/spec/replicas", json(3)}}));
}

TEST(PatchTest, RemoveFromArray) {
  auto out = ApplyTransformation(t::Deployment(), {Remove("/spec/template/spec/containers/1")}, false);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->object["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ(out->originals[0].path, "/spec/template/spec/containers");
  auto oob = ApplyTransformation(t::Deployment(), {Remove("/spec/template/spec/containers/2")}, false);
  EXPECT_EQ(oob.status(), InvalidArgumentError("operation 0 (remove /spec/template/spec/containers/2): index out of "
                                               "bounds: /spec/template/spec/containers/2"));
}

TEST(PatchTest, BadPointersAndRootAreRejected) {
  EXPECT_EQ(ApplyTransformation(t::Deployment(), {Replace("spec/replicas", 0)}, false).status(),
            InvalidArgumentError("operation 0 (replace spec/replicas): invalid JSON pointer: must start with '/': "
                                 "spec/replicas"));
  EXPECT_EQ(ApplyTransformation(t::Deployment(), {Replace("/spec/a~2", 0)}, false).status(),
            InvalidArgumentError("operation 0 (replace /spec/a~2): invalid JSON pointer: '~' must be followed by "
                                 "'0' or '1': /spec/a~2"));
  EXPECT_EQ(ApplyTransformation(t::Deployment(), {Replace("", json::object())}, false).status(),
            InvalidArgumentError("operation 0 (replace ): the whole object cannot be patched"));
  EXPECT_EQ(ApplyTransformation(t::Deployment(), {Replace("/spec/replicas/x", 0)}, false).status(),
            InvalidArgumentError("operation 0 (replace /spec/replicas/x): doc is missing path: /spec/replicas"));
}

TEST(PatchTest, InputIsNotModifiedOnSuccessOrError) {
  json source = t::Deployment();
  (void)ApplyTransformation(source, {Replace("/spec/replicas", 0), Remove("/nope")}, false);
  EXPECT_EQ(source, t::Deployment());
}

TEST(PatchTest, RepeatedAndNestedOpsRecordSourceValueOnce) {
  auto out = ApplyTransformation(t::CustomResource(),
                                 {Replace("/spec/size", 1), Replace("/spec/size", 2), Add("/spec/nested/deep/new", 1),
                                  Replace("/spec/nested", json::object()), Add("/spec/nested/deep", 5)},
                                 false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->originals, (Originals{{"/spec/size", json(3)},
                                       {"/spec/nested/deep/new", std::nullopt},
                                       {"/spec/nested", json::parse(R"({"deep":{"value":"x","new":1}})")}}));
  json restored = out->object;
  ASSERT_TRUE(Restore(restored, out->originals).ok());
  EXPECT_EQ(restored, t::CustomResource());
}

TEST(PatchTest, OriginalsWireRoundTrip) {
  Originals originals = {{"/spec/replicas", json(3)}, {"/spec/paused", std::nullopt}, {"/a~1b", json(nullptr)}};
  json wire = OriginalsToJson(originals);
  EXPECT_EQ(wire, json::parse(R"([{"path":"/spec/replicas","value":3},{"path":"/spec/paused","absent":true},
    {"path":"/a~1b","value":null}])"));
  auto back = OriginalsFromJson(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, originals);
  EXPECT_EQ(OriginalsFromJson(json::parse(R"([{"path":"/a","value":1},{"value":2}])")).status(),
            InvalidArgumentError("original-values[1].path: required string"));
  EXPECT_EQ(OriginalsFromJson(json::parse(R"([{"path":"/a"}])")).status(),
            InvalidArgumentError("original-values[0]: exactly one of value and absent=true is required"));
  EXPECT_EQ(OriginalsFromJson(json::parse(R"([{"path":""}])")).status(),
            InvalidArgumentError("original-values[0].path: must not be empty"));
  EXPECT_EQ(OriginalsFromJson(json::object()).status(), InvalidArgumentError("original-values: must be a JSON array"));
}

TEST(PatchTest, RestoreReportsUnreachableLocations) {
  json obj = json::parse(R"({"spec":{"replicas":"x","list":[]}})");
  EXPECT_EQ(Restore(obj, {{"/spec/replicas/a", json(1)}}),
            InvalidArgumentError("original-values[0] (/spec/replicas/a): cannot restore: not an object or array at "
                                 "/spec/replicas"));
  EXPECT_EQ(Restore(obj, {{"/spec/list/3", json(1)}}),
            InvalidArgumentError("original-values[0] (/spec/list/3): cannot restore: index out of bounds: /spec/list/3"));
  // Absent entries whose parent is gone are already restored; missing parents are created.
  ASSERT_TRUE(Restore(obj, {{"/spec/gone/x", std::nullopt}, {"/spec/new/deep", json(2)}}).ok());
  EXPECT_EQ(obj["spec"]["new"], json({{"deep", 2}}));
}

// Restore(Transform(x)) == x, over many random op sequences on realistic objects.
TEST(PatchTest, RandomOpsRoundTrip) {
  std::mt19937 rng(4242);
  const std::vector<std::string> paths = {
      "/spec/replicas", "/spec/paused", "/spec/strategy", "/spec/strategy/type", "/spec/template/spec/containers/0/image",
      "/spec/template/spec/containers/1", "/spec/template/spec/containers/0", "/spec/template/spec/containers/-",
      "/spec/template/spec/containers/0/env/0/value", "/spec/template/spec/containers/0/env/-",
      "/metadata/labels/app.kubernetes.io~1name", "/metadata/labels/new", "/metadata/annotations",
      "/spec/template/metadata/labels", "/spec/selector/matchLabels/x", "/spec/template/spec/nodeSelector"};
  const std::vector<json> values = {0, 5, "v", json::object(), json::array({1, 2}), nullptr, true,
                                    json::parse(R"({"k":{"n":1}})")};
  int applied_runs = 0;
  for (int run = 0; run < 3000; ++run) {
    std::vector<PatchOperation> ops;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      PatchOp kind = static_cast<PatchOp>(rng() % 3);
      ops.push_back({kind, paths[rng() % paths.size()], kind == PatchOp::kRemove ? json() : values[rng() % values.size()]});
    }
    json source = t::Deployment();
    auto out = ApplyTransformation(source, ops, /*skip_if_not_found_on_delete=*/rng() % 2 == 0);
    if (!out.ok()) {
      continue;
    }
    ++applied_runs;
    // Through the wire form, as the restorer sees it.
    auto originals = OriginalsFromJson(OriginalsToJson(out->originals));
    ASSERT_TRUE(originals.ok());
    json restored = out->object;
    Status status = Restore(restored, *originals);
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_EQ(restored, source) << "run " << run << " ops " << OriginalsToJson(out->originals).dump();
  }
  EXPECT_GT(applied_runs, 500);
}

}  // namespace
}  // namespace kubesync::transform
