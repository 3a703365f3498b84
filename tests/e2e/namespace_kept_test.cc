// Issue 10 item 5: a source Namespace that leaves the selection (its label removed) used to
// take its destination copy with it, and deleting a Namespace deletes everything inside:
// the users' own objects and other LiveSynchronizations' too. Now kubesync deletes a
// destination Namespace only when nothing in it is someone else's; otherwise it removes its
// marks, keeps it, logs a Warning and leaves a note for the controller's Event.
#include <gtest/gtest.h>

#include "kubesync/state/redis_client.h"
#include "kubesync/state/source_identity.h"
#include "kubesync/transform/mark.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::string NamespacePlan() {
  return "apiVersion: automation.astronetes.io/v1alpha1\n"
         "kind: LiveSynchronization\n"
         "metadata:\n"
         "  name: namespaces\n"
         "  namespace: dr-config\n"
         "spec:\n"
         "  plugin: kubernetes-objects-to-kubernetes\n"
         "  config:\n"
         "    sourceName: source\n"
         "    destinationName: destination\n"
         "    replication:\n"
         "      resources:\n"
         "        - version: v1\n"
         "          resource: namespaces\n"
         "          filters:\n"
         "            selector:\n"
         "              matchLabels:\n"
         "                dr: \"on\"\n"
         "        - version: v1\n"
         "          resource: configmaps\n"
         "          filters:\n"
         "            namespaceSelector:\n"
         "              matchLabels:\n"
         "                dr: \"on\"\n";
}

class NamespaceKeptTest : public PipelineTest {};

TEST_F(NamespaceKeptTest, UnselectedNamespaceWithUsersObjectsIsUnmarkedNotDeleted) {
  StartPipeline({.plan_yaml = NamespacePlan(), .log_level = "info"});
  for (const std::string ns : {"team", "solo"}) {
    E2E_ASSERT_OK(EnsureNamespace(src(), ns, {{"dr", "on"}}));
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef(ns), ConfigMapObject(ns, "app", {{"v", "1"}})));
  }
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  auto team = dst().Get(NamespaceRef("team"));
  ASSERT_TRUE(team.ok()) << team.status().ToString();
  ASSERT_TRUE(transform::IsManagedBy(*team, p().id())) << team->dump();

  // In the destination's "team": a user's object, and another LiveSynchronization's.
  E2E_ASSERT_OK(
      dst().Create(ConfigMapRef("team"), ConfigMapObject("team", "users-own", {{"owner", "user"}})));
  json other = ConfigMapObject("team", "other-ls", {{"owner", "other"}},
                               {{std::string(transform::kManagedByLabel), "dr-config.other"}});
  other["metadata"]["annotations"] = {
      {std::string(transform::kLiveSynchronizationAnnotation), "dr-config/other"}};
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("team"), other));

  // Both source namespaces leave the selection.
  E2E_ASSERT_OK(EnsureNamespace(src(), "team", {{"dr", "off"}}));
  E2E_ASSERT_OK(EnsureNamespace(src(), "solo", {{"dr", "off"}}));

  // "solo" held only what kubesync made: it goes. "team" stays, unmarked, with its objects.
  EXPECT_TRUE(p().WaitForDestinationAbsent(NamespaceRef("solo"), seconds(30)));
  json kept;
  EXPECT_TRUE(p().WaitForDestination(
      NamespaceRef("team"), [&](const json& ns) { return !transform::IsManagedBy(ns, p().id()); },
      seconds(30), &kept))
      << kept.dump();
  EXPECT_EQ(Label(kept, std::string(transform::kManagedByLabel)), "");
  EXPECT_EQ(Annotation(kept, std::string(transform::kLiveSynchronizationAnnotation)), "");
  EXPECT_FALSE(kept["metadata"].contains("deletionTimestamp")) << kept.dump();
  for (const std::string name : {"users-own", "other-ls"}) {
    auto theirs = dst().Get(ConfigMapRef("team", name));
    EXPECT_TRUE(theirs.ok()) << name << ": " << theirs.status().ToString();
  }
  // kubesync's own copy inside is removed as out of scope (its namespace left the selection).
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("team", "app"), seconds(30)));
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();

  const auto warnings = LogLines(p().Logs(Component::kSynchronizer), "namespace kept in cluster");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0]["level"], "warn");
  EXPECT_EQ(warnings[0]["destinationObject"]["name"], "team");
  EXPECT_EQ(warnings[0]["foreignObjects"], 2);
  auto redis = state::RedisClient::Connect({.url = p().redis().url()});
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  auto notes = state::SourceIdentityStore(redis->get()).Notes(p().id());
  ASSERT_TRUE(notes.ok()) << notes.status().ToString();
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ((*notes)[0].reason, "NamespaceKept");
  EXPECT_NE(
      (*notes)[0].message.find("Namespace \"team\" left the replication but was not deleted: it holds 2 "
                               "object(s)"),
      std::string::npos)
      << (*notes)[0].message;
}

}  // namespace
}  // namespace kubesync::e2e
