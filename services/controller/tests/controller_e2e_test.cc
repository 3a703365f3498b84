// The controller end to end, driven with kubectl as a platform engineer would: seed
// samples applied unchanged, invalid samples refused with field paths, suspend and resume,
// deletion, a killed component, a killed controller, recovery with TaskRuns, the audit webhook.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

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

// The embedded Redis the controller reports in its log ("process runtime ready").
std::string RedisUrl() {
  const std::string log = ControllerE2eTest::ControllerLog();
  const std::string marker = "\"redisUrl\":\"";
  const auto at = log.rfind(marker);
  if (at == std::string::npos) return "";
  const auto start = at + marker.size();
  return log.substr(start, log.find('"', start) - start);
}

size_t CountLines(const std::string& text, const std::vector<std::string>& all_of) {
  size_t n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (std::all_of(all_of.begin(), all_of.end(),
                    [&](const std::string& s) { return line.find(s) != std::string::npos; })) {
      ++n;
    }
    start = end + 1;
  }
  return n;
}

void WriteFileForTest(const std::string& name, const std::string& content) {
  testsupport::WriteFile(ControllerE2eTest::work_->path() / name, content);
}

std::string TaskRunYaml(const std::string& name, const std::string& task, bool suspend_first = false) {
  return "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: " + name +
         "\nspec:\n  taskName: " + task + "\n" +
         (suspend_first ? "  suspendLiveSynchronization: true\n" : "");
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
    EXPECT_TRUE(WaitForObject(C::kDestination, path + name,
                              [](const std::optional<json>& o) {
                                return o && o->contains("status") &&
                                       (*o)["status"].value("reachable", false) &&
                                       !(*o)["status"].value("serverVersion", "").empty();
                              }))
        << name << "\n"
        << ControllerLog();
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
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("pre-apps", "web"), Replicas(0)))
      << ControllerLog();
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
  ASSERT_TRUE(WaitForObject(
      C::kDestination,
      "/apis/automation.astronetes.io/v1alpha1/namespaces/seed/tasks/livesynchronization-sample",
      [&](const std::optional<json>& o) {
        task = o;
        return o.has_value();
      }));
  EXPECT_EQ((*task)["spec"]["plugin"], "kubernetes-objects-transformation");
  EXPECT_EQ((*task)["spec"]["config"]["resources"][0]["patch"]["operations"][0]["value"], 1);

  // The objects synchronized count reaches the status.
  EXPECT_TRUE(WaitFor([] {
    auto l = GetLiveSync("seed", "livesynchronization-sample");
    return l && (*l)["status"].value("objectsSynchronized", 0) >= 1 &&
           (*l)["status"].contains("lastSyncTime");
  }));

  // A TaskRun while the LiveSynchronization still runs: warned about, then run (fromPatch: 1).
  Apply(C::kDestination, "seed", Testdata("libs/plan/tests/testdata/001_task_run.yaml"));
  // 001_task_run.yaml names the Task set-test-label; run ours instead.
  Apply(C::kDestination, "seed",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: restore-seed\n"
        "spec:\n  taskName: livesynchronization-sample\n");
  EXPECT_TRUE(WaitFor(
      [] {
        auto tr = GetTaskRun("seed", "restore-seed");
        return tr && StatusString(tr, "phase") == "Succeeded";
      },
      std::chrono::seconds(30)))
      << ControllerLog();
  EXPECT_TRUE(HasEvent(C::kDestination, "seed", "restore-seed", "LiveSynchronizationRunning"));
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("pre-apps", "web"), Replicas(1)))
      << Get(C::kDestination, DeploymentPath("pre-apps", "web")).value_or(json()).dump() << "\n"
      << GetTaskRun("seed", "restore-seed").value_or(json()).dump();
  // The TaskRun for the missing Task fails, naming it.
  EXPECT_TRUE(WaitFor(
      [] {
        auto tr = GetTaskRun("seed", "restore-apps");
        return tr && StatusString(tr, "phase") == "Failed" &&
               StatusString(tr, "message").find("set-test-label") != std::string::npos;
      },
      std::chrono::seconds(30)));
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
    })) << c.file
        << ": " << (last ? last->dump() : "none");
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
    sync = Get(C::kDestination,
               "/apis/automation.astronetes.io/v1alpha1/namespaces/bad/synchronizations/" + sync_name);
    return sync && sync->contains("status") && StatusString(sync, "phase") == "Invalid";
  })) << (sync ? sync->dump() : "none");
  if (sync && sync->contains("status")) {
    EXPECT_NE((*sync)["status"].dump().find("createRoutePath"), std::string::npos) << sync->dump();
  }

  // The reference Task samples (`resources:` under identifier) are accepted with a warning,
  // but they are user-authored: a TaskRun of each fails as not derived and patches nothing.
  CreateNamespace(C::kDestination, "bad");
  Apply(C::kDestination, "bad", Testdata("libs/plan/tests/testdata/001_reference_task.yaml"));
  Apply(C::kDestination, "bad", Testdata("libs/plan/tests/testdata/002_reference_task.yaml"));
  // A LiveSynchronization in the namespace first (the Tasks above are still not its own).
  Apply(C::kDestination, "bad", ActivePassive("valid", "bad-test"));
  for (const auto& [run, task] : {std::pair<std::string, std::string>{"run-bad-task", "set-test-label"},
                                  {"run-bad-task-002", "active-passive"}}) {
    Apply(C::kDestination, "bad",
          "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: " + run +
              "\nspec:\n  taskName: " + task + "\n");
  }
  for (const auto& [run, task] : {std::pair<std::string, std::string>{"run-bad-task", "set-test-label"},
                                  {"run-bad-task-002", "active-passive"}}) {
    std::optional<json> tr;
    EXPECT_TRUE(WaitFor(
        [&] {
          tr = GetTaskRun("bad", run);
          return tr && StatusString(tr, "phase") == "Failed";
        },
        std::chrono::seconds(30)))
        << run << ": " << (tr ? tr->dump() : "none") << ControllerLog();
    // Refused either for the field (`identifier.resources`) or, where the reference shape
    // is accepted, because kubesync did not derive it: never run.
    const std::string message = StatusString(tr, "message");
    EXPECT_NE(message.find("Task \"" + task + "\""), std::string::npos) << run << ": " << message;
    EXPECT_NE(message.find("is not a Task kubesync derived"), std::string::npos) << run << ": " << message;
    EXPECT_EQ(message.find("unknown field"), std::string::npos) << run << ": " << message;
    EXPECT_EQ(tr ? (*tr)["status"].value("objectsPatched", 0) : -1, 0) << run << ": nothing patched";
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
  EXPECT_FALSE(
      WaitForObject(C::kDestination, ConfigMapPath("pause-app", "new"), Exists, std::chrono::seconds(2)))
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

  EXPECT_TRUE(WaitFor(
      [] {
        auto ls = GetLiveSync("crash", "crashy");
        if (!ls || !(*ls)["status"].contains("components")) return false;
        for (const auto& c : (*ls)["status"]["components"]) {
          if (c["name"] == "synchronizer" && c.value("restarts", 0) >= 1 && c.value("running", 0) == 1)
            return true;
        }
        return false;
      },
      std::chrono::seconds(30)))
      << GetLiveSync("crash", "crashy")->dump();
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

  // What it owns outside the clusters: Redis records, its NATS stream, its set's files.
  const auto runtime_dir = work_->path() / "runtime";
  auto stream_dirs = [&] {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(runtime_dir / "nats", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == "KUBESYNC_gone_temporary") ++n;
    }
    return n;
  };
  const std::string redis_url = RedisUrl();
  ASSERT_FALSE(redis_url.empty()) << ControllerLog();
  EXPECT_GT(stream_dirs(), 0u);
  EXPECT_TRUE(std::filesystem::exists(runtime_dir / "gone.temporary"));
  auto ls = GetLiveSync("gone", "temporary");
  ASSERT_TRUE(ls);
  EXPECT_NE(ls->dump().find("kubesync.io/cleanup"), std::string::npos)
      << "the finalizer is set: " << ls->dump();

  ASSERT_EQ(Kubectl(C::kDestination, {"delete", "livesynchronization", "temporary", "-n", "gone"}).code, 0);
  EXPECT_TRUE(WaitFor([&] { return count_children() == 0; }, std::chrono::seconds(30))) << ControllerLog();
  EXPECT_TRUE(
      WaitFor([&] { return !GetLiveSync("gone", "temporary").has_value(); }, std::chrono::seconds(30)))
      << "the finalizer was not removed\n"
      << ControllerLog();
  // The embedded Redis admits only the runtime's users, whose passwords it keeps hashed, so
  // the cleanup is read from the controller's report of it (records, stream, directory).
  EXPECT_EQ(CountLines(ControllerLog(), {"LiveSynchronization cleaned up", "gone.temporary"}), 1u)
      << ControllerLog();
  EXPECT_EQ(stream_dirs(), 0u) << "the NATS stream is left";
  EXPECT_FALSE(std::filesystem::exists(runtime_dir / "gone.temporary")) << "the set's files are left";
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
    ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", name), Replicas(0)))
        << name << ControllerLog();
  }
  // Deleted in the source meanwhile: gone from the standby, and not an error for recovery.
  ASSERT_EQ(Kubectl(C::kSource, {"delete", "deployment", "retired", "-n", "shop"}).code, 0);
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("shop", "retired"), Gone));

  Apply(C::kDestination, "dr",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: activate\n"
        "spec:\n  taskName: shop-standby\n  suspendLiveSynchronization: true\n");
  std::optional<json> tr;
  ASSERT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("dr", "activate");
        return tr && StatusString(tr, "phase") == "Succeeded";
      },
      std::chrono::seconds(40)))
      << (tr ? tr->dump() : "none") << ControllerLog();
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

