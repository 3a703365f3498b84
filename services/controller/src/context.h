// What the controller's reconcilers share (controller-runtime's Manager, kube-rs's
// Context): the management cluster, the informers' caches, the work queue, the runtime,
// the watched destination clusters, the Event recorder. Built by the Controller once
// everything is started; every member is thread-safe, so any worker may use it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "clusters.h"
#include "destinations.h"
#include "events.h"
#include "keys.h"
#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/informer.h"
#include "kubesync/runtime/runtime.h"
#include "kubesync/state/object_state.h"
#include "options.h"
#include "workqueue.h"

namespace kubesync::controller {

using Queue = WorkQueue<QueueKey>;

struct Context {
  const ControllerOptions& options;
  log::Logger& logger;
  kube::Client& management;
  ClusterResolver& resolver;
  EventRecorder& recorder;
  Queue& queue;
  runtime::Runtime& runtime;
  Destinations& destinations;
  // The runtime's work directory (sets live in <work_dir>/<set id>).
  std::filesystem::path work_dir;
  std::string nats_url;
  std::string redis_url;
  // nullptr while Redis is unreachable (objectsSynchronized is then not reported).
  state::ObjectStateStore* object_state = nullptr;
  // The same connection pool, for the reconciler's pass summaries; nullptr likewise.
  state::RedisClient* redis = nullptr;
  const kube::Informer* livesyncs = nullptr;
  const kube::Informer* clusters = nullptr;
  const kube::Informer* synchronizations = nullptr;
  const kube::Informer* synchronization_plans = nullptr;

  std::string Now() const { return FormatRfc3339(SystemClock::Get().Now()); }
};

// One reconciler per kind: reads the cached object of `key` and converges. Called by one
// worker at a time per key; must not throw.
class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual void Reconcile(const QueueKey& key) = 0;
};

// A merge patch that makes the object's status exactly `status` (keys no longer present
// are removed with null).
nlohmann::json StatusPatch(const nlohmann::json& old_status, const nlohmann::json& status);

}  // namespace kubesync::controller
