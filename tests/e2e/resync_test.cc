// Idempotence (DESIGN.md): re-emitting every object unchanged (the listener's periodic
// resync, every 2 s here) makes zero destination writes, and the pipeline never writes
// to the source. A real change between resyncs is still copied, with exactly one write.
#include <gtest/gtest.h>

#include <map>

#include "configmap_plan.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::map<std::string, std::string> ResourceVersions(kube::Client& client) {
  std::map<std::string, std::string> out;
  for (const auto& ref : {ConfigMapRef(""), SecretRef("")}) {
    auto list = client.List(ref);
    if (list.ok()) {
      for (const auto& o : list->items) {
        out[ref.resource + "/" + o["metadata"].value("namespace", "") + "/" + o["metadata"].value("name", "")] =
            o["metadata"].value("resourceVersion", "");
      }
    }
  }
  return out;
}

class ResyncTest : public PipelineTest {};

TEST_F(ResyncTest, ResyncOfUnchangedObjectsWritesNothing) {
  StartPipeline({.plan_yaml = ConfigMapPlan("resync", "      resyncPeriod: 2s\n"), .log_level = "info",
                 .start_components = false});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  for (int i = 0; i < 30; ++i) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"),
                         ConfigMapObject("app", "cm-" + std::to_string(i), {{"i", std::to_string(i)}}, {{"dr", "on"}})));
  }
  for (int i = 0; i < 5; ++i) {
    E2E_ASSERT_OK(Upsert(src(), SecretRef("app"), SecretObject("app", "s-" + std::to_string(i), {{"k", "v"}})));
  }
  E2E_ASSERT_OK(p().StartComponents());
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  ASSERT_EQ(diff.in_scope, 35u);
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  E2E_ASSERT_OK(p().ResetCounters());
  const auto versions_before = ResourceVersions(dst());
  auto seq0 = p().StreamLastSequence();
  ASSERT_TRUE(seq0.ok()) << seq0.status().ToString();
  // At least two resync rounds pass through the stream (events, and what the processor
  // forwards), then everything is consumed.
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        auto seq = p().StreamLastSequence();
        return seq.ok() && *seq >= *seq0 + 2 * diff.in_scope;
      },
      seconds(15)))
      << "no resync went through the stream (resyncPeriod 2s)";
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  auto writes = p().PipelineWrites();
  ASSERT_TRUE(writes.ok()) << writes.status().ToString();
  EXPECT_EQ(writes->destination_by_pipeline, 0) << "unchanged objects were written again";
  EXPECT_EQ(writes->source_by_pipeline, 0) << "the pipeline wrote to the source";
  EXPECT_EQ(ResourceVersions(dst()), versions_before);

  // A real change still goes through, with exactly one write.
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "cm-7"), [](json& cm) { cm["data"]["i"] = "changed"; }));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "cm-7"),
                                     [](const json& cm) { return cm["data"].value("i", "") == "changed"; }));
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));
  writes = p().PipelineWrites();
  ASSERT_TRUE(writes.ok());
  EXPECT_EQ(writes->destination_by_pipeline, 1);
  EXPECT_EQ(writes->source_by_pipeline, 0);
}

}  // namespace
}  // namespace kubesync::e2e