// Issue 10, item 1: kubesync's destination credentials run only the Tasks it derived (the
// controller recomputes them) or Tasks in --allowed-task-namespaces; which
// LiveSynchronization a TaskRun suspends comes from the controller's own mapping, never from
// an annotation anyone can write on a Task.
TEST_F(ControllerE2eTest, OnlyDerivedOrAllowedTasksRunAndAForgedAnnotationSuspendsNothing) {
  CreateClusters("trust");
  CreateNamespace(C::kSource, "trust-app", {{"dr", "trust"}});
  CreateDeployment("trust-app", "web", 3);
  Apply(C::kDestination, "trust", ActivePassive("victim", "trust"));
  ASSERT_TRUE(WaitForPhase("trust", "victim", "Running")) << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("trust-app", "web"), Replicas(0)))
      << ControllerLog();

  // A user-authored Task in the LiveSynchronization's namespace, valid, with the owner
  // annotation forged.
  const std::string evil_task =
      "apiVersion: automation.astronetes.io/v1alpha1\nkind: Task\nmetadata:\n  name: evil\n"
      "  annotations:\n    kubesync.io/live-synchronization: trust/victim\n"
      "spec:\n  plugin: kubernetes-objects-transformation\n  config:\n    resources:\n"
      "      - identifier:\n          group: apps\n          version: v1\n          resource: deployments\n"
      "        patch:\n          operations:\n            - op: replace\n              path: /spec/replicas\n"
      "              value: 7\n";
  Apply(C::kDestination, "trust", evil_task);
  Apply(C::kDestination, "trust",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: forged\n"
        "spec:\n  taskName: evil\n  suspendLiveSynchronization: true\n");
  std::optional<json> tr;
  EXPECT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("trust", "forged");
        return tr && StatusString(tr, "phase") == "Failed";
      },
      std::chrono::seconds(30)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  EXPECT_NE(StatusString(tr, "message").find("Task \"evil\" is not a Task kubesync derived"),
            std::string::npos)
      << (tr ? tr->dump() : "none");
  auto ls = GetLiveSync("trust", "victim");
  ASSERT_TRUE(ls);
  EXPECT_FALSE((*ls)["spec"].value("suspend", false))
      << "a forged annotation suspended a LiveSynchronization";
  EXPECT_TRUE(Get(C::kDestination, DeploymentPath("trust-app", "web"))
                  .value_or(json())["spec"]
                  .value("replicas", -1) == 0)
      << "the user's Task ran with kubesync's credentials";

  // A namespace with no LiveSynchronization for this destination: refused, saying why.
  CreateNamespace(C::kDestination, "elsewhere");
  Apply(C::kDestination, "elsewhere", evil_task);
  Apply(C::kDestination, "elsewhere",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: stray\n"
        "spec:\n  taskName: evil\n");
  EXPECT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("elsewhere", "stray");
        return tr && StatusString(tr, "phase") == "Failed";
      },
      std::chrono::seconds(30)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  EXPECT_NE(StatusString(tr, "message").find("namespace \"elsewhere\" holds no LiveSynchronization"),
            std::string::npos)
      << (tr ? tr->dump() : "none");

  // A namespace the cluster admin allowed (--allowed-task-namespaces admin-tasks): runs.
  CreateNamespace(C::kDestination, "admin-tasks", {{"purpose", "admin-tasks"}});
  Apply(C::kDestination, "admin-tasks",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: switch\ndata:\n  v: \"1\"\n");
  Apply(C::kDestination, "admin-tasks",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: Task\nmetadata:\n  name: scale-web\n"
        "spec:\n  plugin: kubernetes-objects-transformation\n  config:\n    resources:\n"
        "      - identifier:\n          group: \"\"\n          version: v1\n          resource: configmaps\n"
        "        patch:\n          filter:\n            namespaceSelector:\n              matchLabels:\n"
        "                purpose: admin-tasks\n"
        "          operations:\n            - op: replace\n              path: /data/v\n"
        "              value: \"2\"\n");
  Apply(C::kDestination, "admin-tasks",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: allowed\n"
        "spec:\n  taskName: scale-web\n");
  EXPECT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("admin-tasks", "allowed");
        return tr && (StatusString(tr, "phase") == "Succeeded" || StatusString(tr, "phase") == "Failed");
      },
      std::chrono::seconds(30)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  EXPECT_EQ(StatusString(tr, "phase"), "Succeeded") << (tr ? tr->dump() : "none");
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("admin-tasks", "switch"), Data("v", "2")));

  // The derived Task itself runs, and suspends its own LiveSynchronization.
  Apply(C::kDestination, "trust",
        "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata:\n  name: genuine\n"
        "spec:\n  taskName: victim\n  suspendLiveSynchronization: true\n");
  EXPECT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("trust", "genuine");
        return tr && StatusString(tr, "phase") == "Succeeded";
      },
      std::chrono::seconds(40)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  EXPECT_TRUE(WaitForPhase("trust", "victim", "Suspended"));
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("trust-app", "web"), Replicas(3)));
}

