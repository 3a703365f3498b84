// KubernetesCluster reconciler: reports whether the cluster its Secret points to answers
// (status reachable, serverVersion, a Ready condition, an Event on each change). Probes run
// on their own threads, never on a worker: a blackholed cluster holds its probe for a
// request timeout and no reconcile of anything else. A pass writes the last probe's result
// and starts the next probe when none is in flight; the finished probe requeues the key.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "context.h"

namespace kubesync::controller {

class ClusterReconciler : public Reconciler {
 public:
  explicit ClusterReconciler(Context& ctx) : ctx_(ctx) {}
  ~ClusterReconciler() override;
  void Reconcile(const QueueKey& key) override;

 private:
  struct Probe {
    bool in_flight = false;
    bool done = false;
    std::string version;
    std::string error;
    std::string at;  // RFC 3339
  };
  void RunProbe(QueueKey key);

  Context& ctx_;
  std::mutex mu_;
  std::map<QueueKey, Probe> probes_;
  std::map<QueueKey, std::thread> threads_;  // the last probe thread of each key
  bool stopping_ = false;
};

}  // namespace kubesync::controller
