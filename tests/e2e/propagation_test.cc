// Changes flow through: updates and deletes, an object's own labels and its namespace's
// labels moving it in and out of scope, namespace creation, and the one rule above all:
// kubesync never modifies or deletes a destination object it did not create.
#include <gtest/gtest.h>

#include "kubesync/transform/mark.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr char kPlan[] = R"(apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata:
  name: propagation
  namespace: dr-config
spec:
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: source
    destinationName: destination
    replication:
      forceNamespaceCreation: true
      resources:
        - version: v1
          resource: configmaps
          filters:
            selector:
              matchLabels:
                dr: "on"
        - group: apps
          version: v1
          resource: deployments
          transformation:
            patch:
              - op: replace
                path: /spec/replicas
                value: 0
          filters:
            namespaceSelector:
              matchLabels:
                env: pre
)";

const json kDr = {{"dr", "on"}};

class PropagationTest : public PipelineTest {
 protected:
  void SetUp() override { StartPipeline({.plan_yaml = kPlan}); }
};

TEST_F(PropagationTest, CreateUpdateDeleteConfigMap) {
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "a", {{"v", "1"}, {"keep", "x"}}, kDr)));
  json last;
  // forceNamespaceCreation: the synchronizer creates the missing namespace.
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "a"),
                                     [](const json& cm) { return cm["data"].value("v", "") == "1"; }, seconds(15),
                                     &last))
      << last.dump();
  EXPECT_TRUE(dst().Get(NamespaceRef("app")).ok());
  EXPECT_EQ(Label(last, std::string(transform::kManagedByLabel)), transform::LabelValueForId(p().id()));

  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "a"), [](json& cm) {
    cm["data"] = {{"v", "2"}, {"added", "y"}};  // "keep" removed
  }));
  ASSERT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "a"),
      [](const json& cm) { return cm["data"].value("v", "") == "2" && !cm["data"].contains("keep"); }, seconds(15),
      &last))
      << last.dump();
  EXPECT_EQ(last["data"]["added"], "y");

  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "a")));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", "a")));
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(10), &diff)) << diff.ToString();
}

TEST_F(PropagationTest, DeploymentChangesKeepReplicasZeroAndTrackOriginals) {
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  E2E_ASSERT_OK(Upsert(src(), DeploymentRef("app"), DeploymentObject("app", "web", 3)));
  json last;
  ASSERT_TRUE(p().WaitForDestination(DeploymentRef("app", "web"),
                                     [](const json& d) { return d["spec"].value("replicas", -1) == 0; }, seconds(15),
                                     &last))
      << last.dump();
  E2E_ASSERT_OK(Modify(src(), DeploymentRef("app", "web"), [](json& d) {
    d["spec"]["replicas"] = 5;
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27";
  }));
  ASSERT_TRUE(p().WaitForDestination(
      DeploymentRef("app", "web"),
      [](const json& d) {
        return d["spec"]["template"]["spec"]["containers"][0].value("image", "") == "nginx:1.27" &&
               d["spec"].value("replicas", -1) == 0 &&
               Annotation(d, std::string(transform::kOriginalValuesAnnotation)).find("5") != std::string::npos;
      },
      seconds(15), &last))
      << last.dump();
}

// An object's own labels: in scope, out (deleted from the destination), in again.
TEST_F(PropagationTest, LabelChangeMovesObjectInAndOut) {
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "b", {{"v", "1"}})));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "marker", {{"v", "1"}}, kDr)));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "marker"), [](const json&) { return true; }));
  ASSERT_TRUE(p().WaitForIdle(seconds(15)));
  EXPECT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", "b"), seconds(1))) << "unlabelled object was copied";

  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "b"), [](json& cm) { cm["metadata"]["labels"]["dr"] = "on"; }));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "b"), [](const json&) { return true; }));
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "b"), [](json& cm) { cm["metadata"]["labels"]["dr"] = "off"; }));
  ASSERT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", "b"))) << "object out of scope was not deleted";
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "b"), [](json& cm) {
    cm["metadata"]["labels"]["dr"] = "on";
    cm["data"]["v"] = "3";
  }));
  EXPECT_TRUE(p().WaitForDestination(ConfigMapRef("app", "b"),
                                     [](const json& cm) { return cm["data"].value("v", "") == "3"; }));
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(10), &diff)) << diff.ToString();
}

