// KubernetesCluster resolution: a KubernetesCluster names a Secret in its own namespace
// whose `kubeconfig.yaml` key holds the cluster's kubeconfig (seeds/001, "Import the
// clusters"). The resolver reads both from the management cluster, builds clients (cached
// by kubeconfig content, so a rotated Secret gets a fresh client) and probes /version.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/config.h"
#include "kubesync/plan/parse.h"

namespace kubesync::controller {

using plan::kApiVersion;
using plan::kAssetsGroup;
using plan::kAutomationGroup;
inline constexpr std::string_view kKubeconfigKey = "kubeconfig.yaml";

// A kubeconfig read from a Secret may hold only inline credentials: exec plugins and file
// paths (tokenFile, certificate-authority, client-certificate, client-key) are refused,
// every one named, since whoever writes the Secret would otherwise run commands or read
// files (the service-account token) as the controller.
Status CheckSecretKubeconfig(const kube::Kubeconfig& config);

struct ResolvedCluster {
  std::string kubeconfig;  // YAML text
  nlohmann::json cluster;  // the KubernetesCluster object
};

inline constexpr std::chrono::milliseconds kProbeConnectTimeout{5'000};
inline constexpr std::chrono::milliseconds kProbeRequestTimeout{10'000};

class ClusterResolver {
 public:
  explicit ClusterResolver(kube::Client& management, kube::ClientOptions client_options = {});

  // NotFound / InvalidArgument with a message naming the KubernetesCluster, the Secret or
  // the key, e.g. `KubernetesCluster "source" in namespace "dr": Secret "source" has no key
  // "kubeconfig.yaml"`. The kubeconfig is parsed and checked (CheckSecretKubeconfig).
  Result<ResolvedCluster> Resolve(const std::string& ns, const std::string& name);

  // A client for `kubeconfig` (shared; cached by content). InvalidArgument naming the
  // kubeconfig field when it cannot be used.
  // `probe`: a client that does not retry and gives up after kProbeRequestTimeout, for
  // reachability probes and Task upkeep, so that a blackholed cluster holds its caller for
  // one short request, not for every retry of a long one.
  Result<std::shared_ptr<kube::Client>> ClientFor(const std::string& kubeconfig, bool probe = false);

  // The server's gitVersion from /version.
  static Result<std::string> ServerVersion(kube::Client& client);

 private:
  kube::Client& management_;
  kube::ClientOptions client_options_;
  std::mutex mu_;
  std::map<std::pair<std::string, bool>, std::shared_ptr<kube::Client>>
      clients_;  // by (kubeconfig text, probe)
};

}  // namespace kubesync::controller
