// The controller end to end, driven with kubectl as a platform engineer would: seed
// samples applied unchanged, invalid samples refused with field paths, suspend and resume,
// deletion, a killed component, a killed controller, recovery with TaskRuns, the audit webhook.
#include <signal.h>

#include <algorithm>
#include <fstream>

#include "controller_fixture.h"
#include "kubesync/core/base64.h"

namespace kubesync::controller::testing {
namespace {

using nlohmann::json;
using testsupport::WaitFor;
using C = ControllerE2eTest::Cluster;

std::string DeploymentPath(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name;
}
std::string ConfigMapPath(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/configmaps/" + name;
}
// status.<key> as a string, "" while the object or its status is missing.
std::string StatusString(const std::optional<json>& o, const char* key) {
  if (!o) return "";
  auto status = o->find("status");
  return status != o->end() && status->is_object() ? status->value(key, "") : "";
}
auto Exists = [](const std::optional<json>& o) { return o.has_value(); };
auto Gone = [](const std::optional<json>& o) { return !o.has_value(); };
auto Replicas(int n) {
  return [n](const std::optional<json>& o) { return o && (*o)["spec"].value("replicas", -1) == n; };
}
auto Data(const std::string& key, const std::string& value) {
  return [key, value](const std::optional<json>& o) {
    return o && o->contains("data") && (*o)["data"].value(key, "") == value;
  };
}

// The active-passive sample with its name and namespace label changed, so that tests do not
// share objects.
std::string ActivePassive(const std::string& name, const std::string& label_value) {
  std::string yaml = ControllerE2eTest::Testdata("charts/kubesync/samples/active-passive.yaml");
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = yaml.find(from, pos)) != std::string::npos; pos += to.size()) {
      yaml.replace(pos, from.size(), to);
    }
  };
  replace_all("name: active-passive", "name: " + name);
  replace_all("dr: enabled", "dr: " + label_value);
  return yaml;
}

TEST_F(ControllerE2eTest, KubernetesClustersReportReachabilityAndVersion) {
  CreateClusters("clusters");
  const std::string path = "/apis/assets.astronetes.io/v1alpha1/namespaces/clusters/kubernetesclusters/";
  for (const std::string name : {"source", "destination"}) {
    EXPECT_TRUE(WaitForObject(C::kDestination, path + name, [](const std::optional<json>& o) {
      return o && o->contains("status") && (*o)["status"].value("reachable", false) &&
             !(*o)["status"].value("serverVersion", "").empty();
    })) << name << "\n" << ControllerLog();
  }
  // A cluster whose Secret does not exist is reported, with the Secret's name.
  Apply(C::kDestination, "clusters",
        "apiVersion: assets.astronetes.io/v1alpha1\nkind: KubernetesCluster\nmetadata:\n  name: nowhere\n"
        "spec:\n  secretName: missing-secret\n");
  std::optional<json> last;
  EXPECT_TRUE(WaitForObject(C::kDestination, path + "nowhere", [&](const std::optional<json>& o) {
    last = o;
    return o && o->contains("status") && !(*o)["status"].value("reachable", true) &&
           StatusString(o, "message").find("\"missing-secret\"") != std::string::npos;
  })) << (last ? last->dump() : "none");
  EXPECT_TRUE(WaitFor([] { return HasEvent(C::kDestination, "clusters", "nowhere", "Unreachable"); }));
}