// Issue 10, item 8: two Secrets (two KubernetesClusters) for one destination cluster, each
// used by a LiveSynchronization: one TaskRun watch for the cluster, one restorer run per
// TaskRun.
TEST_F(ControllerE2eTest, TwoSecretsForOneClusterRunATaskRunOnce) {
  CreateClusters("twice");
  // The same cluster under another name, its kubeconfig text different (a comment).
  WriteFileForTest("destination-copy.kubeconfig",
                   testsupport::ReadFile(destination_->kubeconfig_path("admin")) + "\n# the same cluster\n");
  auto r = Kubectl(C::kDestination, {"create", "secret", "generic", "destination-copy", "-n", "twice",
                                     "--from-file=kubeconfig.yaml=" +
                                         (work_->path() / "destination-copy.kubeconfig").string()});
  ASSERT_EQ(r.code, 0) << r.output;
  Apply(C::kDestination, "twice",
        "apiVersion: assets.astronetes.io/v1alpha1\nkind: KubernetesCluster\nmetadata:\n  name: "
        "destination-copy\n"
        "spec:\n  secretName: destination-copy\n");
  CreateNamespace(C::kSource, "twice-a", {{"dr", "twice-a"}});
  CreateNamespace(C::kSource, "twice-b", {{"dr", "twice-b"}});
  CreateDeployment("twice-a", "api", 2);
  Apply(C::kDestination, "twice", ActivePassive("first", "twice-a"));
  std::string second = ActivePassive("second", "twice-b");
  const std::string from = "destinationName: destination";
  second.replace(second.find(from), from.size(), "destinationName: destination-copy");
  Apply(C::kDestination, "twice", second);
  ASSERT_TRUE(WaitForPhase("twice", "first", "Running")) << ControllerLog();
  ASSERT_TRUE(WaitForPhase("twice", "second", "Running")) << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("twice-a", "api"), Replicas(0)));

  Apply(C::kDestination, "twice", TaskRunYaml("once", "first", /*suspend_first=*/true));
  std::optional<json> tr;
  ASSERT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("twice", "once");
        return tr && StatusString(tr, "phase") == "Succeeded";
      },
      std::chrono::seconds(40)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("twice-a", "api"), Replicas(2)));
  const std::string uid = (*tr)["metadata"].value("uid", "");
  const std::string log = ControllerLog();
  EXPECT_EQ(CountLines(log, {"\"recovery started\"", "twice/once"}), 1u) << log;
  EXPECT_EQ(CountLines(log, {"\"recovery started\"", "taskrun." + uid}), 1u)
      << "jobs are keyed by TaskRun uid";
  EXPECT_EQ(CountLines(log, {"\"watching TaskRuns in a destination cluster\"",
                             "127.0.0.1:" + std::to_string(destination_->port())}),
            1u)
      << "one TaskRun watch per cluster\n"
      << log;
}

