// Drift: whether a destination object still holds what kubesync wrote to it.
//
// The content hash recorded on a destination object (kubesync.io/content-hash) says what
// kubesync wrote; someone editing the object by hand on the standby does not change it.
// DestinationContentHash recomputes the hash from the object as it stands: the fields the
// destination's API server and controllers populate are dropped exactly as Clean drops
// them from a source object (uid, resourceVersion, status, allocated Service IPs, ...),
// kubesync's own marks are kept. For an object nobody touched it equals the recorded
// hash; for a hand-edited one it differs.
//
// Pure and thread-safe; never throws, whatever the JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "kubesync/plan/plan.h"
#include "kubesync/transform/clean.h"

namespace kubesync::transform {

// ContentHash of `destination` cleaned of server-populated fields, with its kubesync.io/
// labels and annotations left as they are.
std::string DestinationContentHash(const nlohmann::json& destination, const plan::Gvr& gvr,
                                   const CleanOptions& options = {});

// True when `destination` no longer holds the content `desired_hash` describes: for
// PersistentVolumeClaims (whose bound spec the destination fills in) when
// PvcNeedsUpdate(destination, desired) says so, for everything else when
// DestinationContentHash differs from `desired_hash`. `desired` is the transformed,
// marked object; it is only read for PersistentVolumeClaims.
bool Drifted(const nlohmann::json& destination, const nlohmann::json& desired,
             const std::string& desired_hash, const plan::Gvr& gvr, const CleanOptions& options = {});

}  // namespace kubesync::transform
