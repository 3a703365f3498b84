// What a deleted LiveSynchronization leaves outside the clusters, removed behind its
// finalizer: its Redis records and tombstones (state::ObjectStateStore::DeleteAll), its NATS
// stream with its consumers (bus::Connection::DeleteStream; consumers go with the stream),
// and its set's files under the runtime's work directory (<work_dir>/<id>: plan,
// kubeconfigs, logs). Objects in the destination and the recovery Task stay.
#pragma once

#include <string>

#include "context.h"

namespace kubesync::controller {

// Idempotent: what is already gone is not an error. Unavailable when Redis or NATS cannot
// be reached (the finalizer stays; retried).
Status CleanUpLiveSync(const Context& ctx, const std::string& id);

}  // namespace kubesync::controller
