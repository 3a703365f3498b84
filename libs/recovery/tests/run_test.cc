// RunTask against the kube-emulator: destination Deployments written the way the live
// pipeline writes them (transformed, marked with their original values), then restored.
#include <gtest/gtest.h>

#include <memory>

#include "kubesync/kube/client.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/errors.h"
#include "kubesync/labels/selector.h"
#include "kubesync/recovery/task.h"
#include "kubesync/testsupport/emulator.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"

namespace kubesync::recovery {
namespace {

using nlohmann::json;
using testsupport::Emulator;

constexpr char kId[] = "dr.warm";

class RunTaskTest : public ::testing::Test {
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
    CreateNamespace("shop", {{"sync", "true"}});
    CreateNamespace("other", json::object());
    CreateNamespace("kube-system", json::object());
  }

  void CreateNamespace(const std::string& name, const json& labels) {
    auto created = client_->Create(
        {.version = "v1", .resource = "namespaces"},
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}, {"labels", labels}}}});
    ASSERT_TRUE(created.ok() || kube::IsAlreadyExists(created.status())) << created.status().ToString();
  }

  static kube::ResourceRef Deployments(const std::string& ns, const std::string& name = "") {
    return {.group = "apps", .version = "v1", .resource = "deployments", .ns = ns, .name = name};
  }

  static json SourceDeployment(const std::string& ns, const std::string& name, int replicas) {
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", {{"app", name}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", name}}}}},
                {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "nginx"}}})}}}}}}}};
  }

  // What the synchronizer writes for a source Deployment of `replicas`: replicas 0 and
  // the original value in kubesync.io/original-values.
  void CreateManaged(const std::string& ns, const std::string& name, int replicas) {
    auto t = transform::ApplyTransformation(SourceDeployment(ns, name, replicas),
                                            {{plan::PatchOp::kReplace, "/spec/replicas", 0}}, false);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transform::Mark(t->object,
                    {.ls_namespace = "dr",
                     .ls_name = "warm",
                     .source_uid = "uid-" + name,
                     .source_resource_version = "7"},
                    t->originals);
    auto created = client_->Create(Deployments(ns), t->object);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // A Deployment kubesync did not write.
  void CreateUnmanaged(const std::string& ns, const std::string& name, int replicas) {
    auto created = client_->Create(Deployments(ns), SourceDeployment(ns, name, replicas));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  json Get(const std::string& ns, const std::string& name) {
    auto got = client_->Get(Deployments(ns, name));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : json();
  }
  int64_t Replicas(const std::string& ns, const std::string& name) {
    return Get(ns, name)["spec"]["replicas"].get<int64_t>();
  }
  long Updates() { return emulator_->CountRequests("update", "deployments").value_or(-1); }

  // A plan with one deployments rule, through DeriveTask and ParseTask as the restorer gets it.
  static TaskSpec DerivedTask(const plan::Rule& rule) {
    plan::Plan p;
    p.name = "warm";
    p.namespace_ = "dr";
    p.rules = {rule};
    auto spec = ParseTask(DeriveTask(p, "dr"));
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return spec.ok() ? *spec : TaskSpec{};
  }
  static plan::Rule DeploymentRule() {
    plan::Rule rule;
    rule.gvr = {"apps", "v1", "deployments"};
    return rule;
  }

  RunReport Run(const TaskSpec& task, const RunOptions& options = {}) {
    auto report = RunTask(*client_, task, logger_, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : RunReport{};
  }

  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  log::Logger logger_{{.process_id = "restorer", .level = log::Level::kDebug}, sink_};
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<kube::Client> client_;
};

TEST_F(RunTaskTest, FromPatchOnManagedDeploymentsOnly) {
  CreateManaged("shop", "web", 3);
  CreateManaged("shop", "api", 5);
  CreateManaged("other", "batch", 2);       // namespace not selected
  CreateUnmanaged("shop", "hand-made", 0);  // not written by kubesync
  plan::Rule rule = DeploymentRule();
  rule.namespace_selector = labels::Selector::Parse("sync=true").value();
  rule.recovery_patch.operations = {{plan::PatchOp::kReplace, "/spec/replicas", 1}};
  const TaskSpec task = DerivedTask(rule);

  RunReport report = Run(task);
  EXPECT_EQ(report.patched, 2);
  EXPECT_EQ(report.skipped, 0);
  EXPECT_EQ(report.failed, 0);
  EXPECT_TRUE(report.failures.empty());
  EXPECT_EQ(Replicas("shop", "web"), 1);
  EXPECT_EQ(Replicas("shop", "api"), 1);
  EXPECT_EQ(Replicas("other", "batch"), 0);
  EXPECT_EQ(Replicas("shop", "hand-made"), 0);
  // fromPatch alone keeps the record of the source values.
  EXPECT_TRUE(Get("shop", "web")["metadata"]["annotations"].contains(transform::kOriginalValuesAnnotation));

  // Again: the patch changes nothing now, so nothing is written.
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  report = Run(task);
  EXPECT_EQ(report.patched, 0);
  EXPECT_EQ(report.skipped, 2);
  EXPECT_EQ(Updates(), 0);
}

TEST_F(RunTaskTest, FromOriginalBringsBackTheSourceValues) {
  CreateManaged("shop", "web", 3);
  CreateManaged("other", "api", 5);
  CreateUnmanaged("other", "hand-made", 0);
  plan::Rule rule = DeploymentRule();
  rule.recover_from_original = true;
  const TaskSpec task = DerivedTask(rule);

  RunReport report = Run(task);
  EXPECT_EQ(report.patched, 2);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(Replicas("shop", "web"), 3);
  EXPECT_EQ(Replicas("other", "api"), 5);
  EXPECT_EQ(Replicas("other", "hand-made"), 0);
  EXPECT_FALSE(Get("shop", "web")["metadata"]["annotations"].contains(transform::kOriginalValuesAnnotation));
  // Still kubesync's object.
  EXPECT_TRUE(transform::IsManagedBy(Get("shop", "web"), kId));

  ASSERT_TRUE(emulator_->ResetCounters().ok());
  report = Run(task);
  EXPECT_EQ(report.patched, 0);
  EXPECT_EQ(report.skipped, 2);
  EXPECT_EQ(Updates(), 0);
}

TEST_F(RunTaskTest, FromOriginalThenPatch) {
  CreateManaged("shop", "web", 3);
  plan::Rule rule = DeploymentRule();
  rule.recover_from_original = true;
  rule.recovery_patch.operations = {{plan::PatchOp::kAdd, "/metadata/labels/recovered", "yes"}};
  RunReport report = Run(DerivedTask(rule));
  EXPECT_EQ(report.patched, 1);
  const json web = Get("shop", "web");
  EXPECT_EQ(web["spec"]["replicas"], 3);
  EXPECT_EQ(web["metadata"]["labels"]["recovered"], "yes");
}

TEST_F(RunTaskTest, DerivedStepRestoresTheSourceReplicaCounts) {
  // seeds/002: a transformation with no recovery step. The derived Task brings back the
  // replica counts the source had (3 and 5), not a constant.
  CreateManaged("shop", "web", 3);
  CreateManaged("shop", "api", 5);
  CreateManaged("other", "batch", 2);  // namespace not selected
  plan::Rule rule = DeploymentRule();
  rule.namespace_selector = labels::Selector::Parse("sync=true").value();
  rule.transformation.operations = {{plan::PatchOp::kReplace, "/spec/replicas", 0}};
  const TaskSpec task = DerivedTask(rule);
  ASSERT_EQ(task.resources.size(), 1u);
  EXPECT_EQ(task.resources[0].original_paths, std::vector<std::string>{"/spec/replicas"});

  RunReport report = Run(task);
  EXPECT_EQ(report.patched, 2);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(Replicas("shop", "web"), 3);
  EXPECT_EQ(Replicas("shop", "api"), 5);
  EXPECT_EQ(Replicas("other", "batch"), 0);
  EXPECT_FALSE(Get("shop", "web")["metadata"]["annotations"].contains(transform::kOriginalValuesAnnotation));

  ASSERT_TRUE(emulator_->ResetCounters().ok());
  report = Run(task);
  EXPECT_EQ(report.skipped, 2);
  EXPECT_EQ(Updates(), 0);
}

TEST_F(RunTaskTest, OriginalPathsRestoreOnlyThoseAndKeepTheRestRecorded) {
  // Transformed: replicas and a label; the Task restores only the label's path.
  auto t = transform::ApplyTransformation(SourceDeployment("shop", "web", 3),
                                          {{plan::PatchOp::kReplace, "/spec/replicas", 0},
                                           {plan::PatchOp::kReplace, "/metadata/labels/app", "standby"}},
                                          false);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  transform::Mark(
      t->object, {.ls_namespace = "dr", .ls_name = "warm", .source_uid = "u", .source_resource_version = "7"},
      t->originals);
  ASSERT_TRUE(client_->Create(Deployments("shop"), t->object).ok());
  TaskSpec task;
  task.name = "warm";
  task.namespace_ = "dr";
  task.live_synchronization = kId;
  TaskResource r;
  r.gvr = {"apps", "v1", "deployments"};
  r.rule.gvr = r.gvr;
  r.rule.recover_from_original = true;
  r.original_paths = {"/metadata/labels"};  // contains the recorded /metadata/labels/app
  task.resources = {r};

  RunReport report = Run(task);
  EXPECT_EQ(report.patched, 1);
  const json web = Get("shop", "web");
  EXPECT_EQ(web["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(web["spec"]["replicas"], 0);
  const std::string left = web["metadata"]["annotations"][transform::kOriginalValuesAnnotation];
  EXPECT_EQ(json::parse(left), json::parse(R"([{"path": "/spec/replicas", "value": 3}])"));
}

TEST_F(RunTaskTest, ObjectDeletedBeforeUpdateIsSkipped) {
  CreateManaged("shop", "web", 3);
  CreateManaged("shop", "gone", 4);
  plan::Rule rule = DeploymentRule();
  rule.recover_from_original = true;
  RunOptions options;
  options.before_object = [&](const json& listed) {
    if (listed["metadata"]["name"] == "gone") {
      ASSERT_TRUE(client_->Delete(Deployments("shop", "gone")).ok());
    }
  };
  RunReport report = Run(DerivedTask(rule), options);
  EXPECT_EQ(report.patched, 1);
  EXPECT_EQ(report.skipped, 1);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(Replicas("shop", "web"), 3);
  EXPECT_EQ(client_->Get(Deployments("shop", "gone")).status().code(), Code::kNotFound);
}

TEST_F(RunTaskTest, ConflictRedoesTheReadModifyWrite) {
  CreateManaged("shop", "web", 3);
  plan::Rule rule = DeploymentRule();
  rule.recover_from_original = true;
  RunOptions options;
  options.before_object = [&](const json& listed) {
    // Someone else writes the object after the list: the listed resourceVersion is stale.
    json changed = listed;
    changed["metadata"]["labels"]["touched"] = "yes";
    ASSERT_TRUE(client_->Update(Deployments("shop", "web"), changed).ok());
  };
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  RunReport report = Run(DerivedTask(rule), options);
  EXPECT_EQ(report.patched, 1);
  EXPECT_EQ(report.failed, 0);
  const json web = Get("shop", "web");
  EXPECT_EQ(web["spec"]["replicas"], 3);
  EXPECT_EQ(web["metadata"]["labels"]["touched"], "yes");  // the other writer's change is kept
  EXPECT_EQ(Updates(), 3);                                 // the hook's, the conflicting one, the retried one
}

TEST_F(RunTaskTest, FailuresAreReportedPerObject) {
  CreateManaged("shop", "web", 3);
  plan::Rule rule = DeploymentRule();
  rule.recovery_patch.operations = {{plan::PatchOp::kReplace, "/spec/paused", true}};
  plan::Rule widgets;
  widgets.gvr = {"example.com", "v1", "widgets"};
  widgets.recover_from_original = true;
  plan::Plan p;
  p.name = "warm";
  p.namespace_ = "dr";
  p.rules = {rule, widgets};
  auto task = ParseTask(DeriveTask(p, "dr"));
  ASSERT_TRUE(task.ok()) << task.status().ToString();

  RunReport report = Run(*task);
  EXPECT_EQ(report.patched, 0);
  EXPECT_EQ(report.failed, 2);
  ASSERT_EQ(report.failures.size(), 2u);
  EXPECT_EQ(report.failures[0].object, "apps/v1/deployments shop/web");
  EXPECT_EQ(report.failures[0].reason,
            "operation 0 (replace /spec/paused): doc is missing key: /spec/paused");
  EXPECT_EQ(report.failures[1].object, "example.com/v1/widgets");
  EXPECT_EQ(report.failures[1].reason, "the server does not serve group version \"example.com/v1\"");
  EXPECT_EQ(Replicas("shop", "web"), 0);
}

TEST_F(RunTaskTest, UserTaskTouchesEveryMatchingObjectButThePlatforms) {
  CreateManaged("shop", "web", 3);
  CreateUnmanaged("shop", "hand-made", 0);
  CreateUnmanaged("kube-system", "coredns", 2);
  auto task = ParseTask(json::parse(R"({
    "apiVersion": "automation.astronetes.io/v1alpha1", "kind": "Task",
    "metadata": {"name": "scale-up", "namespace": "ops"},
    "spec": {"plugin": "kubernetes-objects-transformation", "config": {"resources": [{
      "identifier": {"group": "apps", "version": "v1", "resource": "deployments"},
      "patch": {"operations": [{"op": "replace", "path": "/spec/replicas", "value": 4}],
                "filter": {"nameSelector": {"excludeRegex": ["^api$"]}}}}]}}})"));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  CreateUnmanaged("shop", "api", 1);
  RunReport report = Run(*task);
  EXPECT_EQ(report.patched, 2);
  EXPECT_EQ(Replicas("shop", "web"), 4);
  EXPECT_EQ(Replicas("shop", "hand-made"), 4);
  EXPECT_EQ(Replicas("shop", "api"), 1);
  EXPECT_EQ(Replicas("kube-system", "coredns"), 2);
}

TEST_F(RunTaskTest, FailuresAreCappedButCounted) {
  constexpr int kObjects = static_cast<int>(kMaxFailures) + 3;
  for (int i = 0; i < kObjects; ++i) {
    auto created = client_->Create({.version = "v1", .resource = "configmaps", .ns = "shop"},
                                   {{"apiVersion", "v1"},
                                    {"kind", "ConfigMap"},
                                    {"metadata", {{"name", "cm-" + std::to_string(i)}}},
                                    {"data", {{"a", "b"}}}});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  auto task = ParseTask(json::parse(R"({
    "apiVersion": "automation.astronetes.io/v1alpha1", "kind": "Task",
    "metadata": {"name": "broken", "namespace": "ops"},
    "spec": {"plugin": "kubernetes-objects-transformation", "config": {"resources": [{
      "identifier": {"group": "", "version": "v1", "resource": "configmaps"},
      "patch": {"operations": [{"op": "replace", "path": "/data/missing", "value": "x"}],
                "filter": {"nameSelector": {"includeRegex": ["^cm-"]}}}}]}}})"));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  RunReport report = Run(*task);
  EXPECT_EQ(report.failed, kObjects);
  EXPECT_EQ(report.failures.size(), kMaxFailures);
  EXPECT_EQ(report.patched, 0);
}

TEST_F(RunTaskTest, NamespaceObjectsAreTheirOwnNamespace) {
  auto task = ParseTask(json::parse(R"({
    "apiVersion": "automation.astronetes.io/v1alpha1", "kind": "Task",
    "metadata": {"name": "mark-namespaces", "namespace": "ops"},
    "spec": {"plugin": "kubernetes-objects-transformation", "config": {"resources": [{
      "identifier": {"group": "", "version": "v1", "resource": "namespaces"},
      "patch": {"operations": [{"op": "add", "path": "/metadata/labels/recovered", "value": "yes"}],
                "filter": {"namespaceSelector": {"matchLabels": {"sync": "true"}}}}}]}}})"));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  RunReport report = Run(*task);
  EXPECT_EQ(report.patched, 1);
  EXPECT_EQ(report.failed, 0);
  auto shop = client_->Get({.version = "v1", .resource = "namespaces", .name = "shop"});
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ((*shop)["metadata"]["labels"].value("recovered", ""), "yes");
  auto other = client_->Get({.version = "v1", .resource = "namespaces", .name = "other"});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)["metadata"].value("labels", json::object()).contains("recovered"));
}

}  // namespace
}  // namespace kubesync::recovery
