#include "source_identity.h"

#include <utility>

#include "kubesync/kube/config.h"
#include "kubesync/kube/object_meta.h"

namespace kubesync::eventslistener {

Result<std::string> SourceServer(const std::string& kubeconfig_path) {
  kube::RestConfig config;
  if (kubeconfig_path.empty()) {
    KS_ASSIGN_OR_RETURN(config, kube::InClusterConfig());
  } else {
    KS_ASSIGN_OR_RETURN(kube::Kubeconfig kubeconfig, kube::Kubeconfig::LoadFile(kubeconfig_path));
    KS_ASSIGN_OR_RETURN(config, kubeconfig.ToRestConfig());
  }
  return config.server;
}

Result<state::SourceIdentity> ReadSourceIdentity(kube::Client& source, const std::string& server) {
  KS_ASSIGN_OR_RETURN(nlohmann::json ns,
                      source.Get(kube::ResourceRef{"", "v1", "namespaces", "", "kube-system", ""}));
  const std::string& uid = kube::meta::Uid(ns);
  if (uid.empty()) {
    return InvalidArgumentError("source cluster: namespace kube-system has no metadata.uid");
  }
  return state::SourceIdentity{uid, server};
}

SourceIdentityTracker::SourceIdentityTracker(kube::Client& probe, std::string server,
                                             state::SourceIdentityStore& store, std::string id,
                                             log::Logger logger, nlohmann::json source_cluster)
    : probe_(probe),
      server_(std::move(server)),
      store_(store),
      id_(std::move(id)),
      logger_(std::move(logger)),
      source_cluster_(std::move(source_cluster)) {}

Result<uint64_t> SourceIdentityTracker::Observe() {
  KS_ASSIGN_OR_RETURN(state::SourceIdentity identity, ReadSourceIdentity(probe_, server_));
  KS_ASSIGN_OR_RETURN(state::IdentityObservation seen, store_.Observe(id_, identity, epoch_));
  if (seen.changed) {
    const std::string message =
        "The source cluster changed from " + seen.previous.ToString() + " to " + identity.ToString() +
        ": its resourceVersions start again, so replication starts afresh from a full "
        "list (source epoch " +
        std::to_string(seen.previous_epoch) + " -> " + std::to_string(seen.epoch) + ")";
    logger_.Warn("source cluster changed", {{"sourceCluster", source_cluster_},
                                            {"previousServer", seen.previous.server},
                                            {"previousUid", seen.previous.uid},
                                            {"server", identity.server},
                                            {"uid", identity.uid},
                                            {"previousEpoch", seen.previous_epoch},
                                            {"epoch", seen.epoch}});
    state::Note note;
    note.type = "Warning";
    note.reason = std::string(state::kSourceClusterChangedReason);
    note.message = message;
    note.component = "eventslistener";
    if (auto added = store_.AddNote(id_, note); !added.ok()) {
      logger_.Warn("error writing object state", {{"error", added.status().ToString()}});
    }
  }
  epoch_ = seen.epoch;
  return epoch_;
}

}  // namespace kubesync::eventslistener