TEST_F(ControllerE2eTest, SeedSampleReplicatesWithReplicasZeroAndKeepsItsTask) {
  CreateClusters("seed");
  CreateNamespace(C::kSource, "pre-apps", {{"env", "pre"}});
  // The sample selects objects, not their namespaces, and does not set
  // forceNamespaceCreation: the namespace must exist in the destination, with the labels
  // its recovery Task's namespaceSelector looks for there.
  CreateNamespace(C::kDestination, "pre-apps", {{"env", "pre"}});
  CreateDeployment("pre-apps", "web", 2);
  Apply(C::kDestination, "seed", Testdata("libs/plan/tests/testdata/001_live_synchronization_sample.yaml"));

  EXPECT_TRUE(WaitForPhase("seed", "livesynchronization-sample", "Running")) << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("pre-apps", "web"), Replicas(0))) << ControllerLog();
  auto web = Get(C::kDestination, DeploymentPath("pre-apps", "web"));
  EXPECT_EQ((*web)["metadata"]["annotations"].value("kubesync.io/live-synchronization", ""),
            "seed/livesynchronization-sample");

  auto ls = GetLiveSync("seed", "livesynchronization-sample");
  ASSERT_TRUE(ls);
  const json& status = (*ls)["status"];
  EXPECT_EQ(status.value("observedGeneration", -1), (*ls)["metadata"].value("generation", -2));
  EXPECT_EQ(status["components"].size(), 4u) << status.dump();  // the reconciler too
  EXPECT_TRUE(HasEvent(C::kDestination, "seed", "livesynchronization-sample", "Started"));

  // The Task derived from recoveryProcess, in the destination, in the same namespace.
  std::optional<json> task;
  ASSERT_TRUE(WaitForObject(C::kDestination, "/apis/automation.astronetes.io/v1alpha1/namespaces/seed/tasks/livesynchronization-sample",
                            [&](const std::optional<json>& o) { task = o; return o.has_value(); }));
  EXPECT_EQ((*task)["spec"]["plugin"], "kubernetes-objects-transformation");
  EXPECT_EQ((*task)["spec"]["config"]["resources"][0]["patch"]["operations"][0]["value"], 1);

  // The objects synchronized count reaches the status.
  EXPECT_TRUE(WaitFor([] {
    auto l = GetLiveSync("seed", "livesynchronization-sample");
    return l && (*l)["status"].value("objectsSynchronized", 0) >= 1 && (*l)["status"].contains("lastSyncTime");
  }));

  // A TaskRun while the LiveSynchronization still runs: warned about, then run (fromPatch: 1).
  Apply(C::kDestination, "seed", Testdata("libs/plan/tests/testdata/001_task_run.yaml"));
  // 001_task_run.yaml names the Task set-test-label; run ours instead.
  Apply(C::kDestination, "seed",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: restore-seed\n"
        "spec:\n  taskName: livesynchronization-sample\n");
  EXPECT_TRUE(WaitFor([] {
    auto tr = GetTaskRun("seed", "restore-seed");
    return tr && StatusString(tr, "phase") == "Succeeded";
  }, std::chrono::seconds(30))) << ControllerLog();
  EXPECT_TRUE(HasEvent(C::kDestination, "seed", "restore-seed", "LiveSynchronizationRunning"));
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("pre-apps", "web"), Replicas(1)))
      << Get(C::kDestination, DeploymentPath("pre-apps", "web")).value_or(json()).dump() << "\n"
      << GetTaskRun("seed", "restore-seed").value_or(json()).dump();
  // The TaskRun for the missing Task fails, naming it.
  EXPECT_TRUE(WaitFor([] {
    auto tr = GetTaskRun("seed", "restore-apps");
    return tr && StatusString(tr, "phase") == "Failed" &&
           StatusString(tr, "message").find("set-test-label") != std::string::npos;
  }, std::chrono::seconds(30)));
}

