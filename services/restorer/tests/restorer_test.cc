// The restorer against the kube-emulator: TaskRun status from start to end, invalid and
// missing Tasks, re-runs, and the binary end to end.
#include "restorer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/errors.h"
#include "kubesync/recovery/task.h"
#include "kubesync/testsupport/emulator.h"
#include "kubesync/testsupport/process.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"

namespace kubesync::restorer {
namespace {

using nlohmann::json;
using testsupport::Emulator;

// Minimal stand-ins for the chart's CRDs: namespaced, any content, status subresource.
json Crd(const std::string& plural, const std::string& kind) {
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", plural + ".automation.astronetes.io"}}},
          {"spec",
           {{"group", "automation.astronetes.io"},
            {"scope", "Namespaced"},
            {"names",
             {{"plural", plural},
              {"singular", kind == "Task" ? "task" : "taskrun"},
              {"kind", kind},
              {"listKind", kind + "List"}}},
            {"versions",
             json::array({{{"name", "v1alpha1"},
                           {"served", true},
                           {"storage", true},
                           {"subresources", {{"status", json::object()}}},
                           {"schema",
                            {{"openAPIV3Schema",
                              {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}}})}}}};
}

// True when a log line has this msg.
bool Logged(const log::MemorySink& sink, const std::string& msg) {
  for (const std::string& line : sink.Lines()) {
    const json entry = json::parse(line, nullptr, false);
    if (!entry.is_discarded() && entry.value("msg", "") == msg) return true;
  }
  return false;
}

const json kControllerCondition = {{"type", "LiveSynchronizationRunning"},
                                   {"status", "True"},
                                   {"reason", "NotSuspended"},
                                   {"message", "the run goes ahead"},
                                   {"lastTransitionTime", "2023-11-14T22:00:00Z"}};

class RestorerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto emulator = Emulator::Start();
    ASSERT_TRUE(emulator.ok()) << emulator.status().ToString();
    emulator_ = std::move(*emulator);
    auto kc = kube::Kubeconfig::LoadFile(emulator_->kubeconfig_path("admin"));
    ASSERT_TRUE(kc.ok()) << kc.status().ToString();
    auto client = kube::Client::Create(kc->ToRestConfig().value());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    for (const auto& [plural, kind] : {std::pair{"tasks", "Task"}, std::pair{"taskruns", "TaskRun"}}) {
      auto reply = emulator_->Request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      Crd(plural, kind));
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      ASSERT_EQ(reply->status, 201) << reply->body.dump();
    }
    for (const char* ns : {"dr", "shop"}) {
      ASSERT_TRUE(client_
                      ->Create({.version = "v1", .resource = "namespaces"},
                               {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}})
                      .ok());
    }
    options_.namespace_ = "dr";
    options_.taskrun = "restore";
    options_.clock = &clock_;
  }

  static kube::ResourceRef Ref(const std::string& resource, const std::string& name,
                               const std::string& ns = "dr") {
    if (resource == "deployments")
      return {.group = "apps", .version = "v1", .resource = resource, .ns = ns, .name = name};
    return {.group = "automation.astronetes.io",
            .version = "v1alpha1",
            .resource = resource,
            .ns = ns,
            .name = name};
  }

  // A Deployment as the synchronizer writes it: replicas 0, the source's value recorded.
  void CreateManaged(const std::string& name, int replicas) {
    const json source = {{"apiVersion", "apps/v1"},
                         {"kind", "Deployment"},
                         {"metadata", {{"name", name}, {"namespace", "shop"}}},
                         {"spec",
                          {{"replicas", replicas},
                           {"selector", {{"matchLabels", {{"app", name}}}}},
                           {"template", {{"metadata", {{"labels", {{"app", name}}}}}}}}}};
    auto t = transform::ApplyTransformation(source, {{plan::PatchOp::kReplace, "/spec/replicas", 0}}, false);
    ASSERT_TRUE(t.ok());
    transform::Mark(
        t->object,
        {.ls_namespace = "dr", .ls_name = "warm", .source_uid = "u", .source_resource_version = "1"},
        t->originals);
    ASSERT_TRUE(client_->Create(Ref("deployments", "", "shop"), t->object).ok());
  }

