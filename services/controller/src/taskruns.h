// TaskRun reconciler: runs the restorer once per TaskRun, for trusted Tasks only.
//
// Trust (issue 10, item 1). kubesync's destination credentials run a Task only when
//   - the controller derives it: some LiveSynchronization in the TaskRun's namespace has
//     this cluster as destination, its Task (recovery::DeriveTask, recomputed from the
//     LiveSynchronization's spec here, not read from anything a tenant can write) has the
//     TaskRun's taskName, and the Task in the cluster has exactly that spec; or
//   - the TaskRun's namespace is in --allowed-task-namespaces (the cluster admin's choice).
// Anything else ends Failed, saying why; a TaskRun naming a missing Task fails naming it.
// Which LiveSynchronization a TaskRun suspends (spec.suspendLiveSynchronization) is the
// one that derives its Task, never one named by an annotation.
//
// Once (issue 10, item 8). Jobs are keyed by the TaskRun's uid ("taskrun.<uid>"), and each
// cluster has one informer (Destinations), so the controller starts one restorer per
// TaskRun. The restorer itself claims the TaskRun (phase Pending -> Running under its
// resourceVersion); one that loses the claim exits with kExitNotClaimed, which is not a
// failure: whoever claimed it reports.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "context.h"

namespace kubesync::controller {

// The restorer's exit codes (services/restorer/src/restorer.h); the controller only needs
// to tell "claimed by another" from a failure.
inline constexpr int kRestorerExitNoStatus = 2;
inline constexpr int kRestorerExitNotClaimed = 3;

class TaskRunReconciler : public Reconciler {
 public:
  explicit TaskRunReconciler(Context& ctx) : ctx_(ctx) {}
  void Reconcile(const QueueKey& key) override;
  // From the runtime's thread: a restorer exited.
  void OnJobFinished(const runtime::Event& event);

 private:
  struct Job {
    QueueKey key;
    std::string ls_key;  // "<ns>/<name>" of the LiveSynchronization deriving the Task; "" when allowed
    std::string task;
  };
  struct Finished {
    Job job;
    int exit_code = 0;
  };
  enum class Verdict { kRun, kRefuse, kRetry };
  struct Admission {
    Verdict verdict = Verdict::kRetry;
    std::string message;               // kRefuse: why; kRetry: what failed
    std::optional<nlohmann::json> ls;  // kRun: the LiveSynchronization deriving the Task
    std::string task;
    bool suspend_first = false;
  };
  struct Derived {
    nlohmann::json ls;
    nlohmann::json task;
  };

  Admission Admit(const QueueKey& key, DestinationCluster& cluster, const nlohmann::json& taskrun);
  // The LiveSynchronization in `ns` whose derived Task for cluster `cluster_key` is named
  // `task`; `any_in_namespace` tells whether any LiveSynchronization in `ns` has that cluster
  // as destination. Read from the management cluster, not the cache. Unavailable when it
  // cannot be read.
  Result<std::optional<Derived>> FindDerived(const std::string& cluster_key, const std::string& ns,
                                             const std::string& task, bool* any_in_namespace);
  // True when it waits for the LiveSynchronization to be suspended (requeued).
  bool SuspendFirst(const QueueKey& key, kube::Client& client, const nlohmann::json& taskrun,
                    const nlohmann::json& ls, bool suspend_first);
  void Refuse(const QueueKey& key, kube::Client& client, const nlohmann::json& taskrun,
              const std::string& message);
  void Start(const QueueKey& key, DestinationCluster& cluster, const nlohmann::json& taskrun,
             const std::string& job_id, const Admission& admission);
  void HandleFinished(const QueueKey& key, kube::Client& client, const Finished& finished,
                      const std::string& job_id);

  Context& ctx_;
  std::mutex mu_;
  std::map<std::string, Job> jobs_;           // running, by job id
  std::map<std::string, Finished> finished_;  // exited, not yet reported, by job id
};

}  // namespace kubesync::controller
