#include "kubesync/transform/clean.h"

#include <array>
#include <charconv>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "json_util.h"

namespace kubesync::transform {
namespace {

using internal::ArrayAt;
using internal::Erase;
using internal::EraseIfEmpty;
using internal::Has;
using internal::ObjectAt;
using internal::StringAt;
using nlohmann::json;

// Set by the API server on every object; meaningless (or rejected) in another cluster.
// ownerReferences point at source uids; finalizers belong to the source's controllers and
// on a standby would only block pruning (Velero's restore keeps neither).
constexpr std::array<std::string_view, 10> kServerMetadata = {
    "uid",           "resourceVersion",   "creationTimestamp", "generation",      "managedFields",
    "selfLink",      "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers"};

// Annotations written by the source's controllers, not by users.
constexpr std::array<std::string_view, 11> kControllerAnnotations = {
    "deployment.kubernetes.io/revision",               // deployment controller
    "deployment.kubernetes.io/desired-replicas",       // on ReplicaSets
    "deployment.kubernetes.io/max-replicas",           // on ReplicaSets
    "pv.kubernetes.io/bind-completed",                 // PV controller binding (Velero drops these)
    "pv.kubernetes.io/bound-by-controller",            //
    "volume.kubernetes.io/storage-provisioner",        // set on PVCs by the PV controller
    "volume.beta.kubernetes.io/storage-provisioner",   //
    "volume.kubernetes.io/selected-node",              // a source node name
    "control-plane.alpha.kubernetes.io/leader",        // leader election record
    "endpoints.kubernetes.io/last-change-trigger-time",  // endpoints controller
    "batch.kubernetes.io/job-tracking",                // job controller (finalizer tracking)
};

constexpr std::string_view kKubesyncPrefix = "kubesync.io/";
constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

bool Is(const plan::Gvr& gvr, std::string_view group, std::string_view resource) {
  return gvr.group == group && gvr.resource == resource;
}

// Our own marks on a source object (chained replication) would be stale on the copy.
void EraseKubesyncKeys(json* section) {
  if (section == nullptr) {
    return;
  }
  for (auto it = section->begin(); it != section->end();) {
    if (it.key().starts_with(kKubesyncPrefix)) {
      it = section->erase(it);
    } else {
      ++it;
    }
  }
}

void CleanMetadata(json& obj, const plan::Gvr& gvr) {
  json* meta = ObjectAt(&obj, "metadata");
  if (meta == nullptr) {
    return;
  }
  for (std::string_view key : kServerMetadata) {
    Erase(meta, key);
  }
  json* annotations = ObjectAt(meta, "annotations");
  for (std::string_view key : kControllerAnnotations) {
    Erase(annotations, key);
  }
  EraseKubesyncKeys(annotations);
  EraseIfEmpty(meta, "annotations");
  json* labels = ObjectAt(meta, "labels");
  EraseKubesyncKeys(labels);
  if (Is(gvr, "", "namespaces")) {
    Erase(labels, "kubernetes.io/metadata.name");  // the API server sets it on every namespace
  }
  EraseIfEmpty(meta, "labels");
}

int AsPort(const json& value) {
  if (value.is_number_integer()) {
    return value.get<int>();
  }
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    int port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    return ec == std::errc() && end == text.data() + text.size() ? port : 0;
  }
  return 0;
}

std::string PortKey(int port, std::string protocol) {
  return std::to_string(port) + "/" + (protocol.empty() ? "TCP" : protocol);
}

// The Service nodePorts and healthCheckNodePort the user asked for, as opposed to the ones
// the source cluster allocated. Like Velero's restore: a port is explicit when the
// kubectl last-applied-configuration sets it (ports matched by name, unnamed ones by
// value), or when a managedFields entry owns f:nodePort of that port (keyed by port and
// protocol, `k:{"port":80,"protocol":"TCP"}`), i.e. some client sent it.
struct ExplicitPorts {
  std::set<std::string> names;
  std::set<int> unnamed_values;
  std::set<std::string> port_keys;  // "80/TCP"
  bool health_check = false;
};

ExplicitPorts FindExplicitPorts(const json& source) {
  ExplicitPorts out;
  const json* meta = ObjectAt(&source, "metadata");
  std::string applied_text = StringAt(ObjectAt(meta, "annotations"), kLastApplied);
  if (!applied_text.empty()) {
    json applied = json::parse(applied_text, nullptr, /*allow_exceptions=*/false);
    const json* spec = ObjectAt(&applied, "spec");
    if (const json* ports = ArrayAt(spec, "ports")) {
      for (const json& port : *ports) {
        if (!port.is_object() || !port.contains("nodePort") || AsPort(port["nodePort"]) <= 0) {
          continue;
        }
        if (port.contains("name") && port["name"].is_string()) {
          out.names.insert(port["name"].get<std::string>());
        } else {
          out.unnamed_values.insert(AsPort(port["nodePort"]));
        }
      }
    }
    if (spec != nullptr && spec->contains("healthCheckNodePort") && AsPort((*spec)["healthCheckNodePort"]) > 0) {
      out.health_check = true;
    }
  }
  if (const json* entries = ArrayAt(meta, "managedFields")) {
    for (const json& entry : *entries) {
      const json* spec = ObjectAt(ObjectAt(&entry, "fieldsV1"), "f:spec");
      if (Has(spec, "f:healthCheckNodePort")) {
        out.health_check = true;
      }
      const json* ports = ObjectAt(spec, "f:ports");
      if (ports == nullptr) {
        continue;
      }
      for (auto it = ports->begin(); it != ports->end(); ++it) {
        if (!it.key().starts_with("k:") || !it->is_object() || !it->contains("f:nodePort")) {
          continue;
        }
        json key = json::parse(it.key().substr(2), nullptr, /*allow_exceptions=*/false);
        if (key.is_object() && key.contains("port")) {
          out.port_keys.insert(PortKey(AsPort(key["port"]), StringAt(&key, "protocol")));
        }
      }
    }
  }
  return out;
}

void CleanService(json& obj, const json& source, const CleanOptions& options) {
  json* spec = ObjectAt(&obj, "spec");
  if (spec == nullptr) {
    return;
  }
  // clusterIP "None" makes a headless Service and is user intent; any other value was
  // allocated from the source's service CIDR. On update the API server keeps the
  // destination's allocation when the field is left empty.
  if (StringAt(spec, "clusterIP") != "None") {
    Erase(spec, "clusterIP");
    Erase(spec, "clusterIPs");
  }
  if (options.keep_node_ports || StringAt(spec, "type") == "ExternalName") {
    return;
  }
  ExplicitPorts explicit_ports = FindExplicitPorts(source);
  if (json* ports = ArrayAt(spec, "ports")) {
    for (json& port : *ports) {
      if (!port.is_object() || !port.contains("nodePort")) {
        continue;
      }
      const std::string name = StringAt(&port, "name");
      const int value = AsPort(port["nodePort"]);
      const bool keep = name.empty() ? explicit_ports.unnamed_values.contains(value)
                                     : explicit_ports.names.contains(name);
      if (!keep && !explicit_ports.port_keys.contains(PortKey(AsPort(port.value("port", json())),
                                                              StringAt(&port, "protocol")))) {
        port.erase("nodePort");
      }
    }
  }
  if (!explicit_ports.health_check) {
    Erase(spec, "healthCheckNodePort");
  }
}

void CleanPvc(json& obj, const json& source) {
  // The PV controller records that it set spec.volumeName itself; a volumeName without
  // that annotation was written by the user (static pre-binding) and is kept.
  const json* annotations = ObjectAt(ObjectAt(&source, "metadata"), "annotations");
  if (Has(annotations, "pv.kubernetes.io/bound-by-controller")) {
    Erase(ObjectAt(&obj, "spec"), "volumeName");
  }
}

void CleanPv(json& obj, const json& source) {
  json* spec = ObjectAt(&obj, "spec");
  const json* annotations = ObjectAt(ObjectAt(&source, "metadata"), "annotations");
  if (Has(annotations, "pv.kubernetes.io/bound-by-controller")) {
    Erase(spec, "claimRef");  // bound by the source's PV controller
    return;
  }
  // Pre-bound by a user or a provisioner: keep the claim it is reserved for, not the
  // source claim's identity.
  json* claim = ObjectAt(spec, "claimRef");
  Erase(claim, "uid");
  Erase(claim, "resourceVersion");
}

void EraseMounts(json* containers, const std::set<std::string>& volumes) {
  if (containers == nullptr) {
    return;
  }
  for (json& container : *containers) {
    json* mounts = ArrayAt(&container, "volumeMounts");
    if (mounts == nullptr) {
      continue;
    }
    for (size_t i = mounts->size(); i-- > 0;) {
      if (volumes.contains(StringAt(&(*mounts)[i], "name"))) {
        mounts->erase(i);
      }
    }
  }
}

void CleanPod(json& obj) {
  json* spec = ObjectAt(&obj, "spec");
  if (spec == nullptr) {
    return;
  }
  Erase(spec, "nodeName");             // scheduling result in the source cluster
  Erase(spec, "priority");             // resolved from priorityClassName by admission
  Erase(spec, "ephemeralContainers");  // only settable through the subresource
  // Service account token volumes injected by admission: the legacy
  // "<sa>-token-xxxxx" secret (which is not copied) and the projected
  // "kube-api-access-xxxxx". The destination's admission injects its own.
  std::string sa = StringAt(spec, "serviceAccountName", StringAt(spec, "serviceAccount", "default"));
  std::set<std::string> dropped;
  if (json* volumes = ArrayAt(spec, "volumes")) {
    for (size_t i = volumes->size(); i-- > 0;) {
      std::string name = StringAt(&(*volumes)[i], "name");
      if (name.starts_with(sa + "-token-") || name.starts_with("kube-api-access-")) {
        dropped.insert(name);
        volumes->erase(i);
      }
    }
  }
  EraseMounts(ArrayAt(spec, "containers"), dropped);
  EraseMounts(ArrayAt(spec, "initContainers"), dropped);
}

void CleanServiceAccount(json& obj) {
  // References to the legacy auto-generated "<name>-token-xxxxx" secrets, which are not
  // copied (Velero drops them the same way).
  const std::string prefix = StringAt(ObjectAt(&obj, "metadata"), "name") + "-token-";
  json* secrets = ArrayAt(&obj, "secrets");
  if (secrets == nullptr) {
    return;
  }
  for (size_t i = secrets->size(); i-- > 0;) {
    if (StringAt(&(*secrets)[i], "name").starts_with(prefix)) {
      secrets->erase(i);
    }
  }
  EraseIfEmpty(&obj, "secrets");
}

void CleanJob(json& obj) {
  json* spec = ObjectAt(&obj, "spec");
  if (spec == nullptr) {
    return;
  }
  auto manual = spec->find("manualSelector");
  if (manual != spec->end() && manual->is_boolean() && manual->get<bool>()) {
    return;  // the user wrote the selector and labels
  }
  // Generated on create from the Job's uid; the destination generates its own.
  Erase(spec, "selector");
  json* template_meta = ObjectAt(ObjectAt(spec, "template"), "metadata");
  json* labels = ObjectAt(template_meta, "labels");
  for (std::string_view key : {"controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                               "batch.kubernetes.io/job-name"}) {
    Erase(labels, key);
  }
  EraseIfEmpty(template_meta, "labels");
}

void CleanNamespace(json& obj) {
  json* spec = ObjectAt(&obj, "spec");
  Erase(spec, "finalizers");  // ["kubernetes"], set by the API server
  EraseIfEmpty(&obj, "spec");
}

}  // namespace

json Clean(const json& source_obj, const plan::Gvr& gvr, const CleanOptions& options) {
  json out = source_obj;
  if (!out.is_object()) {
    return out;
  }
  // Kind rules first: some read metadata (annotations, managedFields) that CleanMetadata
  // drops. They read it from `source_obj`.
  if (gvr.group.empty()) {
    if (gvr.resource == "services") {
      CleanService(out, source_obj, options);
    } else if (gvr.resource == "persistentvolumeclaims") {
      CleanPvc(out, source_obj);
    } else if (gvr.resource == "persistentvolumes") {
      CleanPv(out, source_obj);
    } else if (gvr.resource == "pods") {
      CleanPod(out);
    } else if (gvr.resource == "serviceaccounts") {
      CleanServiceAccount(out);
    } else if (gvr.resource == "namespaces") {
      CleanNamespace(out);
    }
  } else if (Is(gvr, "batch", "jobs")) {
    CleanJob(out);
  }
  CleanMetadata(out, gvr);
  // kubesync copies intent (spec and data), never observed state; for kinds with a status
  // subresource the API server ignores it on create and update anyway.
  out.erase("status");
  return out;
}

json ForUpdate(const json& desired, const json& existing_dest, const plan::Gvr& gvr) {
  json out = desired;
  if (!out.is_object() || !existing_dest.is_object()) {
    return out;
  }
  const json* old_meta = ObjectAt(&existing_dest, "metadata");
  const json* old_spec = ObjectAt(&existing_dest, "spec");
  json& meta = out["metadata"];
  if (!meta.is_object()) {
    meta = json::object();
  }
  if (Has(old_meta, "resourceVersion")) {
    meta["resourceVersion"] = (*old_meta)["resourceVersion"];
  }
  // The destination's own finalizers (e.g. kubernetes.io/pvc-protection, added by
  // admission on create only) must survive the update.
  if (Has(old_meta, "finalizers")) {
    meta["finalizers"] = (*old_meta)["finalizers"];
  }
  json* spec = ObjectAt(&out, "spec");
  auto keep = [&](std::string_view key) {
    if (spec != nullptr && !Has(spec, key) && Has(old_spec, key)) {
      (*spec)[std::string(key)] = (*old_spec)[std::string(key)];
    }
  };
  if (gvr.group.empty() && gvr.resource == "services") {
    keep("clusterIP");
    keep("clusterIPs");
    keep("healthCheckNodePort");
    json* ports = ArrayAt(spec, "ports");
    const json* old_ports = ArrayAt(old_spec, "ports");
    if (ports != nullptr && old_ports != nullptr) {
      for (json& port : *ports) {
        if (!port.is_object() || port.contains("nodePort")) {
          continue;
        }
        std::string key = PortKey(AsPort(port.value("port", json())), StringAt(&port, "protocol"));
        for (const json& old : *old_ports) {
          if (old.is_object() && old.contains("nodePort") &&
              PortKey(AsPort(old.value("port", json())), StringAt(&old, "protocol")) == key) {
            port["nodePort"] = old["nodePort"];
          }
        }
      }
    }
  } else if (gvr.group.empty() && gvr.resource == "persistentvolumeclaims") {
    // Only spec.resources of a bound claim may change.
    if (old_spec != nullptr && spec != nullptr) {
      json merged = *old_spec;
      if (Has(spec, "resources")) {
        merged["resources"] = (*spec)["resources"];
      }
      *spec = std::move(merged);
    }
  } else if (gvr.group.empty() && gvr.resource == "persistentvolumes") {
    keep("claimRef");
  } else if (gvr.group.empty() && gvr.resource == "pods") {
    keep("nodeName");
  } else if (gvr.group.empty() && gvr.resource == "namespaces") {
    if (spec == nullptr && old_spec != nullptr) {
      out["spec"] = *old_spec;
    } else {
      keep("finalizers");
    }
  } else if (Is(gvr, "batch", "jobs")) {
    keep("selector");
    json* labels = ObjectAt(ObjectAt(ObjectAt(spec, "template"), "metadata"), "labels");
    const json* old_labels = ObjectAt(ObjectAt(ObjectAt(old_spec, "template"), "metadata"), "labels");
    json* template_meta = ObjectAt(ObjectAt(spec, "template"), "metadata");
    if (old_labels != nullptr && template_meta != nullptr) {
      if (labels == nullptr) {
        (*template_meta)["labels"] = json::object();
        labels = &(*template_meta)["labels"];
      }
      for (std::string_view key : {"controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                                   "batch.kubernetes.io/job-name"}) {
        if (Has(old_labels, key) && !Has(labels, key)) {
          (*labels)[std::string(key)] = (*old_labels)[std::string(key)];
        }
      }
    }
  }
  return out;
}

}  // namespace kubesync::transform