  void CreateDerivedTask(const std::vector<plan::PatchOperation>& ops, bool from_original) {
    plan::Plan p;
    p.name = "warm";
    p.namespace_ = "dr";
    plan::Rule rule;
    rule.gvr = {"apps", "v1", "deployments"};
    rule.recovery_patch.operations = ops;
    rule.recover_from_original = from_original;
    p.rules = {rule};
    auto created = client_->Create(Ref("tasks", ""), recovery::DeriveTask(p, "dr"));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // A TaskRun as the controller leaves it before starting the restorer.
  void CreateTaskRun(const std::string& task_name) {
    auto created =
        client_->Create(Ref("taskruns", ""), {{"apiVersion", "automation.astronetes.io/v1alpha1"},
                                              {"kind", "TaskRun"},
                                              {"metadata", {{"name", "restore"}, {"namespace", "dr"}}},
                                              {"spec", {{"taskName", task_name}}}});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    json object = *created;
    object["status"] = {{"phase", "Pending"}, {"conditions", json::array({kControllerCondition})}};
    kube::ResourceRef status_ref = Ref("taskruns", "restore");
    status_ref.subresource = "status";
    auto updated = client_->Update(status_ref, object);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  }

  json TaskRunStatus() {
    auto got = client_->Get(Ref("taskruns", "restore"));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? got->value("status", json()) : json();
  }
  int64_t Replicas(const std::string& name) {
    return client_->Get(Ref("deployments", name, "shop")).value()["spec"]["replicas"].get<int64_t>();
  }
  int Restore() { return RestoreTaskRun(*client_, options_, logger_); }

  testing::FakeClock clock_;
  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  log::Logger logger_{{.process_id = "restorer"}, sink_};
  RestorerOptions options_;
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<kube::Client> client_;
};

TEST_F(RestorerTest, SucceededStatusIsCompleteAndARerunIsANoOp) {
  CreateManaged("web", 3);
  CreateManaged("api", 5);
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("warm");
  std::vector<json> seen_while_running;
  options_.run.before_object = [&](const json&) {
    seen_while_running.push_back(TaskRunStatus());
    clock_.Advance(std::chrono::milliseconds(750));
  };

  EXPECT_EQ(Restore(), kExitSucceeded);
  ASSERT_EQ(seen_while_running.size(), 2u);
  EXPECT_EQ(seen_while_running[0], json({{"phase", "Running"},
                                         {"startTime", "2023-11-14T22:13:20Z"},
                                         {"liveSynchronization", "dr.warm"},
                                         {"conditions", json::array({kControllerCondition})}}));
  const json want = {{"phase", "Succeeded"},
                     {"startTime", "2023-11-14T22:13:20Z"},
                     {"completionTime", "2023-11-14T22:13:21Z"},
                     {"duration", "1.5s"},
                     {"objectsPatched", 2},
                     {"objectsSkipped", 0},
                     {"objectsFailed", 0},
                     {"failures", json::array()},
                     {"message", "restored: 2 patched, 0 skipped, 0 failed"},
                     {"liveSynchronization", "dr.warm"},
                     {"conditions", json::array({kControllerCondition})}};
  EXPECT_EQ(TaskRunStatus(), want);
  EXPECT_EQ(Replicas("web"), 3);
  EXPECT_EQ(Replicas("api"), 5);

  // Running it again on the finished TaskRun writes nothing.
  ASSERT_TRUE(client_
                  ->Update(Ref("deployments", "web", "shop"),
                           [&] {
                             json web = client_->Get(Ref("deployments", "web", "shop")).value();
                             web["spec"]["replicas"] = 0;
                             return web;
                           }())
                  .ok());
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  EXPECT_EQ(Restore(), kExitSucceeded);
  EXPECT_EQ(emulator_->CountRequests("update", "*").value(), 0);
  EXPECT_EQ(TaskRunStatus(), want);
  EXPECT_EQ(Replicas("web"), 0);
}

TEST_F(RestorerTest, StatusWriteRedoesOnConflictAndKeepsTheControllersConditions) {
  CreateManaged("web", 3);
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("warm");
  const json added = {{"type", "Suspended"},
                      {"status", "True"},
                      {"reason", "TaskRun"},
                      {"message", "m"},
                      {"lastTransitionTime", "2023-11-14T22:13:20Z"}};
  options_.run.before_object = [&](const json&) {
    // The controller writes a condition while the restorer runs: the restorer's copy of
    // the TaskRun is now stale and its final status write meets 409 Conflict.
    json taskrun = client_->Get(Ref("taskruns", "restore")).value();
    taskrun["status"]["conditions"].push_back(added);
    kube::ResourceRef ref = Ref("taskruns", "restore");
    ref.subresource = "status";
    ASSERT_TRUE(client_->Update(ref, taskrun).ok());
  };
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  EXPECT_EQ(Restore(), kExitSucceeded);
  const json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["conditions"], json::array({kControllerCondition, added}));
  // Running, the hook's write, the conflicting final write and its retry.
  EXPECT_EQ(emulator_->CountRequests("update", "taskruns/status").value(), 4);
}

