// Reading an object's metadata (name, namespace, uid, resourceVersion, labels,
// annotations) from its JSON, in one place: every accessor tolerates a missing or
// mistyped metadata (answers "" / an empty object), because objects come from the API, a
// watch, NATS payloads and tests alike.
//
// The returned references point into `object` (or to a static empty value): valid while
// `object` is alive and unchanged. Pure functions, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kubesync::kube {

// "ns/name", or "name" for a cluster-scoped object: the key of Store, informers and work
// queues.
std::string ObjectKey(const nlohmann::json& object);
// The same key from its parts (namespace "" = cluster-scoped).
std::string ObjectKey(std::string_view namespace_name, std::string_view name);

namespace meta {

// object.metadata, or an empty object.
const nlohmann::json& Metadata(const nlohmann::json& object);

// object.metadata.<field> when it is a string, else "".
const std::string& String(const nlohmann::json& object, std::string_view field);

inline const std::string& Name(const nlohmann::json& object) { return String(object, "name"); }
inline const std::string& Namespace(const nlohmann::json& object) { return String(object, "namespace"); }
inline const std::string& Uid(const nlohmann::json& object) { return String(object, "uid"); }
inline const std::string& ResourceVersion(const nlohmann::json& object) {
  return String(object, "resourceVersion");
}

// object.metadata.labels / .annotations, or an empty object.
const nlohmann::json& Labels(const nlohmann::json& object);
const nlohmann::json& Annotations(const nlohmann::json& object);

// One label / annotation when it is a string, else "".
const std::string& Label(const nlohmann::json& object, std::string_view key);
const std::string& Annotation(const nlohmann::json& object, std::string_view key);

}  // namespace meta
}  // namespace kubesync::kube
