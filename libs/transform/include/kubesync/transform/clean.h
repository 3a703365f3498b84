// Cleaning: turning a source object into one that can be created in another cluster, by
// dropping what the source cluster's API server and controllers populated (identity,
// versions, status, allocations, bindings, controller bookkeeping). What is dropped, and
// why, is listed in clean.cc beside each rule; the lists follow Velero's restore item
// actions and the kubectl/yq cleaning scripts peers use (seeds/003).
//
// Pure and thread-safe; never throws, whatever the JSON (a non-object is returned as is).
#pragma once

#include <nlohmann/json.hpp>

#include "kubesync/plan/plan.h"

namespace kubesync::transform {

struct CleanOptions {
  // Keep every Service nodePort/healthCheckNodePort, even the ones the source cluster
  // allocated. By default only the ones the user set explicitly (visible in the
  // last-applied-configuration annotation or in managedFields, as Velero checks) are kept;
  // an allocated port would likely clash in the destination's range.
  bool keep_node_ports = false;
};

// A copy of `source_obj` without server-populated fields. `gvr` selects the kind rules.
nlohmann::json Clean(const nlohmann::json& source_obj, const plan::Gvr& gvr, const CleanOptions& options = {});

// The body to send when replacing `existing_dest` (the destination's current object) with
// `desired` (cleaned, transformed, marked): `desired` plus what the destination cluster
// allocated or bound for its own copy and must not lose on update (Service clusterIP(s)
// and allocated nodePorts, PV claimRef, PVC volumeName and immutable spec, Job selector and
// generated template labels, Pod nodeName, Namespace finalizers) and the current
// metadata.resourceVersion for optimistic concurrency.
nlohmann::json ForUpdate(const nlohmann::json& desired, const nlohmann::json& existing_dest, const plan::Gvr& gvr);

}  // namespace kubesync::transform