// Issue 11: a blackholed cluster (accepts connections, never answers) used by one
// LiveSynchronization does not hold up another LiveSynchronization's TaskRun; once no
// LiveSynchronization uses it, its TaskRun watch stops.
TEST_F(ControllerE2eTest, ABlackholedClusterDoesNotStallOtherWork) {
  CreateClusters("slow");
  const int hole = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(hole, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(hole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(hole, 128), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(hole, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string server = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  WriteFileForTest(
      "blackhole.kubeconfig",
      "apiVersion: v1\nkind: Config\nclusters:\n- name: hole\n  cluster:\n    server: " + server +
          "\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\n"
          "contexts:\n- name: c\n  context:\n    cluster: hole\n    user: u\ncurrent-context: c\n");
  auto r = Kubectl(C::kDestination,
                   {"create", "secret", "generic", "blackhole", "-n", "slow",
                    "--from-file=kubeconfig.yaml=" + (work_->path() / "blackhole.kubeconfig").string()});
  ASSERT_EQ(r.code, 0) << r.output;
  // Several clusters and a LiveSynchronization on the blackhole, to occupy more than one worker.
  for (const std::string name : {"blackhole", "blackhole-2", "blackhole-3", "blackhole-4"}) {
    Apply(C::kDestination, "slow",
          "apiVersion: assets.astronetes.io/v1alpha1\nkind: KubernetesCluster\nmetadata:\n  name: " + name +
              "\nspec:\n  secretName: blackhole\n");
  }
  std::string stuck = ActivePassive("stuck", "slow-stuck");
  const std::string from = "destinationName: destination";
  stuck.replace(stuck.find(from), from.size(), "destinationName: blackhole");
  Apply(C::kDestination, "slow", stuck);
  ASSERT_TRUE(WaitFor([&] {
    return ControllerLog().find(std::to_string(ntohs(addr.sin_port))) != std::string::npos;
  })) << "the blackholed destination is in use\n"
      << ControllerLog();

  CreateNamespace(C::kSource, "slow-app", {{"dr", "slow-app"}});
  CreateDeployment("slow-app", "web", 4);
  Apply(C::kDestination, "slow", ActivePassive("quick", "slow-app"));
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("slow-app", "web"), Replicas(0),
                            std::chrono::seconds(30)))
      << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination,
                            "/apis/automation.astronetes.io/v1alpha1/namespaces/slow/tasks/quick", Exists,
                            std::chrono::seconds(20)));
  const auto start = std::chrono::steady_clock::now();
  Apply(C::kDestination, "slow", TaskRunYaml("fast", "quick"));
  std::optional<json> tr;
  EXPECT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("slow", "fast");
        return tr && StatusString(tr, "phase") == "Succeeded";
      },
      std::chrono::seconds(20)))
      << (tr ? tr->dump() : "none") << ControllerLog();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::cout << "TaskRun beside a blackholed cluster: Succeeded after " << took.count() << " ms\n";
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("slow-app", "web"), Replicas(4)));

  // No LiveSynchronization uses the blackhole any more: its TaskRun watch stops.
  ASSERT_EQ(
      Kubectl(C::kDestination, {"delete", "livesynchronization", "stuck", "-n", "slow", "--wait=false"}).code,
      0);
  EXPECT_TRUE(WaitFor(
      [] {
        return ControllerLog().find("stopped watching TaskRuns in a cluster no longer used") !=
               std::string::npos;
      },
      std::chrono::seconds(60)))
      << ControllerLog();
  for (const std::string name : {"blackhole", "blackhole-2", "blackhole-3", "blackhole-4"}) {
    EXPECT_EQ(Kubectl(C::kDestination, {"delete", "kubernetescluster", name, "-n", "slow"}).code, 0);
  }
  close(hole);
}