TEST_F(RestorerTest, InvalidTaskFailsNamingTheField) {
  auto docs = json::parse(R"({
    "apiVersion": "automation.astronetes.io/v1alpha1", "kind": "Task",
    "metadata": {"name": "set-test-label", "namespace": "dr"},
    "spec": {"plugin": "kubernetes-objects-transformation", "config": {"resources": [{
      "identifier": {"group": "apps", "version": "v1", "resource": "deployments"},
      "patch": {"operations": [{"op": "merge", "path": "/labels/test", "value": "ok"}]}}]}}})");
  ASSERT_TRUE(client_->Create(Ref("tasks", ""), docs).ok());
  CreateTaskRun("set-test-label");
  EXPECT_EQ(Restore(), kExitFailed);
  json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(status["message"],
            "invalid Task \"set-test-label\": spec.config.resources[0].patch.operations[0].op: unsupported "
            "operation \"merge\": want replace, add or remove");
  EXPECT_EQ(status["objectsPatched"], 0);
  EXPECT_EQ(status["objectsFailed"], 0);
  EXPECT_FALSE(status.contains("liveSynchronization"));
  EXPECT_TRUE(status.contains("completionTime"));
  EXPECT_EQ(status["duration"], "0s");

  ASSERT_TRUE(emulator_->ResetCounters().ok());
  EXPECT_EQ(Restore(), kExitFailed);
  EXPECT_EQ(emulator_->CountRequests("update", "*").value(), 0);
}

TEST_F(RestorerTest, ReferenceShapeTaskRunsWithAWarning) {
  // seeds/002's Task as the reference writes it (identifier.resources).
  CreateManaged("web", 3);
  auto task = json::parse(R"({
    "apiVersion": "automation.astronetes.io/v1alpha1", "kind": "Task",
    "metadata": {"name": "active-passive", "namespace": "dr"},
    "spec": {"plugin": "kubernetes-objects-transformation", "config": {"resources": [{
      "identifier": {"group": "apps", "version": "v1", "resources": "deployments"},
      "patch": {"operations": [{"op": "replace", "path": "/spec/replicas", "value": 1}]}}]}}})");
  ASSERT_TRUE(client_->Create(Ref("tasks", ""), task).ok());
  CreateTaskRun("active-passive");
  EXPECT_EQ(Restore(), kExitSucceeded);
  const json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["warnings"], json::array({"spec.config.resources[0].identifier.resources: read as "
                                             "identifier.resource (the reference samples' spelling)"}));
  EXPECT_EQ(Replicas("web"), 1);
}

TEST_F(RestorerTest, MissingTaskFailsNamingItAndTheTasksThere) {
  // seeds/002's TaskRun names set-test-label; the Task kubesync creates is named after the
  // LiveSynchronization.
  CreateTaskRun("set-test-label");
  EXPECT_EQ(Restore(), kExitFailed);
  json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(status["message"],
            "Task \"set-test-label\" not found in namespace \"dr\" (there are no Tasks there)");
  EXPECT_EQ(status["conditions"], json::array({kControllerCondition}));

  ASSERT_TRUE(client_->Delete(Ref("taskruns", "restore")).ok());
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("set-test-label");
  EXPECT_EQ(Restore(), kExitFailed);
  status = TaskRunStatus();
  EXPECT_EQ(status["message"], "Task \"set-test-label\" not found in namespace \"dr\" (Tasks there: warm)");
}

