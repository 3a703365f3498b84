#include "cluster_reconciler.h"

#include "conditions.h"
#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

ClusterReconciler::~ClusterReconciler() {
  std::map<QueueKey, std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (auto& [_, t] : threads) {
    if (t.joinable()) t.join();
  }
}

void ClusterReconciler::RunProbe(QueueKey key) {
  std::string version;
  std::string error;
  auto resolved = ctx_.resolver.Resolve(key.ns, key.name);
  if (!resolved.ok()) {
    error = resolved.status().message();
  } else if (auto client = ctx_.resolver.ClientFor(resolved->kubeconfig, /*probe=*/true); !client.ok()) {
    error = "kubeconfig: " + client.status().message();
  } else if (auto v = ClusterResolver::ServerVersion(**client); !v.ok()) {
    error = "cluster not reachable: " + v.status().message();
  } else {
    version = *v;
  }
  std::lock_guard lock(mu_);
  Probe& p = probes_[key];
  p = Probe{.in_flight = false, .done = true, .version = version, .error = error, .at = ctx_.Now()};
  if (!stopping_) ctx_.queue.Add(key);
}

void ClusterReconciler::Reconcile(const QueueKey& key) {
  auto entry = ctx_.clusters->store().Get(key.ObjectKey());
  std::optional<Probe> result;
  {
    std::lock_guard lock(mu_);
    if (!entry || !entry->object) {
      probes_.erase(key);
      return;  // its thread, if any, is joined when the next one starts or at shutdown
    }
    Probe& p = probes_[key];
    if (p.done) {
      result = p;
      p.done = false;
    } else if (!p.in_flight) {
      p.in_flight = true;
      auto previous = threads_.find(key);
      if (previous != threads_.end() && previous->second.joinable()) previous->second.join();  // finished
      threads_[key] = std::thread([this, key] { RunProbe(key); });
    }
  }
  if (!result) return;

  const json kc = *entry->object;
  const int64_t generation = IntOr(kc, "metadata.generation");
  const json* old = FieldAt(kc, "status");
  const json old_status = old != nullptr && old->is_object() ? *old : json::object();
  json conditions = old_status.contains("conditions") ? old_status["conditions"] : json::array();
  const bool reachable = result->error.empty();
  SetCondition(conditions,
               {"Ready", ConditionIf(reachable), reachable ? "Reachable" : "Unreachable",
                reachable ? "server " + result->version : result->error},
               generation, result->at);
  json status = {{"reachable", reachable},
                 {"serverVersion", reachable ? result->version : StringOr(old_status, "serverVersion")},
                 {"lastProbeTime", result->at},
                 {"message", result->error},
                 {"conditions", conditions}};
  const json* was = FieldAt(old_status, "reachable");
  if (was == nullptr || !was->is_boolean() || was->get<bool>() != reachable) {
    ctx_.recorder.Record(ctx_.management, kc, reachable ? kEventNormal : kEventWarning,
                         reachable ? "Reachable" : "Unreachable",
                         reachable ? "server " + result->version : result->error);
    ctx_.logger.Info(reachable ? "cluster reachable" : "cluster unreachable",
                     {{"kubernetesCluster", key.ObjectKey()},
                      {"serverVersion", result->version},
                      {"error", result->error}});
  }
  auto r = ctx_.management.Patch({.group = std::string(kAssetsGroup),
                                  .version = std::string(kApiVersion),
                                  .resource = "kubernetesclusters",
                                  .ns = key.ns,
                                  .name = key.name,
                                  .subresource = "status"},
                                 kube::PatchType::kMerge, StatusPatch(old_status, status).dump());
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    ctx_.logger.Warn("could not update KubernetesCluster status",
                     {{"kubernetesCluster", key.ObjectKey()}, {"error", r.status().ToString()}});
  }
  ctx_.queue.AddAfter(key, ctx_.options.probe_interval);
}

}  // namespace kubesync::controller