TEST_F(ControllerE2eTest, KnownBadSamplesGetAnInvalidConditionAndStartNothing) {
  CreateClusters("bad");
  struct Case {
    std::string file;
    std::string name;
    std::string field;
  };
  for (const Case& c : {Case{"000_known_bad_exclude_regex.yaml", "livesynchronization-sample",
                             "spec.config.replication.resources[0].filters.nameSelector.excludeRegex[0]"},
                        Case{"known_bad_resync_period_twice.yaml", "", "resyncPeriod"}}) {
    std::string yaml = Testdata("libs/plan/tests/testdata/" + c.file);
    auto applied = Kubectl(C::kDestination, {"apply", "-n", "bad", "-o", "name"}, yaml);
    ASSERT_EQ(applied.code, 0) << applied.output;
    std::string name = applied.output.substr(applied.output.find('/') + 1);
    while (!name.empty() && isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    std::optional<json> last;
    EXPECT_TRUE(WaitFor([&] {
      last = GetLiveSync("bad", name);
      return last && last->contains("status") && StatusString(last, "phase") == "Invalid";
    })) << c.file << ": " << (last ? last->dump() : "none");
    if (!last || !last->contains("status")) continue;
    bool found = false;
    for (const auto& cond : (*last)["status"]["conditions"]) {
      if (cond["type"] == "Invalid") {
        EXPECT_EQ(cond["status"], "True");
        EXPECT_NE(cond["message"].get<std::string>().find(c.field), std::string::npos) << cond.dump();
        found = true;
      }
    }
    EXPECT_TRUE(found) << last->dump();
    EXPECT_FALSE((*last)["status"].contains("components")) << "nothing starts";
    EXPECT_TRUE(WaitFor([&] { return HasEvent(C::kDestination, "bad", name, "InvalidConfiguration"); }));
    ASSERT_EQ(Kubectl(C::kDestination, {"delete", "livesynchronization", name, "-n", "bad"}).code, 0);
  }
  // The known-bad ZooKeeper Synchronization (generateName: created, not applied).
  auto created = Kubectl(C::kDestination, {"create", "-n", "bad", "-o", "name"},
                         Testdata("libs/plan/tests/testdata/001_known_bad_zookeeper_synchronization.yaml"));
  ASSERT_EQ(created.code, 0) << created.output;
  std::string sync_name = created.output.substr(created.output.find('/') + 1);
  sync_name = sync_name.substr(0, sync_name.find_first_of(" \n"));
  std::optional<json> sync;
  EXPECT_TRUE(WaitFor([&] {
    sync = Get(C::kDestination, "/apis/automation.astronetes.io/v1alpha1/namespaces/bad/synchronizations/" + sync_name);
    return sync && sync->contains("status") && StatusString(sync, "phase") == "Invalid";
  })) << (sync ? sync->dump() : "none");
  if (sync && sync->contains("status")) {
    EXPECT_NE((*sync)["status"].dump().find("createRoutePath"), std::string::npos) << sync->dump();
  }

  // The reference Task samples (`resources:` under identifier) are accepted with a warning
  // (recovery helper): a TaskRun of each is not refused for that field.
  CreateNamespace(C::kDestination, "bad");
  Apply(C::kDestination, "bad", Testdata("libs/plan/tests/testdata/001_reference_task.yaml"));
  Apply(C::kDestination, "bad", Testdata("libs/plan/tests/testdata/002_reference_task.yaml"));
  for (const auto& [run, task] : {std::pair<std::string, std::string>{"run-bad-task", "set-test-label"},
                                  {"run-bad-task-002", "active-passive"}}) {
    Apply(C::kDestination, "bad",
          "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: " + run +
              "\nspec:\n  taskName: " + task + "\n");
  }
  // A TaskRun is only watched in destinations in use: a valid LiveSynchronization makes the
  // destination one.
  Apply(C::kDestination, "bad", ActivePassive("valid", "bad-test"));
  for (const std::string run : {"run-bad-task", "run-bad-task-002"}) {
    std::optional<json> tr;
    EXPECT_TRUE(WaitFor([&] {
      tr = GetTaskRun("bad", run);
      return tr && (StatusString(tr, "phase") == "Failed" || StatusString(tr, "phase") == "Succeeded");
    }, std::chrono::seconds(30))) << run << ": " << (tr ? tr->dump() : "none") << ControllerLog();
    EXPECT_EQ(StatusString(tr, "message").find("identifier.resources: unknown field"), std::string::npos)
        << run << ": " << (tr ? tr->dump() : "none");
  }
}

TEST_F(ControllerE2eTest, SuspendStopsTheSetAndResumeCatchesUp) {
  CreateClusters("pause");
  CreateNamespace(C::kSource, "pause-app", {{"dr", "pause"}});
  CreateConfigMap("pause-app", "keep", {{"v", "1"}});
  CreateConfigMap("pause-app", "drop", {{"v", "1"}});
  Apply(C::kDestination, "pause", ActivePassive("pausable", "pause"));
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("pause-app", "drop"), Exists)) << ControllerLog();

  // The documented command (seeds/002 "Pause the synchronization").
  auto r = Kubectl(C::kDestination, {"patch", "livesynchronization", "pausable", "-n", "pause", "-p",
                                     R"({"spec":{"suspend":true}})", "--type=merge"});
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(WaitForPhase("pause", "pausable", "Suspended")) << ControllerLog();
  EXPECT_TRUE(HasEvent(C::kDestination, "pause", "pausable", "Suspended"));

  // Changes while suspended stay in the source ...
  auto patch = source_->Request("PATCH", ConfigMapPath("pause-app", "keep"), json{{"data", {{"v", "2"}}}},
                                "application/merge-patch+json");
  ASSERT_TRUE(patch.ok() && patch->status == 200);
  ASSERT_TRUE(source_->Request("DELETE", ConfigMapPath("pause-app", "drop")).ok());
  CreateConfigMap("pause-app", "new", {{"v", "1"}});
  EXPECT_FALSE(WaitForObject(C::kDestination, ConfigMapPath("pause-app", "new"), Exists, std::chrono::seconds(2)))
      << "a suspended LiveSynchronization wrote to the destination";

  // ... and arrive on resume, deletes included.
  r = Kubectl(C::kDestination, {"patch", "livesynchronization", "pausable", "-n", "pause", "-p",
                                R"({"spec":{"suspend":false}})", "--type=merge"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(WaitForPhase("pause", "pausable", "Running"));
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("pause-app", "new"), Exists)) << ControllerLog();
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("pause-app", "keep"), Data("v", "2")));
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("pause-app", "drop"), Gone));
}