// Issue 11: fields accepted but not acted on are named in a ConfigurationWarning condition.
TEST_F(ControllerE2eTest, FieldsNotActedOnGiveAConfigurationWarning) {
  CreateClusters("warn");
  std::string yaml = ActivePassive("noted", "warn");
  const std::string from = "    observability:\n      enabled: false\n";
  ASSERT_NE(yaml.find(from), std::string::npos);
  yaml.replace(yaml.find(from), from.size(),
               "    observability:\n      enabled: true\n    bucketName: originals\n    components:\n"
               "      processor:\n        imagePullPolicy: Always\n        resources:\n          limits:\n"
               "            cpu: 500m\n      metricsExporter:\n        replicas: 1\n");
  Apply(C::kDestination, "warn", yaml);
  std::optional<json> ls;
  std::string message;
  EXPECT_TRUE(WaitFor([&] {
    ls = GetLiveSync("warn", "noted");
    if (!ls || !ls->contains("status")) return false;
    for (const auto& c : (*ls)["status"].value("conditions", json::array())) {
      if (c.value("type", "") == "ConfigurationWarning" && c.value("status", "") == "True") {
        message = c.value("message", "");
        return true;
      }
    }
    return false;
  })) << (ls ? ls->dump() : "none")
      << ControllerLog();
  for (const std::string field :
       {"spec.config.observability", "spec.config.bucketName",
        "spec.config.components.processor.imagePullPolicy", "spec.config.components.processor.resources",
        "spec.config.components.metricsExporter"}) {
    EXPECT_NE(message.find(field + ":"), std::string::npos) << field << " in: " << message;
  }
  EXPECT_TRUE(WaitFor([] { return HasEvent(C::kDestination, "warn", "noted", "ConfigurationWarning"); }));
  EXPECT_TRUE(WaitForPhase("warn", "noted", "Running")) << "warnings do not stop it";
}

