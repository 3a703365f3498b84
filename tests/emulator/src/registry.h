// The resource table of the emulator: built-in kinds (real scope, kind, short names,
// subresources, verbs) and the kinds that CustomResourceDefinitions add at run time, plus
// the documents derived from it (discovery and the minimal OpenAPI v3 kubectl needs).
// Thread-safe: CRDs come and go while requests are served.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace kubesync::emulator {

struct ResourceType {
  std::string group;  // "" for core
  std::string version;
  std::string resource;  // plural
  std::string singular;
  std::string kind;
  std::string list_kind;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  bool status_sub = false;
  bool scale_sub = false;
  bool has_generation = false;  // metadata.generation is maintained
  bool custom = false;          // served from a CRD
  bool delete_returns_object = false;
  std::vector<std::string> verbs = {"create", "delete", "deletecollection", "get",
                                    "list",   "patch",  "update",           "watch"};
  // Custom resources' scale subresource paths (".spec.replicas" for built-ins).
  std::string spec_replicas_path = ".spec.replicas";
  std::string status_replicas_path = ".status.replicas";
  std::string label_selector_path;
  // Custom resources: the version's openAPIV3Schema (null when the CRD has none) and its
  // additionalPrinterColumns (the default Age column when the CRD lists none).
  std::shared_ptr<const nlohmann::json> schema;
  nlohmann::json printer_columns = nlohmann::json::array();

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // Storage key shared by every version: "configmaps", "deployments.apps".
  std::string group_resource() const { return group.empty() ? resource : resource + "." + group; }
};

using ResourceTypePtr = std::shared_ptr<const ResourceType>;

class Registry {
 public:
  Registry();

  ResourceTypePtr Find(const std::string& group, const std::string& version,
                       const std::string& resource) const;
  // Any served version of a group/resource (for namespace cleanup and CRD deletion).
  std::vector<ResourceTypePtr> All() const;
  bool GroupVersionExists(const std::string& group, const std::string& version) const;

  // Serves the custom resource described by an Established CRD object (replacing any
  // previous definition of the same CRD name); Remove stops serving it.
  void AddCrd(const nlohmann::json& crd);
  void RemoveCrd(const std::string& crd_name);

  nlohmann::json ApiVersions(const std::string& server_address) const;
  nlohmann::json ApiGroupList() const;
  std::optional<nlohmann::json> ApiGroup(const std::string& group) const;
  std::optional<nlohmann::json> ResourceList(const std::string& group, const std::string& version) const;
  nlohmann::json OpenApiIndex() const;
  // "api/v1" or "apis/apps/v1".
  std::optional<nlohmann::json> OpenApiDocument(const std::string& path) const;

 private:
  struct GroupInfo {
    std::vector<std::string> versions;  // preferred first
  };
  void AddLocked(ResourceType type);
  std::map<std::string, GroupInfo> GroupsLocked() const;

  mutable std::shared_mutex mu_;
  // key: group + "/" + version + "/" + resource
  std::map<std::string, ResourceTypePtr> types_;
  std::map<std::string, std::vector<std::string>> crd_keys_;  // crd name -> keys in types_
  std::vector<std::string> group_order_;                      // built-in groups first
  uint64_t generation_ = 0;  // bumped by every CRD change: the OpenAPI index hash
};

}  // namespace kubesync::emulator
