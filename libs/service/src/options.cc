#include "kubesync/service/options.h"

#include <CLI/CLI.hpp>

namespace kubesync::service {

void AddCommonFlags(CLI::App& app, CommonOptions& o) {
  app.add_option("--plan", o.plan_file, "LiveSynchronization YAML or normalized plan JSON")->required();
  app.add_option("--source-kubeconfig", o.source_kubeconfig,
                 "kubeconfig of the source cluster (empty: in-cluster service account)");
  app.add_option("--destination-kubeconfig", o.destination_kubeconfig,
                 "kubeconfig of the destination cluster (empty: in-cluster service account)");
  app.add_option("--nats-url", o.nats_url, "NATS server URL")->capture_default_str();
  app.add_option("--redis-url", o.redis_url, "Redis URL redis://[:password@]host:port/db")->capture_default_str();
  app.add_option("--log-level", o.log_level, "debug, info, warn or error (default: the plan's, else info)");
  app.add_option("--consumer-id", o.consumer_id, "identity of this replica in logs (default <component>-<pid>)");
  app.add_option("--operator-namespace", o.operator_namespace, "namespace kubesync runs in (never replicated)");
  app.add_option("--partitions", o.partitions, "sync subject partitions (processor and synchronizer must agree)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--kube-qps", o.kube_qps, "client-side rate limit towards each cluster, requests/s")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--kube-burst", o.kube_burst, "burst above --kube-qps")->capture_default_str()->check(CLI::PositiveNumber);
}

}  // namespace kubesync::service
