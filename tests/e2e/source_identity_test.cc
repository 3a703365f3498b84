// Issue 10 item 4: a source rebuilt behind the same address (new etcd: resourceVersions
// start again, a new kube-system uid) must not leave the standby stale. The listener
// notices the new identity, starts a new source epoch, and every object converges: changed
// ones, unchanged ones (their marking names the new source), deleted ones, new ones; the
// user's own objects stay. A Warning note is left in Redis for the controller's Event.
#include "kubesync/state/source_identity.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "configmap_plan.h"
#include "kubesync/state/redis_client.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class SourceRebuiltTest : public PipelineTest {};

uint64_t Rv(const json& object) {
  return std::stoull(object["metadata"]["resourceVersion"].get<std::string>());
}

TEST_F(SourceRebuiltTest, RebuiltSourceWithLowerResourceVersionsConverges) {
  StartPipeline({.plan_yaml = ConfigMapPlan("identity"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(dst(), "app"));
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), ConfigMapObject("app", "users-own", {{"owner", "user"}})));
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  // Push the old source's revision counter well above what the new one will reach.
  for (int i = 0; i < 200; ++i) {
    E2E_ASSERT_OK(
        Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "filler", {{"i", std::to_string(i)}})));
  }
  for (int i = 0; i < 10; ++i) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"),
                         ConfigMapObject("app", "cm-" + std::to_string(i), {{"v", "1"}}, {{"dr", "on"}})));
  }
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  ASSERT_EQ(diff.in_scope, 10u);
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  // The source is rebuilt: same address, same credentials, empty etcd.
  p().source_cluster().Stop();
  std::filesystem::remove_all(p().source_cluster().work_dir() / "data");
  E2E_ASSERT_OK(p().source_cluster().Restart());
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  for (int i = 0; i < 5; ++i) {  // changed
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"),
                         ConfigMapObject("app", "cm-" + std::to_string(i), {{"v", "2"}}, {{"dr", "on"}})));
  }
  // Unchanged content, and a new object; cm-6..cm-9 are gone from the new source.
  E2E_ASSERT_OK(
      Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "cm-5", {{"v", "1"}}, {{"dr", "on"}})));
  auto fresh =
      Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "cm-new", {{"v", "1"}}, {{"dr", "on"}}));
  E2E_ASSERT_OK(fresh);
  ASSERT_LT(Rv(*fresh), 100u) << "the rebuilt source should count from the start again";

  // The objects gone with the old source are the reconciler's to find (subtractive resync):
  // one pass once the pipeline works on the new source.
  ASSERT_TRUE(testsupport::WaitFor(
      [&] { return !LogLines(p().Logs(Component::kProcessor), "source cluster changed").empty(); }, seconds(30)));
  E2E_ASSERT_OK(p().RunReconcilerOnce());
  ASSERT_TRUE(p().WaitForConvergence(seconds(60), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 7u);
  for (int i = 6; i < 10; ++i) {
    EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", "cm-" + std::to_string(i)), seconds(5)))
        << i;
  }
  // Later changes keep flowing (nothing is "stale" against the old source's versions).
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "cm-0"), [](json& cm) { cm["data"]["v"] = "3"; }));
  EXPECT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "cm-0"), [](const json& cm) { return cm["data"].value("v", "") == "3"; },
      seconds(30)));
  auto theirs = dst().Get(ConfigMapRef("app", "users-own"));
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  EXPECT_EQ((*theirs)["data"]["owner"], "user");

  // Said in the log and left for the controller to turn into an Event.
  EXPECT_EQ(LogLines(p().Logs(Component::kEventsListener), "source cluster changed").size(), 1u);
  auto redis = state::RedisClient::Connect({.url = p().redis().url()});
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  state::SourceIdentityStore identities(redis->get());
  auto notes = identities.Notes(p().id());
  ASSERT_TRUE(notes.ok()) << notes.status().ToString();
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ((*notes)[0].reason, "SourceClusterChanged");
  EXPECT_EQ((*notes)[0].type, "Warning");
  EXPECT_NE((*notes)[0].message.find("The source cluster changed from " + p().source_cluster().url()),
            std::string::npos)
      << (*notes)[0].message;
}

}  // namespace
}  // namespace kubesync::e2e
