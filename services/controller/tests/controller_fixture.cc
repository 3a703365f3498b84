#include "controller_fixture.h"

#include <dirent.h>
#include <signal.h>

#include <fstream>
#include <sstream>

namespace kubesync::controller::testing {

using nlohmann::json;
using testsupport::ReadFile;
using testsupport::WaitFor;
using testsupport::WriteFile;

std::string ControllerE2eTest::Testdata(const std::string& relative) {
  return ReadFile(std::filesystem::path(KUBESYNC_SOURCE_DIR) / relative);
}

CommandResult ControllerE2eTest::Kubectl(Cluster cluster, std::vector<std::string> args,
                                         const std::string& manifest) {
  static int counter = 0;
  const auto& emulator = cluster == Cluster::kSource ? *source_ : *destination_;
  const std::string id = std::to_string(++counter);
  const auto out = work_->path() / ("kubectl-" + id + ".out");
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", emulator.kubeconfig_path("admin").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  if (!manifest.empty()) {
    const auto file = work_->path() / ("manifest-" + id + ".yaml");
    WriteFile(file, manifest);
    argv.push_back("-f");
    argv.push_back(file.string());
  }
  auto p = testsupport::Process::Start({.argv = argv, .stdout_path = out, .stderr_path = out});
  if (!p.ok()) return {-1, p.status().ToString()};
  auto code = p->Wait(std::chrono::seconds(60));
  return {code.value_or(-1), ReadFile(out)};
}

CommandResult ControllerE2eTest::Run(std::vector<std::string> argv) {
  static int counter = 0;
  const auto out = work_->path() / ("run-" + std::to_string(++counter) + ".out");
  auto p = testsupport::Process::Start({.argv = argv, .stdout_path = out, .stderr_path = out});
  if (!p.ok()) return {-1, p.status().ToString()};
  auto code = p->Wait(std::chrono::seconds(60));
  return {code.value_or(-1), ReadFile(out)};
}

void ControllerE2eTest::Apply(Cluster cluster, const std::string& ns, const std::string& manifest) {
  auto r = Kubectl(cluster, {"apply", "-n", ns}, manifest);
  ASSERT_EQ(r.code, 0) << r.output;
}

void ControllerE2eTest::CreateNamespace(Cluster cluster, const std::string& ns, const json& labels) {
  auto& e = cluster == Cluster::kSource ? *source_ : *destination_;
  json body = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}, {"labels", labels}}}};
  auto r = e.Request("POST", "/api/v1/namespaces", body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->status == 201 || r->status == 409) << r->body.dump();
}

void ControllerE2eTest::CreateClusters(const std::string& ns) {
  CreateNamespace(Cluster::kDestination, ns);
  for (const auto& [name, emulator, user] : {std::tuple{"source", source_.get(), "viewer"},
                                             std::tuple{"destination", destination_.get(), "admin"}}) {
    auto r = Kubectl(Cluster::kDestination,
                     {"create", "secret", "generic", name, "-n", ns,
                      "--from-file=kubeconfig.yaml=" + emulator->kubeconfig_path(user).string()});
    ASSERT_EQ(r.code, 0) << r.output;
  }
  Apply(Cluster::kDestination, ns, Testdata("libs/plan/tests/testdata/001_kubernetes_clusters.yaml"));
}

std::optional<json> ControllerE2eTest::Get(Cluster cluster, const std::string& path) {
  auto& e = cluster == Cluster::kSource ? *source_ : *destination_;
  auto r = e.Request("GET", path);
  if (!r.ok() || r->status != 200) return std::nullopt;
  return r->body;
}

std::optional<json> ControllerE2eTest::GetLiveSync(const std::string& ns, const std::string& name) {
  return Get(Cluster::kDestination,
             "/apis/automation.astronetes.io/v1alpha1/namespaces/" + ns + "/livesynchronizations/" + name);
}

std::optional<json> ControllerE2eTest::GetTaskRun(const std::string& ns, const std::string& name) {
  return Get(Cluster::kDestination,
             "/apis/automation.astronetes.io/v1alpha1/namespaces/" + ns + "/taskruns/" + name);
}

std::vector<std::string> ControllerE2eTest::EventReasons(Cluster cluster, const std::string& ns,
                                                         const std::string& name) {
  std::vector<std::string> reasons;
  auto list = Get(cluster, "/api/v1/namespaces/" + ns + "/events");
  if (!list) return reasons;
  for (const auto& e : list->value("items", json::array())) {
    if (e["involvedObject"].value("name", "") == name) reasons.push_back(e.value("reason", ""));
  }
  return reasons;
}

bool ControllerE2eTest::HasEvent(Cluster cluster, const std::string& ns, const std::string& name,
                                 const std::string& reason) {
  auto reasons = EventReasons(cluster, ns, name);
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

void ControllerE2eTest::CreateConfigMap(const std::string& ns, const std::string& name, const json& data) {
  json body = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", data}};
  auto r = source_->Request("POST", "/api/v1/namespaces/" + ns + "/configmaps", body);
  ASSERT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body.dump() : r.status().ToString());
}

