// The eventslistener's side of issue 10 item 4: which source cluster it watches. At start
// and whenever an informer lists or watches again (the source may have been rebuilt
// behind the same address, or the kubeconfig points elsewhere), it reads the source's
// identity (kube-system Namespace uid + server address) and records it in Redis
// (state::SourceIdentityStore). A new identity gets a new source epoch: the listener then
// starts afresh (new informers, a full list stamped with the new epoch), so nothing
// recorded from the previous cluster is ever compared with this one's resourceVersions.
#pragma once

#include <cstdint>
#include <string>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/state/source_identity.h"

namespace kubesync::eventslistener {

// The API server address of a kubeconfig ("" = the in-cluster service account's).
Result<std::string> SourceServer(const std::string& kubeconfig_path);

// GET /api/v1/namespaces/kube-system: its uid, with `server`.
Result<state::SourceIdentity> ReadSourceIdentity(kube::Client& source, const std::string& server);

// Reads and records the identity; logs a warning and leaves a note (an Event for the
// controller to make) when it changed. Returns the epoch to work with.
class SourceIdentityTracker {
 public:
  // `probe` (a client that does not retry), `store` must outlive the tracker.
  SourceIdentityTracker(kube::Client& probe, std::string server, state::SourceIdentityStore& store,
                        std::string id, log::Logger logger, nlohmann::json source_cluster);

  // The epoch after this observation; errors when the source or Redis cannot be read.
  Result<uint64_t> Observe();
  uint64_t epoch() const { return epoch_; }

 private:
  kube::Client& probe_;
  std::string server_;
  state::SourceIdentityStore& store_;
  std::string id_;
  log::Logger logger_;
  nlohmann::json source_cluster_;
  uint64_t epoch_ = 0;
};

}  // namespace kubesync::eventslistener
