#include "kubesync/kube/namespaces.h"

#include <utility>

#include "kubesync/kube/errors.h"

namespace kubesync::kube {
namespace {

const ResourceRef kNamespaces{.group = "", .version = "v1", .resource = "namespaces"};

}  // namespace

nlohmann::json NamespaceObject(const std::string& name, nlohmann::json labels, nlohmann::json annotations) {
  nlohmann::json metadata = {{"name", name}};
  if (!labels.empty()) {
    metadata["labels"] = std::move(labels);
  }
  if (!annotations.empty()) {
    metadata["annotations"] = std::move(annotations);
  }
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", std::move(metadata)}};
}

Result<std::optional<nlohmann::json>> CreateNamespace(Client& client, const nlohmann::json& object,
                                                      const WriteOptions& options) {
  Result<nlohmann::json> created = client.Create(kNamespaces, object, options);
  if (created.ok()) {
    return std::optional<nlohmann::json>(std::move(*created));
  }
  if (IsAlreadyExists(created.status())) {
    return std::optional<nlohmann::json>();
  }
  return created.status();
}

Status EnsureNamespace(Client& client, const std::string& name, const WriteOptions& options) {
  ResourceRef ref = kNamespaces;
  ref.name = name;
  Result<nlohmann::json> got = client.Get(ref);
  if (got.ok()) {
    return OkStatus();
  }
  if (!IsNotFound(got.status())) {
    return got.status();
  }
  Result<std::optional<nlohmann::json>> created = CreateNamespace(client, NamespaceObject(name), options);
  return created.ok() ? OkStatus() : created.status();
}

}  // namespace kubesync::kube