TEST_F(ControllerE2eTest, AKilledComponentIsRestartedAndReported) {
  CreateClusters("crash");
  CreateNamespace(C::kSource, "crash-app", {{"dr", "crash"}});
  Apply(C::kDestination, "crash", ActivePassive("crashy", "crash"));
  ASSERT_TRUE(WaitForPhase("crash", "crashy", "Running")) << ControllerLog();
  CreateConfigMap("crash-app", "before", {{"v", "1"}});
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("crash-app", "before"), Exists));

  // Which synchronizer belongs to this set: its command line names the set's plan.
  std::vector<pid_t> pids = ChildPids("synchronizer");
  pid_t victim = 0;
  for (pid_t pid : pids) {
    std::string cmdline = testsupport::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline.find("crash.crashy") != std::string::npos) victim = pid;
  }
  ASSERT_NE(victim, 0) << "no synchronizer child for crash.crashy among " << pids.size();
  ASSERT_EQ(kill(victim, SIGKILL), 0);

  EXPECT_TRUE(WaitFor([] {
    auto ls = GetLiveSync("crash", "crashy");
    if (!ls || !(*ls)["status"].contains("components")) return false;
    for (const auto& c : (*ls)["status"]["components"]) {
      if (c["name"] == "synchronizer" && c.value("restarts", 0) >= 1 && c.value("running", 0) == 1) return true;
    }
    return false;
  }, std::chrono::seconds(30))) << GetLiveSync("crash", "crashy")->dump();
  EXPECT_TRUE(WaitFor([] { return HasEvent(C::kDestination, "crash", "crashy", "ComponentRestarted"); }));
  CreateConfigMap("crash-app", "after", {{"v", "1"}});
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("crash-app", "after"), Exists)) << ControllerLog();
}

