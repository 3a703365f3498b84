// Making sure a namespace exists before writing into it (the synchronizer's applier and the
// controller's recovery Task both need it), in one place.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"

namespace kubesync::kube {

// {"apiVersion":"v1","kind":"Namespace","metadata":{"name",[labels],[annotations]}}; empty
// labels/annotations are left out.
nlohmann::json NamespaceObject(const std::string& name, nlohmann::json labels = nlohmann::json::object(),
                               nlohmann::json annotations = nlohmann::json::object());

// Creates the namespace `object` (NamespaceObject). The created object as the server
// answered it, or nullopt when it already existed (someone created it meanwhile:
// AlreadyExists is not an error).
Result<std::optional<nlohmann::json>> CreateNamespace(Client& client, const nlohmann::json& object,
                                                      const WriteOptions& options = {});

// Reads namespace `name` and creates it bare when it is not found. OK when it exists
// afterwards; any other read or create error is returned.
Status EnsureNamespace(Client& client, const std::string& name, const WriteOptions& options = {});

}  // namespace kubesync::kube