// Issue 11: two controllers, one Lease: only the leader acts; killing it hands over, and the
// new leader watches TaskRuns from start-up, for a suspended LiveSynchronization too.
TEST_F(ControllerE2eTest, KillingTheLeaderHandsOverToTheStandbyController) {
  CreateClusters("lead");
  CreateNamespace(C::kSource, "lead-app", {{"dr", "lead-app"}});
  CreateDeployment("lead-app", "svc", 3);
  Apply(C::kDestination, "lead", ActivePassive("held", "lead-app"));
  ASSERT_TRUE(WaitForObject(C::kDestination, DeploymentPath("lead-app", "svc"), Replicas(0)))
      << ControllerLog();
  auto r = Kubectl(C::kDestination, {"patch", "livesynchronization", "held", "-n", "lead", "-p",
                                     R"({"spec":{"suspend":true}})", "--type=merge"});
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(WaitForPhase("lead", "held", "Suspended")) << ControllerLog();

  const auto standby_log = work_->path() / "standby.log";
  auto standby = testsupport::Process::Start(
      {.argv = {CONTROLLER_BIN, "--kubeconfig", destination_->kubeconfig_path("admin").string(),
                "--operator-namespace", "kubesync", "--work-dir",
                (work_->path() / "standby-runtime").string(), "--resync-interval-ms", "300",
                "--probe-interval-ms", "1000", "--allowed-task-namespaces", "admin-tasks",
                "--leader-election-lease-duration-ms", "3000", "--leader-election-renew-deadline-ms", "2000",
                "--leader-election-retry-period-ms", "500"},
       .stdout_path = standby_log,
       .stderr_path = standby_log});
  ASSERT_TRUE(standby.ok()) << standby.status().ToString();
  ASSERT_TRUE(WaitFor([&] {
    return testsupport::ReadFile(standby_log).find("waiting to become the leader") != std::string::npos;
  }));
  // While the leader lives the standby only waits: a change is acted on by the leader alone.
  Apply(C::kDestination, "lead", ActivePassive("later", "lead-later"));
  ASSERT_TRUE(WaitFor([] {
    auto ls = GetLiveSync("lead", "later");
    return ls && StatusString(ls, "phase") == "Running";
  })) << ControllerLog();
  EXPECT_EQ(testsupport::ReadFile(standby_log).find("became the leader"), std::string::npos)
      << testsupport::ReadFile(standby_log);
  auto lease =
      Get(C::kDestination, "/apis/coordination.k8s.io/v1/namespaces/kubesync/leases/kubesync-controller");
  ASSERT_TRUE(lease) << "no Lease";
  const std::string first_holder = (*lease)["spec"].value("holderIdentity", "");
  EXPECT_FALSE(first_holder.empty());

  controller_->Kill();
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor(
      [&] { return testsupport::ReadFile(standby_log).find("became the leader") != std::string::npos; },
      std::chrono::seconds(30)))
      << testsupport::ReadFile(standby_log);
  std::cout << "standby became the leader "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                     killed)
                   .count()
            << " ms after the leader was killed\n";
  lease = Get(C::kDestination, "/apis/coordination.k8s.io/v1/namespaces/kubesync/leases/kubesync-controller");
  ASSERT_TRUE(lease);
  EXPECT_NE((*lease)["spec"].value("holderIdentity", ""), first_holder);
  EXPECT_GE((*lease)["spec"].value("leaseTransitions", 0), 1);

  // The new leader honours a TaskRun for the suspended LiveSynchronization's Task.
  Apply(C::kDestination, "lead", TaskRunYaml("after-failover", "held"));
  std::optional<json> tr;
  EXPECT_TRUE(WaitFor(
      [&] {
        tr = GetTaskRun("lead", "after-failover");
        return tr && StatusString(tr, "phase") == "Succeeded";
      },
      std::chrono::seconds(40)))
      << (tr ? tr->dump() : "none") << testsupport::ReadFile(standby_log);
  EXPECT_TRUE(WaitForObject(C::kDestination, DeploymentPath("lead-app", "svc"), Replicas(3)));

  // Hand the Lease back (SIGTERM releases it) and restore the suite's controller.
  EXPECT_EQ(standby->Stop(std::chrono::seconds(20)), 0) << testsupport::ReadFile(standby_log);
  EXPECT_NE(testsupport::ReadFile(standby_log).find("released the leadership"), std::string::npos);
  StartController();
  EXPECT_TRUE(WaitFor([] { return ControllerLog().find("became the leader") != std::string::npos; },
                      std::chrono::seconds(20)));
}