TEST_F(ControllerE2eTest, DeletingALiveSynchronizationStopsItAndKeepsDestinationObjects) {
  CreateClusters("gone");
  CreateNamespace(C::kSource, "gone-app", {{"dr", "gone"}});
  CreateConfigMap("gone-app", "stays", {{"v", "1"}});
  Apply(C::kDestination, "gone", ActivePassive("temporary", "gone"));
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("gone-app", "stays"), Exists)) << ControllerLog();
  auto count_children = [] {
    size_t n = 0;
    for (const std::string comm : {"eventslistener", "processor", "synchronizer"}) {
      for (pid_t pid : ChildPids(comm)) {
        if (testsupport::ReadFile("/proc/" + std::to_string(pid) + "/cmdline").find("gone.temporary") !=
            std::string::npos) {
          ++n;
        }
      }
    }
    return n;
  };
  EXPECT_EQ(count_children(), 3u);

  ASSERT_EQ(Kubectl(C::kDestination, {"delete", "livesynchronization", "temporary", "-n", "gone"}).code, 0);
  EXPECT_TRUE(WaitFor([&] { return count_children() == 0; }, std::chrono::seconds(30))) << ControllerLog();
  EXPECT_TRUE(Get(C::kDestination, ConfigMapPath("gone-app", "stays")).has_value());
  EXPECT_TRUE(Get(C::kDestination, "/apis/automation.astronetes.io/v1alpha1/namespaces/gone/tasks/temporary"))
      << "the Task stays, so the standby can still be activated";
}

TEST_F(ControllerE2eTest, ATaskRunSuspendsFirstAndRestoresTheSourceReplicaCounts) {
  CreateClusters("dr");
  CreateNamespace(C::kSource, "shop", {{"dr", "shop"}});
  CreateDeployment("shop", "frontend", 3);
  CreateDeployment("shop", "backend", 5);
  CreateDeployment("shop", "retired", 2);
  Apply(C::kDestination, "dr", ActivePassive("shop-standby", "shop"));
  for (const std::string name : {"frontend", "backend", "retired"}) {
    ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", name), Replicas(0))) << name << ControllerLog();
  }
  // Deleted in the source meanwhile: gone from the standby, and not an error for recovery.
  ASSERT_EQ(Kubectl(C::kSource, {"delete", "deployment", "retired", "-n", "shop"}).code, 0);
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", "retired"), Gone));

  Apply(C::kDestination, "dr",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: activate\n"
        "spec:\n  taskName: shop-standby\n  suspendLiveSynchronization: true\n");
  std::optional<json> tr;
  ASSERT_TRUE(WaitFor([&] {
    tr = GetTaskRun("dr", "activate");
    return tr && StatusString(tr, "phase") == "Succeeded";
  }, std::chrono::seconds(40))) << (tr ? tr->dump() : "none") << ControllerLog();
  const json& st = (*tr)["status"];
  EXPECT_EQ(st.value("objectsPatched", -1), 2) << st.dump();
  EXPECT_EQ(st.value("objectsFailed", -1), 0);
  EXPECT_FALSE(st.value("duration", "").empty());
  EXPECT_FALSE(st.value("startTime", "").empty());
  EXPECT_FALSE(st.value("completionTime", "").empty());
  EXPECT_EQ(st.value("liveSynchronization", ""), "dr.shop-standby");

  auto ls = GetLiveSync("dr", "shop-standby");
  EXPECT_TRUE((*ls)["spec"].value("suspend", false)) << "suspended first, as asked";
  EXPECT_TRUE(WaitForPhase("dr", "shop-standby", "Suspended"));
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", "frontend"), Replicas(3)));
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", "backend"), Replicas(5)));
  EXPECT_TRUE(HasEvent(C::kDestination, "dr", "activate", "SuspendingLiveSynchronization"));
  EXPECT_TRUE(WaitFor([] { return HasEvent(C::kDestination, "dr", "activate", "RecoverySucceeded"); }));
  // kubectl shows the phase column.
  auto get = Kubectl(C::kDestination, {"get", "taskruns", "-n", "dr"});
  EXPECT_NE(get.output.find("Succeeded"), std::string::npos) << get.output;
}

