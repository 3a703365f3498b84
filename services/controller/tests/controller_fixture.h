// End-to-end fixture for the controller: a source and a destination kube-emulator (the
// destination is also the management cluster, as when the operator runs in the standby),
// the CRDs of charts/kubesync/crds applied to both with kubectl, the two KubernetesClusters
// of seeds/001 in every test namespace, and the controller binary on the embedded default
// (it starts its own nats-server and redis-server). The source is reached with a reader
// token only. Everything is started once per test suite and stopped by pid.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kubesync/testsupport/emulator.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::controller::testing {

struct CommandResult {
  int code = -1;
  std::string output;  // stdout and stderr
};

class ControllerE2eTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  enum class Cluster { kSource, kDestination };

  // kubectl as the admin of `cluster`; `manifest`, when given, is passed with -f.
  static CommandResult Kubectl(Cluster cluster, std::vector<std::string> args,
                               const std::string& manifest = "");
  // Runs a command, stdout and stderr captured.
  static CommandResult Run(std::vector<std::string> argv);
  // Applies `manifest` in `ns` on the destination (the management cluster); fails the test
  // on error.
  static void Apply(Cluster cluster, const std::string& ns, const std::string& manifest);
  // Creates the namespace (with labels) in `cluster` when missing.
  static void CreateNamespace(Cluster cluster, const std::string& ns,
                              const nlohmann::json& labels = nlohmann::json::object());
  // Secrets "source" (reader kubeconfig of the source) and "destination" (admin kubeconfig of
  // the destination) and the seeds/001 KubernetesClusters, in management namespace `ns`.
  static void CreateClusters(const std::string& ns);

  // GET through the API (fast polling); nullopt on 404.
  static std::optional<nlohmann::json> Get(Cluster cluster, const std::string& path);
  static std::optional<nlohmann::json> GetLiveSync(const std::string& ns, const std::string& name);
  static std::optional<nlohmann::json> GetTaskRun(const std::string& ns, const std::string& name);
  // Event reasons recorded for the object named `name` in `ns` of `cluster`.
  static std::vector<std::string> EventReasons(Cluster cluster, const std::string& ns,
                                               const std::string& name);
  static bool HasEvent(Cluster cluster, const std::string& ns, const std::string& name,
                       const std::string& reason);

  // Objects in the source (admin).
  static void CreateConfigMap(const std::string& ns, const std::string& name, const nlohmann::json& data);
  static void CreateDeployment(const std::string& ns, const std::string& name, int replicas);

  // Waits (deadline `timeout`) for `predicate` on the object at `path` in `cluster`.
  static bool WaitForObject(Cluster cluster, const std::string& path,
                            const std::function<bool(const std::optional<nlohmann::json>&)>& predicate,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  static bool WaitForPhase(const std::string& ns, const std::string& name, const std::string& phase,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Pids of the controller's children whose command is `comm` ("synchronizer").
  static std::vector<pid_t> ChildPids(const std::string& comm);
  // Starts the controller on the suite's clusters and work directory (SetUpTestSuite does;
  // a test may again after killing it). The previous log is kept as controller.log.<n>.
  static void StartController();
  static std::string ControllerLog();

  static std::string Testdata(const std::string& relative);  // a file under the source tree

  static inline testsupport::TempDir* work_ = nullptr;
  static inline std::unique_ptr<testsupport::Emulator> source_;
  static inline std::unique_ptr<testsupport::Emulator> destination_;
  static inline std::optional<testsupport::Process> controller_;
  static inline int webhook_port_ = 0;
};

}  // namespace kubesync::controller::testing