TEST_F(ControllerE2eTest, AKilledControllerTakesItsComponentsAlongAndResumesOnRestart) {
  CreateClusters("again");
  CreateNamespace(C::kSource, "again-app", {{"dr", "again"}});
  CreateConfigMap("again-app", "before", {{"v", "1"}});
  CreateConfigMap("again-app", "doomed", {{"v", "1"}});
  Apply(C::kDestination, "again", ActivePassive("resumable", "again"));
  // A second one, deleted while no controller runs: its finalizer holds it until cleaned.
  CreateNamespace(C::kSource, "again-gone", {{"dr", "again-gone"}});
  CreateConfigMap("again-gone", "x", {{"v", "1"}});
  Apply(C::kDestination, "again", ActivePassive("ephemeral", "again-gone"));
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-gone", "x"), Exists)) << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "before"), Exists))
      << ControllerLog();
  ASSERT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "doomed"), Exists))
      << ControllerLog();

  std::vector<pid_t> children;
  for (const char* comm : {"eventslistener", "processor", "synchronizer", "nats-server", "redis-server"}) {
    for (pid_t pid : ChildPids(comm)) children.push_back(pid);
  }
  ASSERT_GE(children.size(), 5u);
  controller_->Kill();  // SIGKILL: no chance to stop anything itself
  // Its components and servers stop with it: a restarted controller must not find stray
  // copies still writing.
  EXPECT_TRUE(WaitFor(
      [&] {
        return std::none_of(children.begin(), children.end(), [](pid_t pid) {
          std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
          std::string line;
          std::getline(stat, line);
          const auto close = line.rfind(')');
          return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
        });
      },
      std::chrono::seconds(15)));

  // Changes while nothing runs, then a new controller on the same work directory.
  CreateConfigMap("again-app", "during", {{"v", "1"}});
  ASSERT_EQ(Kubectl(C::kSource, {"delete", "configmap", "doomed", "-n", "again-app"}).code, 0);
  ASSERT_EQ(
      Kubectl(C::kDestination, {"delete", "livesynchronization", "ephemeral", "-n", "again", "--wait=false"})
          .code,
      0);
  EXPECT_TRUE(GetLiveSync("again", "ephemeral").has_value())
      << "held by its finalizer while no controller runs";
  StartController();
  EXPECT_TRUE(
      WaitFor([] { return !GetLiveSync("again", "ephemeral").has_value(); }, std::chrono::seconds(30)))
      << ControllerLog();
  EXPECT_EQ(CountLines(ControllerLog(), {"LiveSynchronization cleaned up", "again.ephemeral"}), 1u)
      << ControllerLog();
  EXPECT_FALSE(std::filesystem::exists(work_->path() / "runtime" / "again.ephemeral"));
  // Generous: the restarted set re-lists the source on a machine that may be loaded.
  EXPECT_TRUE(
      WaitForObject(C::kDestination, ConfigMapPath("again-app", "during"), Exists, std::chrono::seconds(90)))
      << ControllerLog();
  EXPECT_TRUE(
      WaitForObject(C::kDestination, ConfigMapPath("again-app", "doomed"), Gone, std::chrono::seconds(60)))
      << ControllerLog();
  EXPECT_TRUE(WaitForObject(C::kDestination, ConfigMapPath("again-app", "before"), Exists));
  EXPECT_TRUE(WaitForPhase("again", "resumable", "Running")) << ControllerLog();
}

TEST_F(ControllerE2eTest, TheAuditWebhookAnnotatesChangesToOurResources) {
  const json review = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
        {"kind",
         {{"group", "automation.astronetes.io"}, {"version", "v1alpha1"}, {"kind", "LiveSynchronization"}}},
        {"resource",
         {{"group", "automation.astronetes.io"},
          {"version", "v1alpha1"},
          {"resource", "livesynchronizations"}}},
        {"name", "x"},
        {"namespace", "dr"},
        {"operation", "CREATE"},
        {"userInfo",
         {{"username", "system:serviceaccount:preproduction:microservice1"}, {"uid", "b3fd2a87"}}},
        {"object",
         {{"apiVersion", "automation.astronetes.io/v1alpha1"},
          {"kind", "LiveSynchronization"},
          {"metadata", {{"name", "x"}}},
          {"spec", {{"suspend", false}}}}}}}};
  testsupport::WriteFile(work_->path() / "review.json", review.dump());
  const auto out = work_->path() / "review.out";
  auto curl =
      testsupport::Process::Start({.argv = {"curl", "-sS", "--cacert", destination_->ca_path().string(), "-H",
                                            "Content-Type: application/json", "--data-binary",
                                            "@" + (work_->path() / "review.json").string(),
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
