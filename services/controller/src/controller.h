// The controller: thin, as DESIGN.md asks. The composition root of controller-runtime's
// watcher -> cache -> work queue -> reconciler design, with one reconciler per kind over a
// shared Context (context.h):
//
//   LiveSynchronization  livesync.h: validate, run its component set, keep its Task,
//                        clean up behind a finalizer when deleted
//   KubernetesCluster    cluster_reconciler.h: probe (off the workers), report reachability
//   TaskRun              taskruns.h: run the restorer once, for trusted Tasks only; watched
//                        in the controller's own cluster and every LiveSynchronization's
//                        destination from start-up (destinations.h)
//   Synchronization,     automation.h: validated only (running them is not built yet)
//   SynchronizationPlan
//
// Several workers take keys from one queue; a key is never held by two at once. With
// leader election on, nothing starts before this process holds the Lease, and it stops
// when the Lease is lost.
#pragma once

#include <memory>
#include <string>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/service/shutdown.h"
#include "options.h"

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

  // Starts the webhook, waits for the Lease (when electing), starts the runtime, the informers and
  // the workers, and reconciles until shutdown or the Lease is lost (an error).
  Status Run();

 private:
  struct Parts;
  Status RunAsLeader();

  ControllerOptions options_;
  log::Logger logger_;
  std::shared_ptr<kube::Client> management_;
  service::ShutdownSignal& shutdown_;
  std::unique_ptr<admission::AuditWebhookServer> webhook_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace kubesync::controller
