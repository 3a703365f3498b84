// Flags every kubesync component binary accepts, parsed once into a plain struct (the
// controller passes the same flags when it starts a component set).
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace kubesync::service {

struct CommonOptions {
  std::string plan_file;               // LiveSynchronization YAML or normalized plan JSON
  std::string source_kubeconfig;       // "" = in-cluster service account
  std::string destination_kubeconfig;  // "" = in-cluster service account
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string log_level;    // "" = the plan's components.<name>.logLevel, else info
  std::string consumer_id;  // "" = "<component>-<pid>"
  std::string operator_namespace;
  int partitions = 16;  // sync subject partitions; processor and synchronizer must agree
  // Client-side rate limit towards each cluster. A synchronizer makes about two requests
  // per object (read, then create or update), so this bounds its write rate.
  double kube_qps = 2000;
  int kube_burst = 4000;
};

// Registers --plan, --source-kubeconfig, --destination-kubeconfig, --nats-url, --redis-url,
// --log-level, --consumer-id, --operator-namespace, --partitions, --kube-qps and --kube-burst
// on `app`.
void AddCommonFlags(CLI::App& app, CommonOptions& options);

}  // namespace kubesync::service
