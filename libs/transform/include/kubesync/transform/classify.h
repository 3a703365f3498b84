// What kubesync copies, and when an existing destination copy needs rewriting.
//
// Classify decides, from the source object alone, whether the processor copies it. Objects
// that the destination cluster recreates by itself (from their copied owner), or that only
// make sense in the source cluster, are skipped with a reason the caller can log.
//
// All functions are pure and thread-safe; they never throw, whatever the JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kubesync/plan/plan.h"

namespace kubesync::transform {

using Gvr = plan::Gvr;

enum class SkipReason {
  kNone,
  // v1 Secret of type kubernetes.io/service-account-token: signed by the source cluster's
  // keys and filled in by the destination's token controller for its own service accounts.
  kServiceAccountToken,
  // Pod, ReplicaSet, Job, ControllerRevision or EndpointSlice with a controller
  // ownerReference: the destination's controller recreates it from the copied owner.
  kOwnedByController,
  // Static pod mirror (kubernetes.io/config.mirror): the kubelet of a source node owns it.
  kMirrorPod,
  // Endpoints maintained by the endpoints controller for a Service with a selector.
  kControllerManagedEndpoints,
  // metadata.deletionTimestamp is set: the object is going away in the source. Writing it
  // would (re)create a copy that the coming DELETED event removes again; the destination
  // keeps its last live version until then.
  kBeingDeleted,
};

// "service-account-token", "owned-by-controller", ... ("" for kNone): for log fields.
std::string_view SkipReasonName(SkipReason reason);

struct ClassifyOptions {
  // Copy Pods/ReplicaSets/... even when a controller owns them (ownerReferences are still
  // cleaned). Off by default, as in the issue.
  bool copy_controller_owned = false;
};

struct Decision {
  SkipReason skip = SkipReason::kNone;
  // Human detail for logs, e.g. "controller ReplicaSet web-5d8f". Never Secret data.
  std::string detail;

  bool copy() const { return skip == SkipReason::kNone; }
};

// `gvr` is the resource the event came from (list items carry no kind/apiVersion).
Decision Classify(const nlohmann::json& source_obj, const Gvr& gvr, const ClassifyOptions& options = {});

// PersistentVolumeClaims: once bound, everything in spec except resources.requests is
// immutable. A destination PVC is rewritten only when spec.resources differ (volume
// expansion) or when a label/annotation of `new_obj` (other than the per-write kubesync
// ones) is missing or different in `old_dest` (metadata stays mutable and carries the
// marking; annotations the destination's own controllers add are ignored). `new_obj` is the transformed, marked
// object; `old_dest` the destination's current object.
bool PvcNeedsUpdate(const nlohmann::json& old_dest, const nlohmann::json& new_obj);

}  // namespace kubesync::transform