TEST_F(ControllerE2eTest, AKilledControllerTakesItsComponentsAlongAndResumesOnRestart) {
  CreateClusters("again");
  CreateNamespace(C::kSource, "again-app", {{"dr", "again"}});
  CreateConfigMap("again-app", "before", {{"v", "1"}});
  CreateConfigMap("again-app", "doomed", {{"v", "1"}});
  Apply(C::kDestination, "again", ActivePassive("resumable", "again"));
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "before"), Exists)) << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "doomed"), Exists)) << ControllerLog();

  std::vector<pid_t> children;
  for (const char* comm : {"eventslistener", "processor", "synchronizer", "nats-server", "redis-server"}) {
    for (pid_t pid : ChildPids(comm)) children.push_back(pid);
  }
  ASSERT_GE(children.size(), 5u);
  controller_->Kill();  // SIGKILL: no chance to stop anything itself
  // Its components and servers stop with it: a restarted controller must not find stray
  // copies still writing.
  EXPECT_TRUE(WaitFor([&] {
    return std::none_of(children.begin(), children.end(), [](pid_t pid) {
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string line;
      std::getline(stat, line);
      const auto close = line.rfind(')');
      return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
    });
  }, std::chrono::seconds(15)));

  // Changes while nothing runs, then a new controller on the same work directory.
  CreateConfigMap("again-app", "during", {{"v", "1"}});
  ASSERT_EQ(Kubectl(C::kSource, {"delete", "configmap", "doomed", "-n", "again-app"}).code, 0);
  StartController();
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "during"), Exists)) << ControllerLog();
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "doomed"), Gone)) << ControllerLog();
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "before"), Exists));
  EXPECT_TRUE(WaitForPhase("again", "resumable", "Running")) << ControllerLog();
}

TEST_F(ControllerE2eTest, TheAuditWebhookAnnotatesChangesToOurResources) {
  const json review = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
        {"kind", {{"group", "automation.astronetes.io"}, {"version", "v1alpha1"}, {"kind", "LiveSynchronization"}}},
        {"resource",
         {{"group", "automation.astronetes.io"}, {"version", "v1alpha1"}, {"resource", "livesynchronizations"}}},
        {"name", "x"},
        {"namespace", "dr"},
        {"operation", "CREATE"},
        {"userInfo", {{"username", "system:serviceaccount:preproduction:microservice1"}, {"uid", "b3fd2a87"}}},
        {"object", {{"apiVersion", "automation.astronetes.io/v1alpha1"}, {"kind", "LiveSynchronization"},
                    {"metadata", {{"name", "x"}}}, {"spec", {{"suspend", false}}}}}}}};
  testsupport::WriteFile(work_->path() / "review.json", review.dump());
  const auto out = work_->path() / "review.out";
  auto curl = testsupport::Process::Start(
      {.argv = {"curl", "-sS", "--cacert", destination_->ca_path().string(), "-H", "Content-Type: application/json",
                "--data-binary", "@" + (work_->path() / "review.json").string(),
                "https://127.0.0.1:" + std::to_string(webhook_port_) + "/mutate"},
       .stdout_path = out});
  ASSERT_TRUE(curl.ok());
  ASSERT_EQ(curl->Wait(std::chrono::seconds(30)), 0) << testsupport::ReadFile(out);
  json reply = json::parse(testsupport::ReadFile(out));
  ASSERT_EQ(reply["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_TRUE(reply["response"]["allowed"].get<bool>());
  auto patch = Base64Decode(reply["response"].value("patch", ""));
  ASSERT_TRUE(patch);
  json patched = review["request"]["object"].patch(json::parse(*patch));
  const json annotations = patched["metadata"]["annotations"];
  EXPECT_EQ(annotations.value("audit.astronetes.io/last-update-username", ""),
            "system:serviceaccount:preproduction:microservice1");
  EXPECT_EQ(annotations.value("audit.astronetes.io/last-update-user-uid", ""), "b3fd2a87");
  EXPECT_FALSE(annotations.value("audit.astronetes.io/last-update-time", "").empty());
}

}  // namespace
}  // namespace kubesync::controller::testing