TEST_F(RestorerTest, ObjectFailuresFailTheRun) {
  CreateManaged("web", 3);
  CreateDerivedTask({{plan::PatchOp::kReplace, "/spec/paused", true}}, /*from_original=*/false);
  CreateTaskRun("warm");
  EXPECT_EQ(Restore(), kExitFailed);
  const json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(status["objectsFailed"], 1);
  EXPECT_EQ(status["failures"], json::parse(R"([{"object": "apps/v1/deployments shop/web",
                             "reason": "operation 0 (replace /spec/paused): doc is missing key: /spec/paused"}])"));
  EXPECT_EQ(status["message"],
            "restore failed: 0 patched, 0 skipped, 1 failed; first failure: apps/v1/deployments shop/web: "
            "operation 0 (replace /spec/paused): doc is missing key: /spec/paused");
}

TEST_F(RestorerTest, MissingTaskRunCannotWriteStatus) { EXPECT_EQ(Restore(), kExitNoStatus); }

TEST_F(RestorerTest, BinaryEndToEnd) {
  CreateManaged("web", 3);
  CreateDerivedTask({{plan::PatchOp::kAdd, "/metadata/labels/recovered", "yes"}}, /*from_original=*/true);
  CreateTaskRun("warm");
  testsupport::TempDir dir;
  auto process = testsupport::Process::Start(
      {.argv = {RESTORER_BIN, "--destination-kubeconfig", emulator_->kubeconfig_path("admin").string(),
                "--namespace", "dr", "--taskrun", "restore", "--consumer-id", "restorer-test"},
       .stdout_path = dir.path() / "out.log",
       .stderr_path = dir.path() / "err.log"});
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  EXPECT_EQ(process->Wait(std::chrono::seconds(30)), 0) << testsupport::ReadFile(dir.path() / "err.log");
  const json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["objectsPatched"], 1);
  EXPECT_EQ(Replicas("web"), 3);
  // JSON log lines with the process identity.
  bool finished_logged = false;
  std::istringstream lines(testsupport::ReadFile(dir.path() / "out.log"));
  for (std::string line; std::getline(lines, line);) {
    const json entry = json::parse(line, nullptr, false);
    ASSERT_FALSE(entry.is_discarded()) << line;
    EXPECT_EQ(entry["process"]["id"], "restorer");
    EXPECT_EQ(entry["process"]["consumerID"], "restorer-test");
    finished_logged |= entry["msg"] == "taskrun finished";
  }
  EXPECT_TRUE(finished_logged);

  // Again: already Succeeded, exit 0.
  auto again = testsupport::Process::Start(
      {.argv = {RESTORER_BIN, "--destination-kubeconfig", emulator_->kubeconfig_path("admin").string(),
                "--namespace", "dr", "--taskrun", "restore"},
       .stdout_path = dir.path() / "again.log"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Wait(std::chrono::seconds(30)), 0);
}

TEST_F(RestorerTest, RunningTaskRunIsNeverRunAgain) {
  // Claimed by another restorer (or left Running by one that was killed).
  CreateManaged("web", 3);
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("warm");
  json taskrun = client_->Get(Ref("taskruns", "restore")).value();
  taskrun["status"]["phase"] = "Running";
  kube::ResourceRef status_ref = Ref("taskruns", "restore");
  status_ref.subresource = "status";
  ASSERT_TRUE(client_->Update(status_ref, taskrun).ok());
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  EXPECT_EQ(Restore(), kExitNotClaimed);
  EXPECT_EQ(emulator_->CountRequests("update", "*").value(), 0);
  EXPECT_EQ(Replicas("web"), 0);
  EXPECT_EQ(TaskRunStatus()["phase"], "Running");
  EXPECT_TRUE(Logged(*sink_, "taskrun already claimed"));
}