// A namespace's labels: its Deployments leave the destination when the namespace stops
// matching and come back when it matches again; ConfigMaps (no namespace selector) stay.
TEST_F(PropagationTest, NamespaceLabelChangeMovesObjectsInAndOut) {
  E2E_ASSERT_OK(EnsureNamespace(src(), "moving", {{"env", "pre"}}));
  for (int i = 0; i < 3; ++i) {
    E2E_ASSERT_OK(Upsert(src(), DeploymentRef("moving"), DeploymentObject("moving", "d" + std::to_string(i), 2)));
  }
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("moving"), ConfigMapObject("moving", "cfg", {{"v", "1"}}, kDr)));
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(20), &diff)) << diff.ToString();
  ASSERT_EQ(diff.in_scope, 4u);

  E2E_ASSERT_OK(EnsureNamespace(src(), "moving", {{"env", "prod"}}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(p().WaitForDestinationAbsent(DeploymentRef("moving", "d" + std::to_string(i))))
        << "d" << i << " still in the destination after its namespace left the scope";
  }
  EXPECT_TRUE(dst().Get(ConfigMapRef("moving", "cfg")).ok());
  ASSERT_TRUE(p().WaitForConvergence(seconds(10), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 1u);

  E2E_ASSERT_OK(EnsureNamespace(src(), "moving", {{"env", "pre"}}));
  ASSERT_TRUE(p().WaitForConvergence(seconds(20), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, 4u);
}

// Objects the destination already has and that this LiveSynchronization did not create
// (no marking, or another LiveSynchronization's marking) are never modified or deleted.
TEST_F(PropagationTest, ForeignDestinationObjectsAreNeverTouched) {
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  E2E_ASSERT_OK(EnsureNamespace(dst(), "app"));
  const json foreign = ConfigMapObject("app", "shared", {{"owner", "destination"}});
  json other = ConfigMapObject("app", "other-ls", {{"owner", "someone-else"}});
  const std::string other_id = "dr-config.someone-else";
  other["metadata"]["labels"][std::string(transform::kManagedByLabel)] = transform::LabelValueForId(other_id);
  other["metadata"]["annotations"] = {{std::string(transform::kLiveSynchronizationAnnotation), other_id}};
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), foreign));
  E2E_ASSERT_OK(dst().Create(ConfigMapRef("app"), other));
  auto before_shared = dst().Get(ConfigMapRef("app", "shared"));
  auto before_other = dst().Get(ConfigMapRef("app", "other-ls"));
  ASSERT_TRUE(before_shared.ok() && before_other.ok());

  for (const std::string name : {"shared", "other-ls"}) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", name, {{"owner", "source"}}, kDr)));
  }
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "marker", {{"v", "1"}}, kDr)));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "marker"), [](const json&) { return true; }));
  ASSERT_TRUE(p().WaitForIdle(seconds(20))) << "a message for a foreign object is redelivered forever";

  // Deleting them in the source must not delete the destination's objects either.
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "shared")));
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "other-ls")));
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "marker")));
  ASSERT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", "marker")));
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  auto after_shared = dst().Get(ConfigMapRef("app", "shared"));
  auto after_other = dst().Get(ConfigMapRef("app", "other-ls"));
  ASSERT_TRUE(after_shared.ok()) << "foreign object deleted: " << after_shared.status().ToString();
  ASSERT_TRUE(after_other.ok()) << "other LiveSynchronization's object deleted: " << after_other.status().ToString();
  EXPECT_EQ((*after_shared)["metadata"]["resourceVersion"], (*before_shared)["metadata"]["resourceVersion"])
      << after_shared->dump();
  EXPECT_EQ((*after_other)["metadata"]["resourceVersion"], (*before_other)["metadata"]["resourceVersion"])
      << after_other->dump();
  EXPECT_EQ((*after_shared)["data"]["owner"], "destination");

  // The refusal is reported as an error naming the object.
  bool reported = false;
  for (const auto& line : LogLines(p().Logs(Component::kSynchronizer))) {
    if (line.value("level", "") == "error" && line.dump().find("\"shared\"") != std::string::npos) {
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << "no error log line names the foreign object 'shared'";
}

constexpr char kNoForcePlan[] = R"(apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata:
  name: no-force
  namespace: dr-config
spec:
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: source
    destinationName: destination
    replication:
      resources:
        - version: v1
          resource: configmaps
)";

class MissingNamespaceTest : public PipelineTest {};

// Without forceNamespaceCreation an object whose namespace the destination lacks waits
// (logged as "namespace not found in cluster") and arrives once the namespace exists.
TEST_F(MissingNamespaceTest, ObjectWaitsForItsNamespace) {
  StartPipeline({.plan_yaml = kNoForcePlan});
  E2E_ASSERT_OK(EnsureNamespace(src(), "late"));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("late"), ConfigMapObject("late", "cm", {{"v", "1"}})));
  ASSERT_TRUE(testsupport::WaitFor(
      [&] { return !LogLines(p().Logs(Component::kSynchronizer), "namespace not found in cluster").empty(); },
      seconds(15)))
      << "no 'namespace not found in cluster' line";
  EXPECT_TRUE(p().WaitForDestinationAbsent(NamespaceRef("late"), seconds(1))) << "namespace created without force";
  E2E_ASSERT_OK(EnsureNamespace(dst(), "late"));
  EXPECT_TRUE(p().WaitForDestination(ConfigMapRef("late", "cm"), [](const json&) { return true; }, seconds(20)));
}

}  // namespace
}  // namespace kubesync::e2e
