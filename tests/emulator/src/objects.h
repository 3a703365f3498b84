// The per-kind rules the API server applies to objects on create and update, as pure
// functions: server-set metadata (uid, creationTimestamp, generation), defaults
// (Namespace finalizer/phase/label, Service clusterIP, replicas), status-subresource
// rules, CRD validation and status, and the autoscaling/v1 Scale view.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "errors.h"
#include "registry.h"

namespace kubesync::emulator {

using ObjectOrError = std::variant<ApiError, nlohmann::json>;

std::string NewUid();
std::string RandomSuffix(size_t n);

// `body` as POSTed to the collection of `type` in namespace `url_ns` ("" for cluster
// scope), at wall time `now` (RFC 3339). Does not set resourceVersion or managedFields.
ObjectOrError PrepareCreate(const ResourceType& type, nlohmann::json body, const std::string& url_ns,
                            const std::string& now);

// The object to store when `incoming` (a PUT body, or a patched object) replaces `current`
// through subresource `sub` ("" or "status"). Checks name and resourceVersion rules
// (`strict_rv`: an empty RV is rejected, as for custom resources on PUT).
ObjectOrError PrepareUpdate(const ResourceType& type, const nlohmann::json& current, nlohmann::json incoming,
                            const std::string& sub, const std::string& url_name, bool strict_rv);

// True when a and b differ only in resourceVersion and managedFields: such a write is a
// no-op (no RV bump, no event).
bool SameContent(const nlohmann::json& a, const nlohmann::json& b);

// autoscaling/v1 Scale of an object whose type has the scale subresource.
nlohmann::json ToScale(const ResourceType& type, const nlohmann::json& object);
// `object` with spec.replicas taken from `scale` (the result of a PUT/PATCH on /scale).
ObjectOrError FromScale(const ResourceType& type, const nlohmann::json& object, const nlohmann::json& scale);

// Validates a CRD and fills its defaults and status (acceptedNames, conditions,
// storedVersions) as the apiextensions server does once it is Established.
ObjectOrError PrepareCrd(nlohmann::json crd, const std::string& now);

// Whether `name` is valid for objects of `type`; an empty string when it is.
std::string ValidateName(const ResourceType& type, const std::string& name);

}  // namespace kubesync::emulator
