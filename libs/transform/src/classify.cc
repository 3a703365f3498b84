#include "kubesync/transform/classify.h"

#include "json_util.h"

namespace kubesync::transform {
namespace {

using internal::ArrayAt;
using internal::ObjectAt;
using internal::StringAt;
using nlohmann::json;

bool Is(const Gvr& gvr, std::string_view group, std::string_view resource) {
  return gvr.group == group && gvr.resource == resource;
}

// The ownerReference with controller: true, if any.
const json* ControllerRef(const json& obj) {
  const json* refs = ArrayAt(ObjectAt(&obj, "metadata"), "ownerReferences");
  if (refs == nullptr) {
    return nullptr;
  }
  for (const json& ref : *refs) {
    if (ref.is_object()) {
      auto controller = ref.find("controller");
      if (controller != ref.end() && controller->is_boolean() && controller->get<bool>()) {
        return &ref;
      }
    }
  }
  return nullptr;
}

// Kinds whose controller-owned instances the destination's built-in controllers recreate
// from the copied owner (Deployment -> ReplicaSet -> Pod, StatefulSet/DaemonSet -> Pod and
// ControllerRevision, CronJob -> Job, Service -> EndpointSlice).
bool RecreatedByController(const Gvr& gvr) {
  return Is(gvr, "", "pods") || Is(gvr, "apps", "replicasets") || Is(gvr, "apps", "controllerrevisions") ||
         Is(gvr, "batch", "jobs") || Is(gvr, "discovery.k8s.io", "endpointslices");
}

}  // namespace

std::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNone:
      return "";
    case SkipReason::kServiceAccountToken:
      return "service-account-token";
    case SkipReason::kOwnedByController:
      return "owned-by-controller";
    case SkipReason::kMirrorPod:
      return "mirror-pod";
    case SkipReason::kControllerManagedEndpoints:
      return "controller-managed-endpoints";
    case SkipReason::kBeingDeleted:
      return "being-deleted";
  }
  return "unknown";
}

Decision Classify(const json& source_obj, const Gvr& gvr, const ClassifyOptions& options) {
  const json* meta = ObjectAt(&source_obj, "metadata");
  if (meta != nullptr) {
    auto deletion = meta->find("deletionTimestamp");
    if (deletion != meta->end() && !deletion->is_null()) {
      return {SkipReason::kBeingDeleted, "deletionTimestamp " + StringAt(meta, "deletionTimestamp")};
    }
  }
  if (Is(gvr, "", "secrets") && StringAt(&source_obj, "type") == "kubernetes.io/service-account-token") {
    return {SkipReason::kServiceAccountToken,
            "service account " + StringAt(ObjectAt(meta, "annotations"), "kubernetes.io/service-account.name")};
  }
  if (Is(gvr, "", "pods") && internal::Has(ObjectAt(meta, "annotations"), "kubernetes.io/config.mirror")) {
    return {SkipReason::kMirrorPod, "static pod mirror"};
  }
  // The endpoints controller labels the Endpoints it maintains (for Services with a
  // selector) with endpointslice.kubernetes.io/skip-mirror=true so that the EndpointSlice
  // mirroring controller leaves them alone; user-managed Endpoints lack it.
  if (Is(gvr, "", "endpoints") &&
      StringAt(ObjectAt(meta, "labels"), "endpointslice.kubernetes.io/skip-mirror") == "true") {
    return {SkipReason::kControllerManagedEndpoints, "maintained by the endpoints controller"};
  }
  if (!options.copy_controller_owned && RecreatedByController(gvr)) {
    if (const json* ref = ControllerRef(source_obj)) {
      return {SkipReason::kOwnedByController, "controller " + StringAt(ref, "kind") + " " + StringAt(ref, "name")};
    }
  }
  return {};
}

bool PvcNeedsUpdate(const json& old_dest, const json& new_obj) {
  auto resources = [](const json& obj) {
    const json* r = ObjectAt(ObjectAt(&obj, "spec"), "resources");
    return r == nullptr ? json() : *r;
  };
  if (resources(old_dest) != resources(new_obj)) {
    return true;
  }
  // Labels/annotations: only what kubesync sets counts. The destination's own controllers
  // add annotations (pv.kubernetes.io/bind-completed, ...) that must not force a write.
  for (std::string_view name : {"labels", "annotations"}) {
    const json* wanted = ObjectAt(ObjectAt(&new_obj, "metadata"), name);
    const json* have = ObjectAt(ObjectAt(&old_dest, "metadata"), name);
    if (wanted == nullptr) {
      continue;
    }
    for (auto it = wanted->begin(); it != wanted->end(); ++it) {
      // Per-write marks change with every source write without changing the content.
      if (it.key() == "kubesync.io/source-resource-version" || it.key() == "kubesync.io/content-hash") {
        continue;
      }
      if (have == nullptr) {
        return true;
      }
      auto found = have->find(it.key());
      if (found == have->end() || *found != *it) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace kubesync::transform
