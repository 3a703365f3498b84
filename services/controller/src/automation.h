// Synchronization and SynchronizationPlan reconciler: validated with the same field paths
// as a LiveSynchronization, and reported in status. Running them (one-shot and cron
// synchronizations, ZooKeeper) is on the roadmap; until then a valid one says so in its
// Ready condition instead of pretending to run.
#pragma once

#include "context.h"

namespace kubesync::controller {

class ValidatedOnlyReconciler : public Reconciler {
 public:
  ValidatedOnlyReconciler(Context& ctx, std::string resource, const kube::Informer* informer)
      : ctx_(ctx), resource_(std::move(resource)), informer_(informer) {}
  void Reconcile(const QueueKey& key) override;

 private:
  Context& ctx_;
  std::string resource_;  // "synchronizations" or "synchronizationplans"
  const kube::Informer* informer_;
};

}  // namespace kubesync::controller
