// The controller: thin, as DESIGN.md asks. It watches kubesync's custom resources in the
// management cluster and reconciles, one key at a time (controller-runtime's watcher ->
// cache -> work queue -> reconciler):
//
//   LiveSynchronization  validate (every error with its field path, as a condition), resolve
//                        the two KubernetesClusters, keep the derived Task in the
//                        destination, start/replace/stop the component set through the
//                        runtime (spec.suspend stops it), write status and Events.
//   KubernetesCluster    probe the cluster its Secret points to; status reachable/version.
//   Synchronization,     validated: an invalid one gets an Invalid condition with every
//   SynchronizationPlan  error's field path (running them is not built yet, and says so).
//   TaskRun              (watched in every destination cluster in use) run the restorer once,
//                        suspending the LiveSynchronization first when asked
//                        (spec.suspendLiveSynchronization), warning when it still runs.
//
// Deleting a LiveSynchronization stops its set; destination objects and the Task stay.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "clusters.h"
#include "events.h"
#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/informer.h"
#include "kubesync/runtime/runtime.h"
#include "kubesync/service/shutdown.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/redis_client.h"
#include "options.h"
#include "workqueue.h"

namespace kubesync::admission {
class AuditWebhookServer;
}

namespace kubesync::controller {

// Entry point of the binary.
int Run(int argc, char** argv);

class Controller {
 public:
  Controller(ControllerOptions options, log::Logger logger, std::unique_ptr<kube::Client> management,
             service::ShutdownSignal& shutdown);
  ~Controller();

  // Starts the runtime, the webhook and the informers, then reconciles until shutdown.
  Status Run();

 private:
  struct LiveSyncState {
    std::string id;  // "<ns>.<name>"
    std::optional<runtime::ComponentSetSpec> applied;
    std::string destination_kubeconfig;
    std::string last_event_key;  // the last phase/generation an Event was recorded for
    int reported_restarts = 0;
  };
  struct Destination {
    std::string key;
    std::string kubeconfig;
    std::shared_ptr<kube::Client> client;
    std::unique_ptr<kube::Informer> taskruns;
  };
  struct TaskRunJob {
    std::string queue_key;
    std::string ls_key;  // "" when the Task has no LiveSynchronization
  };

  void ProcessLoop();
  void OnRuntimeEvent(const runtime::Event& event);

  // livesync.cc
  void ReconcileLiveSync(const std::string& ns, const std::string& name);
  void ReportLiveSyncStatus(const nlohmann::json& ls, nlohmann::json status);
  Status EnsureTask(kube::Client& destination, const nlohmann::json& task);
  void RefreshRunningStatus(const nlohmann::json& ls, LiveSyncState& state, nlohmann::json& status);
  void ReconcileCluster(const std::string& ns, const std::string& name);
  Destination* EnsureDestination(const std::string& kubeconfig);

  // automation.cc: Synchronization and SynchronizationPlan (validated and reported; running
  // them comes with the ZooKeeper and one-shot Kubernetes synchronizations).
  void ReconcileValidatedOnly(const std::string& resource, const std::string& ns, const std::string& name);

  // taskruns.cc
  void ReconcileTaskRun(const std::string& destination_key, const std::string& ns, const std::string& name);
  void OnJobFinished(const runtime::Event& event);
  std::optional<nlohmann::json> FindLiveSyncById(const std::string& id) const;

  std::string Now() const;

  ControllerOptions options_;
  log::Logger logger_;
  std::unique_ptr<kube::Client> management_;
  service::ShutdownSignal& shutdown_;
  ClusterResolver resolver_;
  EventRecorder recorder_;
  WorkQueue queue_;
  std::unique_ptr<runtime::Runtime> runtime_;
  std::unique_ptr<state::RedisClient> redis_;
  std::unique_ptr<state::ObjectStateStore> object_state_;
  std::unique_ptr<admission::AuditWebhookServer> webhook_;
  std::unique_ptr<kube::Informer> livesyncs_;
  std::unique_ptr<kube::Informer> clusters_;
  std::unique_ptr<kube::Informer> synchronizations_;
  std::unique_ptr<kube::Informer> synchronization_plans_;

  std::mutex mu_;  // guards the maps below (runtime events arrive on another thread)
  std::map<std::string, LiveSyncState> live_syncs_;         // by "<ns>/<name>"
  std::map<std::string, Destination> destinations_;         // by destination key
  std::map<std::string, TaskRunJob> jobs_;                  // by runtime job id
  std::map<std::string, int> finished_jobs_;                // job id -> exit code
};

}  // namespace kubesync::controller
