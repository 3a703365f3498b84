// seeds/002 "Active-passive Kubernetes architecture", followed as a new user would, through
// kubectl: import cluster-1 and cluster-2 (Secrets from kubeconfig files, the
// KubernetesCluster manifests), apply its LiveSynchronization unchanged, pause, resume, then
// recover with its TaskRun. The tutorial's TaskRun names `set-test-label`, a Task that does
// not exist: it fails saying so. A TaskRun naming the Task the tutorial says is created
// (`active-passive`) brings the standby's Deployments back to the source's replica counts.
//
// The tutorial omits -n: its commands run in "a namespace where to store the secrets and
// run the synchronization" (the context's namespace); here that is `tutorial`.
#include "controller_fixture.h"

namespace kubesync::controller::testing {
namespace {

using nlohmann::json;
using testsupport::WaitFor;
using C = ControllerE2eTest::Cluster;

constexpr char kNs[] = "tutorial";

std::string DeploymentPath(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name;
}
std::string StatusString(const std::optional<json>& o, const char* key) {
  if (!o) return "";
  auto status = o->find("status");
  return status != o->end() && status->is_object() ? status->value(key, "") : "";
}
auto Replicas(int n) {
  return [n](const std::optional<json>& o) { return o && (*o)["spec"].value("replicas", -1) == n; };
}

// kubectl in the tutorial's namespace (a command of the tutorial); fails the test on error.
void Tutorial(std::vector<std::string> args, const std::string& manifest = "") {
  args.insert(args.end(), {"-n", kNs});
  auto r = ControllerE2eTest::Kubectl(C::kDestination, args, manifest);
  ASSERT_EQ(r.code, 0) << r.output;
}

TEST_F(ControllerE2eTest, Seeds002TutorialEndsWithTheSourceReplicaCounts) {
  // The application in the active cluster: a namespace labelled sync=true.
  CreateNamespace(C::kSource, "shop", {{"sync", "true"}});
  CreateDeployment("shop", "frontend", 3);
  CreateDeployment("shop", "backend", 5);
  CreateConfigMap("shop", "settings", {{"mode", "active"}});

  // Prerequisites: a namespace for the secrets and the synchronization.
  CreateNamespace(C::kDestination, kNs);

  // "Import the active cluster" / "Import the passive cluster" (the active one is reached
  // with a reader token: kubesync never writes to it).
  for (const auto& [name, kubeconfig] : {std::pair{"cluster-1", source_->kubeconfig_path("viewer")},
                                         std::pair{"cluster-2", destination_->kubeconfig_path("admin")}}) {
    Tutorial({"create", "secret", "generic", std::string(name) + "-kubeconfig",
              "--from-file=kubeconfig.yaml=" + kubeconfig.string()});
    Tutorial({"create"},
             "apiVersion: assets.astronetes.io/v1alpha1\nkind: KubernetesCluster\nmetadata:\n  name: " +
                 std::string(name) + "\nspec:\n  secretName: " + std::string(name) + "-kubeconfig\n");
  }

  // "Synchronize the clusters": livesync.yaml exactly as in the tutorial.
  Tutorial({"apply"}, Testdata("libs/plan/tests/testdata/002_active_passive.yaml"));
  for (const std::string name : {"frontend", "backend"}) {
    ASSERT_TRUE(
        WaitForObject(C::kDestination, DeploymentPath("shop", name), Replicas(0), std::chrono::seconds(60)))
        << name << "\n"
        << ControllerLog();
  }
  ASSERT_TRUE(WaitForObject(C::kDestination, "/api/v1/namespaces/shop/configmaps/settings",
                            [](const std::optional<json>& o) { return o.has_value(); }));

  // "Understanding the TaskRun": the Task kubesync keeps in the destination, named after the
  // LiveSynchronization. The tutorial's transformation has no recovery step: kubesync
  // derives one that puts back the recorded source values, and says so on the Task.
  const std::string task_path =
      "/apis/automation.astronetes.io/v1alpha1/namespaces/" + std::string(kNs) + "/tasks/active-passive";
  std::optional<json> task;
  ASSERT_TRUE(WaitFor([&] {
    task = Get(C::kDestination, task_path);
    return task.has_value();
  })) << ControllerLog();
  const json& resources = (*task)["spec"]["config"]["resources"];
  ASSERT_EQ(resources.size(), 1u) << task->dump(2);
  EXPECT_EQ(resources[0]["identifier"]["resource"], "deployments");
  EXPECT_EQ(resources[0]["fromOriginal"], json::parse(R"({"enabled": true, "paths": ["/spec/replicas"]})"));
  EXPECT_EQ(resources[0]["patch"]["filter"],
            json::parse(R"({"namespaceSelector": {"matchLabels": {"sync": "true"}}})"));
  const std::string derived = (*task)["metadata"]["annotations"].value("kubesync.io/derived-recovery", "");
  EXPECT_NE(derived.find("apps/v1/deployments"), std::string::npos) << derived;
  EXPECT_NE(derived.find("restore /spec/replicas from kubesync.io/original-values"), std::string::npos)
      << derived;
  // ... and in an Event on the LiveSynchronization.
  EXPECT_TRUE(WaitFor([&] { return HasEvent(C::kDestination, kNs, "active-passive", "RecoveryDerived"); }))
      << ControllerLog();

  // "Pause the synchronization" and "Resume the synchronization", the documented commands.
  Tutorial({"patch", "livesynchronization", "active-passive", "-p", R"({"spec":{"suspend":true}})",
            "--type=merge"});
  ASSERT_TRUE(WaitForPhase(kNs, "active-passive", "Suspended", std::chrono::seconds(60))) << ControllerLog();
  Tutorial({"patch", "livesynchronization", "active-passive", "-p", R"({"spec":{"suspend":false}})",
            "--type=merge"});
  ASSERT_TRUE(WaitForPhase(kNs, "active-passive", "Running", std::chrono::seconds(60))) << ControllerLog();

  // "Recover from disasters", taskrun.yaml as written: its Task does not exist, and the
  // TaskRun fails saying which.
  const std::string taskrun =
      "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: restore-apps\n"
      "spec:\n  taskName: set-test-label\n";
  Tutorial({"create"}, taskrun);
  std::optional<json> tr;
  ASSERT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun(kNs, "restore-apps");
        return tr && StatusString(tr, "phase") == "Failed";
      },
      std::chrono::seconds(60)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  EXPECT_NE(StatusString(tr, "message").find("\"set-test-label\""), std::string::npos) << tr->dump();
  for (const std::string name : {"frontend", "backend"}) {
    EXPECT_EQ((*Get(C::kDestination, DeploymentPath("shop", name)))["spec"]["replicas"], 0) << name;
  }

  // The same TaskRun naming the Task the tutorial says is created.
  Tutorial({"delete", "taskrun", "restore-apps"});
  Tutorial({"create"},
           "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: restore-apps\n"
           "spec:\n  taskName: active-passive\n");
  ASSERT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun(kNs, "restore-apps");
        return tr && (StatusString(tr, "phase") == "Succeeded" || StatusString(tr, "phase") == "Failed");
      },
      std::chrono::seconds(60)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  ASSERT_EQ(StatusString(tr, "phase"), "Succeeded") << tr->dump() << ControllerLog();
  EXPECT_EQ((*tr)["status"].value("objectsPatched", -1), 2) << tr->dump();

  // The standby runs with the active cluster's replica counts.
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", "frontend"), Replicas(3)));
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", "backend"), Replicas(5)));
}

}  // namespace
}  // namespace kubesync::controller::testing
