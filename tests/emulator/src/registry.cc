#include "registry.h"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace kubesync::emulator {
namespace {

std::string Key(const std::string& g, const std::string& v, const std::string& r) {
  return g + "/" + v + "/" + r;
}

struct Builtin {
  const char* group;
  const char* version;
  const char* resource;
  const char* singular;
  const char* kind;
  bool namespaced;
  std::vector<std::string> short_names;
  bool status;
  bool scale;
  bool generation;
  bool all_category;
};

// Scope, kind, short names and subresources as served by kube-apiserver 1.30
// (`kubectl api-resources` on a real cluster). Generation is maintained by the kinds
// whose registry strategy sets it (workloads, batch, networking, policy, autoscaling).
const std::vector<Builtin>& Builtins() {
  static const std::vector<Builtin> kTable = {
      {"", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, true, false, false, false},
      {"", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, false, false, false, false},
      {"", "v1", "secrets", "secret", "Secret", true, {}, false, false, false, false},
      {"", "v1", "services", "service", "Service", true, {"svc"}, true, false, false, true},
      {"",
       "v1",
       "serviceaccounts",
       "serviceaccount",
       "ServiceAccount",
       true,
       {"sa"},
       false,
       false,
       false,
       false},
      {"", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"}, false, false, false, false},
      {"", "v1", "pods", "pod", "Pod", true, {"po"}, true, false, false, true},
      {"",
       "v1",
       "persistentvolumeclaims",
       "persistentvolumeclaim",
       "PersistentVolumeClaim",
       true,
       {"pvc"},
       true,
       false,
       false,
       false},
      {"",
       "v1",
       "persistentvolumes",
       "persistentvolume",
       "PersistentVolume",
       false,
       {"pv"},
       true,
       false,
       false,
       false},
      {"", "v1", "events", "event", "Event", true, {"ev"}, false, false, false, false},
      {"apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, true, true, true, true},
      {"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, true, true, true, true},
      {"apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, {"ds"}, true, false, true, true},
      {"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, true, true, true, true},
      {"batch", "v1", "jobs", "job", "Job", true, {}, true, false, true, true},
      {"batch", "v1", "cronjobs", "cronjob", "CronJob", true, {"cj"}, true, false, true, true},
      {"networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", true, {"ing"}, true, false, true, false},
      {"networking.k8s.io",
       "v1",
       "networkpolicies",
       "networkpolicy",
       "NetworkPolicy",
       true,
       {"netpol"},
       false,
       false,
       true,
       false},
      {"rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, {}, false, false, false, false},
      {"rbac.authorization.k8s.io",
       "v1",
       "rolebindings",
       "rolebinding",
       "RoleBinding",
       true,
       {},
       false,
       false,
       false,
       false},
      {"rbac.authorization.k8s.io",
       "v1",
       "clusterroles",
       "clusterrole",
       "ClusterRole",
       false,
       {},
       false,
       false,
       false,
       false},
      {"rbac.authorization.k8s.io",
       "v1",
       "clusterrolebindings",
       "clusterrolebinding",
       "ClusterRoleBinding",
       false,
       {},
       false,
       false,
       false,
       false},
      {"policy",
       "v1",
       "poddisruptionbudgets",
       "poddisruptionbudget",
       "PodDisruptionBudget",
       true,
       {"pdb"},
       true,
       false,
       true,
       false},
      {"autoscaling",
       "v2",
       "horizontalpodautoscalers",
       "horizontalpodautoscaler",
       "HorizontalPodAutoscaler",
       true,
       {"hpa"},
       true,
       false,
       true,
       true},
      {"autoscaling",
       "v1",
       "horizontalpodautoscalers",
       "horizontalpodautoscaler",
       "HorizontalPodAutoscaler",
       true,
       {"hpa"},
       true,
       false,
       true,
       true},
      {"coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {}, false, false, false, false},
      {"apiextensions.k8s.io",
       "v1",
       "customresourcedefinitions",
       "customresourcedefinition",
       "CustomResourceDefinition",
       false,
       {"crd", "crds"},
       true,
       false,
       true,
       false},
  };
  return kTable;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

nlohmann::json GroupJson(const std::string& name, const std::vector<std::string>& versions) {
  nlohmann::json vs = nlohmann::json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", name + "/" + v}, {"version", v}});
  return {
      {"name", name},
      {"versions", vs},
      {"preferredVersion", {{"groupVersion", name + "/" + versions.front()}, {"version", versions.front()}}}};
}

}  // namespace

Registry::Registry() {
  std::unique_lock lock(mu_);
  for (const auto& b : Builtins()) {
    ResourceType t;
    t.group = b.group;
    t.version = b.version;
    t.resource = b.resource;
    t.singular = b.singular;
    t.kind = b.kind;
    t.list_kind = t.kind + "List";
    t.namespaced = b.namespaced;
    t.short_names = b.short_names;
    if (b.all_category) t.categories = {"all"};
    t.status_sub = b.status;
    t.scale_sub = b.scale;
    t.has_generation = b.generation;
    t.delete_returns_object =
        t.resource == "pods" || t.resource == "serviceaccounts" || t.resource == "namespaces";
    if (t.resource == "namespaces") t.verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
    AddLocked(std::move(t));
  }
}

void Registry::AddLocked(ResourceType type) {
  if (std::find(group_order_.begin(), group_order_.end(), type.group) == group_order_.end()) {
    group_order_.push_back(type.group);
  }
  const std::string key = Key(type.group, type.version, type.resource);
  types_[key] = std::make_shared<const ResourceType>(std::move(type));
}

ResourceTypePtr Registry::Find(const std::string& group, const std::string& version,
                               const std::string& resource) const {
  std::shared_lock lock(mu_);
  auto it = types_.find(Key(group, version, resource));
  return it == types_.end() ? nullptr : it->second;
}

std::vector<ResourceTypePtr> Registry::All() const {
  std::shared_lock lock(mu_);
  std::vector<ResourceTypePtr> out;
  for (const auto& [k, t] : types_) out.push_back(t);
  return out;
}

bool Registry::GroupVersionExists(const std::string& group, const std::string& version) const {
  std::shared_lock lock(mu_);
  for (const auto& [k, t] : types_) {
    if (t->group == group && t->version == version) return true;
  }
  return false;
}

void Registry::AddCrd(const nlohmann::json& crd) {
  const std::string name = crd["metadata"].value("name", "");
  const auto& spec = crd["spec"];
  const auto& names = spec["names"];
  std::unique_lock lock(mu_);
  for (const auto& k : crd_keys_[name]) types_.erase(k);
  crd_keys_[name].clear();
  ++generation_;
  for (const auto& v : spec.value("versions", nlohmann::json::array())) {
    if (!v.value("served", false)) continue;
    ResourceType t;
    t.group = spec.value("group", "");
    t.version = v.value("name", "");
    t.resource = names.value("plural", "");
    t.kind = names.value("kind", "");
    t.singular = names.value("singular", Lower(t.kind));
    t.list_kind = names.value("listKind", t.kind + "List");
    t.namespaced = spec.value("scope", "Namespaced") == "Namespaced";
    t.short_names = names.value("shortNames", std::vector<std::string>{});
    t.categories = names.value("categories", std::vector<std::string>{});
    t.custom = true;
    t.has_generation = true;
    const nlohmann::json subs = v.contains("subresources") ? v["subresources"] : nlohmann::json::object();
    t.status_sub = subs.contains("status");
    if (subs.contains("scale")) {
      t.scale_sub = true;
      t.spec_replicas_path = subs["scale"].value("specReplicasPath", ".spec.replicas");
      t.status_replicas_path = subs["scale"].value("statusReplicasPath", ".status.replicas");
      t.label_selector_path = subs["scale"].value("labelSelectorPath", "");
    }
    if (v.contains("schema") && v["schema"].is_object() && v["schema"].contains("openAPIV3Schema")) {
      t.schema = std::make_shared<const nlohmann::json>(v["schema"]["openAPIV3Schema"]);
    }
    if (v.contains("additionalPrinterColumns") && v["additionalPrinterColumns"].is_array() &&
        !v["additionalPrinterColumns"].empty()) {
      t.printer_columns = v["additionalPrinterColumns"];
    } else {
      // apiextensions defaulting: a CRD without columns gets Age.
      t.printer_columns = nlohmann::json::array(
          {{{"name", "Age"}, {"type", "date"}, {"jsonPath", ".metadata.creationTimestamp"}}});
    }
    crd_keys_[name].push_back(Key(t.group, t.version, t.resource));
    AddLocked(std::move(t));
  }
}

void Registry::RemoveCrd(const std::string& crd_name) {
  std::unique_lock lock(mu_);
  auto it = crd_keys_.find(crd_name);
  if (it == crd_keys_.end()) return;
  for (const auto& k : it->second) types_.erase(k);
  crd_keys_.erase(it);
  ++generation_;
}

std::map<std::string, Registry::GroupInfo> Registry::GroupsLocked() const {
  std::map<std::string, GroupInfo> groups;
  for (const auto& [k, t] : types_) {
    auto& vs = groups[t->group].versions;
    if (std::find(vs.begin(), vs.end(), t->version) == vs.end()) vs.push_back(t->version);
  }
  // Kubernetes version priority: GA before beta before alpha, higher first ("v2" > "v1").
  for (auto& [g, info] : groups) {
    std::sort(info.versions.begin(), info.versions.end(), [](const std::string& a, const std::string& b) {
      auto rank = [](const std::string& v) {
        return v.find("alpha") != std::string::npos ? 2 : v.find("beta") != std::string::npos ? 1 : 0;
      };
      if (rank(a) != rank(b)) return rank(a) < rank(b);
      if (a.size() != b.size()) return a.size() > b.size();
      return a > b;
    });
  }
  return groups;
}

nlohmann::json Registry::ApiVersions(const std::string& server_address) const {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

nlohmann::json Registry::ApiGroupList() const {
  std::shared_lock lock(mu_);
  auto groups = GroupsLocked();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& g : group_order_) {
    auto it = groups.find(g);
    if (g.empty() || it == groups.end()) continue;
    list.push_back(GroupJson(g, it->second.versions));
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}};
}

std::optional<nlohmann::json> Registry::ApiGroup(const std::string& group) const {
  std::shared_lock lock(mu_);
  auto groups = GroupsLocked();
  auto it = groups.find(group);
  if (group.empty() || it == groups.end()) return std::nullopt;
  nlohmann::json j = GroupJson(group, it->second.versions);
  j["kind"] = "APIGroup";
  j["apiVersion"] = "v1";
  return j;
}

std::optional<nlohmann::json> Registry::ResourceList(const std::string& group,
                                                     const std::string& version) const {
  std::shared_lock lock(mu_);
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& [k, t] : types_) {
    if (t->group != group || t->version != version) continue;
    nlohmann::json r = {{"name", t->resource},
                        {"singularName", t->singular},
                        {"namespaced", t->namespaced},
                        {"kind", t->kind},
                        {"verbs", t->verbs}};
    if (!t->short_names.empty()) r["shortNames"] = t->short_names;
    if (!t->categories.empty()) r["categories"] = t->categories;
    resources.push_back(std::move(r));
    if (t->status_sub) {
      resources.push_back({{"name", t->resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", t->namespaced},
                           {"kind", t->kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
    if (t->scale_sub) {
      resources.push_back({{"name", t->resource + "/scale"},
                           {"singularName", ""},
                           {"namespaced", t->namespaced},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) return std::nullopt;
  nlohmann::json j = {{"kind", "APIResourceList"},
                      {"groupVersion", group.empty() ? version : group + "/" + version},
                      {"resources", resources}};
  if (!group.empty()) j["apiVersion"] = "v1";
  return j;
}

nlohmann::json Registry::OpenApiIndex() const {
  std::shared_lock lock(mu_);
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& [g, info] : GroupsLocked()) {
    for (const auto& v : info.versions) {
      const std::string p = g.empty() ? "api/" + v : "apis/" + g + "/" + v;
      paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=" + std::to_string(generation_)}};
    }
  }
  return {{"paths", paths}};
}

// A minimal OpenAPI v3 document: one PATCH operation per kind carrying
// x-kubernetes-group-version-kind and the fieldValidation parameter, which is what kubectl
// (1.29+) checks to decide that the server validates fields (cmd/util QueryParamVerifierV3).
std::optional<nlohmann::json> Registry::OpenApiDocument(const std::string& path) const {
  std::string group, version;
  if (path.rfind("api/", 0) == 0) {
    version = path.substr(4);
  } else if (path.rfind("apis/", 0) == 0) {
    const std::string rest = path.substr(5);
    const auto slash = rest.rfind('/');
    if (slash == std::string::npos) return std::nullopt;
    group = rest.substr(0, slash);
    version = rest.substr(slash + 1);
  } else {
    return std::nullopt;
  }
  std::shared_lock lock(mu_);
  nlohmann::json paths = nlohmann::json::object();
  nlohmann::json schemas = nlohmann::json::object();
  const std::string prefix = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  bool any = false;
  for (const auto& [k, t] : types_) {
    if (t->group != group || t->version != version) continue;
    any = true;
    const std::string item =
        prefix + (t->namespaced ? "/namespaces/{namespace}/" : "/") + t->resource + "/{name}";
    const nlohmann::json gvk = {{"group", t->group}, {"version", t->version}, {"kind", t->kind}};
    paths[item] = {{"patch",
                    {{"x-kubernetes-action", "patch"},
                     {"x-kubernetes-group-version-kind", gvk},
                     {"parameters",
                      {{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                       {{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                       {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}}}},
                     {"responses", {{"200", {{"description", "OK"}}}}}}}};
  }
  if (!any) return std::nullopt;
  return nlohmann::json{{"openapi", "3.0.0"},
                        {"info", {{"title", "Kubernetes"}, {"version", "v1.30.0"}}},
                        {"paths", paths},
                        {"components", {{"schemas", schemas}}}};
}

}  // namespace kubesync::emulator