TEST_F(RestorerTest, ClaimLostToAnotherRestorerTouchesNothing) {
  CreateManaged("web", 3);
  CreateManaged("api", 5);
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("warm");
  // A second restorer claims and runs the TaskRun between this one's read and its claim.
  auto other_sink = std::make_shared<log::MemorySink>();
  log::Logger other_logger({.process_id = "restorer"}, other_sink);
  int other_exit = -1;
  long other_updates = -1;
  options_.before_claim = [&] {
    RestorerOptions other = options_;
    other.before_claim = nullptr;
    other_exit = RestoreTaskRun(*client_, other, other_logger);
    other_updates = emulator_->CountRequests("update", "deployments").value();
  };
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  EXPECT_EQ(Restore(), kExitNotClaimed);
  EXPECT_EQ(other_exit, kExitSucceeded);
  // Exactly one restorer patched the objects: the two Deployments once each.
  EXPECT_EQ(other_updates, 2);
  EXPECT_EQ(emulator_->CountRequests("update", "deployments").value(), 2);
  EXPECT_TRUE(Logged(*sink_, "taskrun claimed by another restorer"));
  EXPECT_EQ(Replicas("web"), 3);
  EXPECT_EQ(Replicas("api"), 5);
  const json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["objectsPatched"], 2);
}

TEST_F(RestorerTest, AConditionWrittenBeforeTheClaimIsNotAClaim) {
  CreateManaged("web", 3);
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("warm");
  // The controller writes a condition (phase still Pending): the claim meets 409, reads the
  // TaskRun again and claims it.
  options_.before_claim = [&] {
    json taskrun = client_->Get(Ref("taskruns", "restore")).value();
    taskrun["status"]["conditions"].push_back({{"type", "Other"},
                                               {"status", "True"},
                                               {"reason", "R"},
                                               {"message", "m"},
                                               {"lastTransitionTime", "x"}});
    kube::ResourceRef ref = Ref("taskruns", "restore");
    ref.subresource = "status";
    ASSERT_TRUE(client_->Update(ref, taskrun).ok());
  };
  EXPECT_EQ(Restore(), kExitSucceeded);
  EXPECT_EQ(TaskRunStatus()["phase"], "Succeeded");
  EXPECT_EQ(TaskRunStatus()["conditions"].size(), 2u);
  EXPECT_EQ(Replicas("web"), 3);
}

TEST_F(RestorerTest, TwoRestorerBinariesOnOneTaskRunPatchOnce) {
  // Two restorers started for one TaskRun at once (the controller twice, or two controllers):
  // exactly one runs the Task.
  constexpr int kDeployments = 20;
  for (int i = 0; i < kDeployments; ++i) CreateManaged("app-" + std::to_string(i), i + 1);
  CreateDerivedTask({}, /*from_original=*/true);
  CreateTaskRun("warm");
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  testsupport::TempDir dir;
  std::vector<testsupport::Process> processes;
  for (int i = 0; i < 2; ++i) {
    auto process = testsupport::Process::Start(
        {.argv = {RESTORER_BIN, "--destination-kubeconfig", emulator_->kubeconfig_path("admin").string(),
                  "--namespace", "dr", "--taskrun", "restore", "--consumer-id",
                  "restorer-" + std::to_string(i)},
         .stdout_path = dir.path() / ("out-" + std::to_string(i) + ".log")});
    ASSERT_TRUE(process.ok()) << process.status().ToString();
    processes.push_back(std::move(*process));
  }
  std::vector<int> exits;
  for (auto& p : processes) exits.push_back(p.Wait(std::chrono::seconds(60)).value_or(-1));
  // One Succeeded; the other lost the claim (3), or started after the end and found the
  // TaskRun finished (0), never ran it again.
  std::sort(exits.begin(), exits.end());
  EXPECT_EQ(exits[0], kExitSucceeded);
  EXPECT_TRUE(exits[1] == kExitSucceeded || exits[1] == kExitNotClaimed) << exits[1];
  EXPECT_EQ(emulator_->CountRequests("update", "deployments").value(), kDeployments);
  const json status = TaskRunStatus();
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(status["objectsPatched"], kDeployments);
  for (int i = 0; i < kDeployments; ++i) EXPECT_EQ(Replicas("app-" + std::to_string(i)), i + 1);
}

TEST(FormatGoDurationTest, LikeGo) {
  using std::chrono::milliseconds;
  EXPECT_EQ(FormatGoDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(532)), "532ms");
  EXPECT_EQ(FormatGoDuration(milliseconds(1532)), "1.532s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(123'000)), "2m3s");
  EXPECT_EQ(FormatGoDuration(milliseconds(3'605'200)), "1h0m5.2s");
  EXPECT_EQ(FormatGoDuration(milliseconds(60'000)), "1m0s");
}

}  // namespace
}  // namespace kubesync::restorer