void ControllerE2eTest::CreateDeployment(const std::string& ns, const std::string& name, int replicas) {
  auto r = Kubectl(Cluster::kSource, {"create", "deployment", name, "-n", ns, "--image=nginx:1.27",
                                      "--replicas=" + std::to_string(replicas)});
  ASSERT_EQ(r.code, 0) << r.output;
}

bool ControllerE2eTest::WaitForObject(Cluster cluster, const std::string& path,
                                      const std::function<bool(const std::optional<json>&)>& predicate,
                                      std::chrono::milliseconds timeout) {
  return WaitFor([&] { return predicate(Get(cluster, path)); }, timeout, std::chrono::milliseconds(50));
}

bool ControllerE2eTest::WaitForPhase(const std::string& ns, const std::string& name, const std::string& phase,
                                     std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        auto ls = GetLiveSync(ns, name);
        return ls && ls->contains("status") && (*ls)["status"].value("phase", "") == phase;
      },
      timeout, std::chrono::milliseconds(50));
}

std::vector<pid_t> ControllerE2eTest::ChildPids(const std::string& comm) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* d = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(d->d_name));
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    // pid (comm) state ppid ...
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string name = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == controller_->pid() && name == comm && state != "Z") pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

std::string ControllerE2eTest::ControllerLog() { return ReadFile(work_->path() / "controller.log"); }

void ControllerE2eTest::SetUpTestSuite() {
  work_ = new testsupport::TempDir();
  auto source = testsupport::Emulator::Start({.token_users = {{"admin", "admin"}, {"viewer", "reader"}}});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  source_ = std::move(*source);
  auto destination = testsupport::Emulator::Start();
  ASSERT_TRUE(destination.ok()) << destination.status().ToString();
  destination_ = std::move(*destination);
  const std::string crds = (std::filesystem::path(KUBESYNC_SOURCE_DIR) / "charts/kubesync/crds").string();
  for (Cluster c : {Cluster::kSource, Cluster::kDestination}) {
    auto r = Kubectl(c, {"apply", "-f", crds});
    ASSERT_EQ(r.code, 0) << r.output;
  }
  CreateNamespace(Cluster::kDestination, "kubesync");
  StartController();
}

void ControllerE2eTest::StartController() {
  const auto log = work_->path() / "controller.log";
  for (int n = 1; std::filesystem::exists(log); ++n) {
    const auto kept = work_->path() / ("controller.log." + std::to_string(n));
    if (!std::filesystem::exists(kept)) std::filesystem::rename(log, kept);
  }
  const auto port_file = work_->path() / "webhook.port";
  std::filesystem::remove(port_file);
  auto controller = testsupport::Process::Start({.argv = {CONTROLLER_BIN,
                                                          "--kubeconfig",
                                                          destination_->kubeconfig_path("admin").string(),
                                                          "--operator-namespace",
                                                          "kubesync",
                                                          "--work-dir",
                                                          (work_->path() / "runtime").string(),
                                                          "--resync-interval-ms",
                                                          "300",
                                                          "--probe-interval-ms",
                                                          "1000",
                                                          "--webhook-bind",
                                                          "127.0.0.1",
                                                          "--webhook-port",
                                                          "0",
                                                          "--webhook-cert-file",
                                                          (destination_->work_dir() / "server.crt").string(),
                                                          "--webhook-key-file",
                                                          (destination_->work_dir() / "server.key").string(),
                                                          "--webhook-port-file",
                                                          port_file.string(),
                                                          "--allowed-task-namespaces",
                                                          "admin-tasks",
                                                          "--leader-election-lease-duration-ms",
                                                          "3000",
                                                          "--leader-election-renew-deadline-ms",
                                                          "2000",
                                                          "--leader-election-retry-period-ms",
                                                          "500"},
                                                 .stdout_path = log,
                                                 .stderr_path = log});
  ASSERT_TRUE(controller.ok()) << controller.status().ToString();
  controller_ = std::move(*controller);
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(port_file) && !ReadFile(port_file).empty(); },
                      std::chrono::seconds(30)))
      << ControllerLog();
  webhook_port_ = std::stoi(ReadFile(port_file));
}

void ControllerE2eTest::TearDownTestSuite() {
  if (controller_) {
    controller_->Stop(std::chrono::seconds(15));
    controller_.reset();
  }
  destination_.reset();
  source_.reset();
  delete work_;
  work_ = nullptr;
}

void ControllerE2eTest::SetUp() {
  ASSERT_TRUE(controller_ && controller_->Running()) << "the controller is not running:\n" << ControllerLog();
}

}  // namespace kubesync::controller::testing
