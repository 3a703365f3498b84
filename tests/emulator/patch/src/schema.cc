#include "schema.h"

#include <map>
#include <tuple>
#include <utility>

namespace kubesync::emulator::internal {
namespace {

// path -> strategy, for one kind.
using KindTable = std::map<std::string, ListStrategy, std::less<>>;

void Merge(KindTable& t, const std::string& path, std::string key) { t[path] = ListStrategy{std::move(key)}; }

// ObjectMeta (k8s.io/apimachinery meta/v1 types.go): finalizers merge as a set,
// ownerReferences by uid. managedFields has no tags (atomic).
void AddObjectMeta(KindTable& t, const std::string& at) {
  Merge(t, at + ".finalizers", "");
  Merge(t, at + ".ownerReferences", "uid");
}

// Container and EphemeralContainerCommon (core/v1 types.go).
void AddContainer(KindTable& t, const std::string& at) {
  Merge(t, at + ".ports", "containerPort");
  Merge(t, at + ".env", "name");
  Merge(t, at + ".volumeMounts", "mountPath");
  Merge(t, at + ".volumeDevices", "devicePath");
  Merge(t, at + ".resizePolicy", "resourceName");
}

// PodSpec. tolerations, readinessGates and envFrom carry no patch tags: atomic.
void AddPodSpec(KindTable& t, const std::string& at) {
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    Merge(t, at + "." + list, "name");
    AddContainer(t, at + "." + list + "[]");
  }
  Merge(t, at + ".volumes", "name");
  Merge(t, at + ".imagePullSecrets", "name");
  Merge(t, at + ".hostAliases", "ip");
  Merge(t, at + ".topologySpreadConstraints", "topologyKey");
  Merge(t, at + ".resourceClaims", "name");
  Merge(t, at + ".schedulingGates", "name");
}

void AddPodTemplate(KindTable& t, const std::string& at) {
  AddObjectMeta(t, at + ".metadata");
  AddPodSpec(t, at + ".spec");
}

void AddConditions(KindTable& t) { Merge(t, "status.conditions", "type"); }

struct Key {
  std::string group;
  std::string kind;
  friend bool operator<(const Key& a, const Key& b) {
    return std::tie(a.group, a.kind) < std::tie(b.group, b.kind);
  }
};

std::map<Key, KindTable> BuildTables() {
  std::map<Key, KindTable> tables;
  auto kind = [&](std::string group, std::string name) -> KindTable& {
    KindTable& t = tables[Key{std::move(group), std::move(name)}];
    AddObjectMeta(t, "metadata");
    return t;
  };
  // core/v1. Endpoints subsets (addresses, ports) and Namespace spec.finalizers have no
  // patch tags in k8s.io/api, so they are atomic, as on a real server.
  {
    KindTable& t = kind("", "Namespace");
    AddConditions(t);
  }
  kind("", "ConfigMap");
  kind("", "Secret");
  kind("", "Endpoints");
  kind("", "Event");
  kind("", "PersistentVolume");
  {
    KindTable& t = kind("", "Service");
    Merge(t, "spec.ports", "port");
    AddConditions(t);
  }
  {
    KindTable& t = kind("", "ServiceAccount");
    Merge(t, "secrets", "name");
  }
  {
    KindTable& t = kind("", "Pod");
    AddPodSpec(t, "spec");
    AddConditions(t);
  }
  {
    KindTable& t = kind("", "PodTemplate");
    AddPodTemplate(t, "template");
  }
  {
    KindTable& t = kind("", "ReplicationController");
    AddPodTemplate(t, "spec.template");
    AddConditions(t);
  }
  {
    KindTable& t = kind("", "PersistentVolumeClaim");
    AddConditions(t);
  }
  // apps/v1. StatefulSet volumeClaimTemplates is atomic in k8s.io/api (no patch tags);
  // the ObjectMeta inside each template still merges its own lists.
  for (const char* name : {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}) {
    KindTable& t = kind("apps", name);
    AddPodTemplate(t, "spec.template");
    AddConditions(t);
  }
  // batch/v1.
  {
    KindTable& t = kind("batch", "Job");
    AddPodTemplate(t, "spec.template");
    AddConditions(t);
  }
  {
    KindTable& t = kind("batch", "CronJob");
    AddObjectMeta(t, "spec.jobTemplate.metadata");
    AddPodTemplate(t, "spec.jobTemplate.spec.template");
  }
  kind("networking.k8s.io", "Ingress");
  kind("networking.k8s.io", "NetworkPolicy");
  for (const char* name : {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}) {
    kind("rbac.authorization.k8s.io", name);
  }
  {
    KindTable& t = kind("policy", "PodDisruptionBudget");
    AddConditions(t);
  }
  {
    KindTable& t = kind("autoscaling", "HorizontalPodAutoscaler");
    AddConditions(t);
  }
  kind("autoscaling", "Scale");
  kind("coordination.k8s.io", "Lease");
  kind("events.k8s.io", "Event");
  {
    KindTable& t = kind("apiextensions.k8s.io", "CustomResourceDefinition");
    AddConditions(t);
  }
  return tables;
}

const std::map<Key, KindTable>& Tables() {
  // Immutable after first use; function-local static initialisation is thread-safe.
  static const std::map<Key, KindTable> tables = BuildTables();
  return tables;
}

const KindTable* FindKind(const TypeRef& type) {
  const auto& tables = Tables();
  auto it = tables.find(Key{type.group, type.kind});
  return it == tables.end() ? nullptr : &it->second;
}

}  // namespace

const ListStrategy* FindListStrategy(const TypeRef& type, std::string_view schema_path) {
  const KindTable* table = FindKind(type);
  if (table == nullptr) {
    return nullptr;
  }
  auto it = table->find(schema_path);
  return it == table->end() ? nullptr : &it->second;
}

std::string SchemaChild(std::string_view schema_path, std::string_view field) {
  std::string out(schema_path);
  if (!out.empty()) {
    out += '.';
  }
  out += field;
  return out;
}

std::string SchemaElement(std::string_view schema_path) { return std::string(schema_path) + "[]"; }

}  // namespace kubesync::emulator::internal

namespace kubesync::emulator {

bool HasStrategicSchema(const TypeRef& type) { return internal::FindKind(type) != nullptr; }

}  // namespace kubesync::emulator
