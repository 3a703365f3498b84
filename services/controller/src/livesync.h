// LiveSynchronization reconciler. One pass is a fixed sequence of small steps over a Pass
// (the object, what was learned, the status being built); a step returns kContinue or
// kStop, and Record() is the one place that writes the status (phase, conditions), records
// Events and schedules the requeue (controller-runtime's reconcileHandler).
//
//   Finalize          being deleted: stop the set, stop watching its destination, clean
//                     its Redis records, NATS stream and set files, drop the finalizer
//   EnsureFinalizer   so a deletion while the controller is down is still cleaned up
//   Validate          Invalid condition naming every field; nothing runs
//   WarnUnused        ConfigurationWarning naming each field accepted but not acted on
//   ReadStats         objectsSynchronized, lastSyncTime
//   ResolveDestination, WatchDestination
//                     TaskRuns are watched in the destination, suspended or not
//   Suspend           spec.suspend: stop the set (the steps below that run it are skipped)
//   ResolveSource, BuildComponents, ApplySet, ReadRunning
//   KeepTask          the derived recovery Task in the destination
//
// BuildComponents is where a component of the set is added (kPipeline in livesync.cc).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conditions.h"
#include "context.h"
#include "kubesync/plan/parse.h"

namespace kubesync::controller {

// The finalizer that makes a deleted LiveSynchronization's bus, state and files go with it.
inline constexpr std::string_view kCleanupFinalizer = "kubesync.io/cleanup";

class LiveSyncReconciler : public Reconciler {
 public:
  explicit LiveSyncReconciler(Context& ctx) : ctx_(ctx) {}
  void Reconcile(const QueueKey& key) override;
  // From the runtime's thread: a process of set `set_id` changed state.
  void OnSetEvent(const std::string& set_id);

 private:
  // What the controller remembers of one LiveSynchronization between passes.
  struct State {
    std::string id;  // "<ns>.<name>"
    std::optional<runtime::ComponentSetSpec> applied;
    std::set<std::string> events_seen;  // Events recorded once per generation
    int64_t events_generation = -1;
    int reported_restarts = 0;
  };
  enum class Next { kContinue, kStop };
  struct EventNote {
    std::string_view type;
    std::string reason;
    std::string message;
    bool once = true;  // once per generation and message
  };
  struct Pass {
    QueueKey key;
    nlohmann::json ls;
    std::string id;
    int64_t generation = 0;
    State* state = nullptr;
    std::optional<plan::Plan> plan;
    plan::ParseReport report;
    std::optional<ResolvedCluster> source;
    std::optional<ResolvedCluster> destination;
    bool suspended = false;
    runtime::ComponentSetSpec spec;
    nlohmann::json status = nlohmann::json::object();  // fields besides phase and conditions
    std::vector<Condition> conditions;
    std::vector<EventNote> events;
    std::string phase;
    std::optional<std::chrono::milliseconds> requeue;
    bool write_status = true;  // false when the object is gone or being deleted
  };
  using Step = Next (LiveSyncReconciler::*)(Pass&);

  Next Finalize(Pass& pass);
  Next EnsureFinalizer(Pass& pass);
  Next Validate(Pass& pass);
  Next WarnUnused(Pass& pass);
  Next ReadStats(Pass& pass);
  Next ClusterUnavailable(Pass& pass, const std::string& message);
  Next ResolveDestination(Pass& pass);
  Next WatchDestination(Pass& pass);
  Next Suspend(Pass& pass);
  Next ResolveSource(Pass& pass);
  Next BuildComponents(Pass& pass);
  Next ApplySet(Pass& pass);
  Next ReadRunning(Pass& pass);
  Next KeepTask(Pass& pass);
  void Record(Pass& pass);

  // Stops the set whatever the controller's record says (an Apply that failed part-way may
  // have left processes running); true when something was running.
  bool StopSet(Pass& pass);
  void Forget(const QueueKey& key, const std::string& id);
  Status EnsureTask(kube::Client& destination, const nlohmann::json& task);

  Context& ctx_;
  std::mutex mu_;
  std::map<QueueKey, State> states_;
};

// The fields of `plan` kubesync accepts but does not act on (observability, bucketName,
// imagePullPolicy and resources under the process runtime, components that are no process of
// the set), each as "<field path>: <why>". `components_run` are the spec.config.components
// names the set runs. Pure.
std::vector<plan::FieldError> UnusedFields(const plan::Plan& plan,
                                           const std::vector<std::string>& components_run);

}  // namespace kubesync::controller
