// The clusters the controller watches TaskRuns in: its own (management) cluster and the
// destination of every LiveSynchronization, suspended or not. One TaskRun informer per
// cluster, keyed by the cluster's API server address (KeyFor), so two Secrets or two
// LiveSynchronizations that point to the same cluster share one watch and a TaskRun is seen
// once. A cluster is watched while at least one user (a LiveSynchronization, or the
// controller for its own cluster) needs it; the last Release stops its informer. When the
// credentials a watch uses are no longer any user's (a rotated Secret), the watch is
// restarted with a current user's.
//
// Thread-safe. Informers are stopped on a background thread (a blackholed cluster can hold
// a request for its timeout), joined by the destructor.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "clusters.h"
#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/informer.h"

namespace kubesync::controller {

// How to reach a cluster: a kubeconfig's text (from a KubernetesCluster's Secret), or the
// controller's own connection (its --kubeconfig file, "" for in-cluster).
struct ClusterAccess {
  std::string kubeconfig;           // YAML text; "" when `own` is set
  std::string own_kubeconfig_path;  // when `own`: the controller's --kubeconfig
  bool own = false;
  friend bool operator==(const ClusterAccess&, const ClusterAccess&) = default;
};

struct DestinationCluster {
  std::string key;
  std::string server;
  ClusterAccess access;
  std::shared_ptr<kube::Client> client;
  std::unique_ptr<kube::Informer> taskruns;
};

class Destinations {
 public:
  // Called from an informer thread for every TaskRun added, updated or deleted.
  using OnTaskRun = std::function<void(const std::string& cluster_key, const nlohmann::json& taskrun)>;

  Destinations(ClusterResolver& resolver, std::shared_ptr<kube::Client> own_client, log::Logger logger,
               OnTaskRun on_taskrun);
  ~Destinations();

  // The key of the cluster at `server` ("https://Host:443/" and "https://host" are one):
  // 16 hex digits of a hash of the normalized address.
  static std::string KeyFor(const std::string& server);
  // The server of a kubeconfig's current context; InvalidArgument when it has none.
  static Result<std::string> ServerOf(const std::string& kubeconfig);

  // `user` ("LiveSynchronization/<ns>/<name>", "controller") uses the cluster `access`
  // reaches at `server`; starts watching it when it is the first user. Returns its key.
  Result<std::string> Use(const std::string& user, const std::string& server, const ClusterAccess& access);
  // `user` no longer uses any cluster; a cluster with no user left is no longer watched.
  void Release(const std::string& user);

  // nullptr when the cluster is not watched.
  std::shared_ptr<DestinationCluster> Get(const std::string& key) const;
  std::vector<std::string> Keys() const;
  // The cluster `user` uses, "" when none.
  std::string KeyOfUser(const std::string& user) const;

  void StopAll();

 private:
  struct UserEntry {
    std::string key;
    std::string server;
    ClusterAccess access;
  };
  // Starts, restarts or stops the watch of `key` to match its users. Caller holds mu_.
  void SyncLocked(const std::string& key);
  void StopInBackgroundLocked(std::shared_ptr<DestinationCluster> cluster);

  ClusterResolver& resolver_;
  std::shared_ptr<kube::Client> own_client_;
  log::Logger logger_;
  OnTaskRun on_taskrun_;
  mutable std::mutex mu_;
  std::map<std::string, UserEntry> users_;                               // by user
  std::map<std::string, std::shared_ptr<DestinationCluster>> clusters_;  // by key
  std::vector<std::thread> stopping_;
};

}  // namespace kubesync::controller
