// The Reconciler's private pass state and small JSON helpers (metadata: kube/object_meta.h), shared by
// reconciler.cc (destination side, report) and compare.cc (source side, deletes, publishing).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kubesync/kube/discovery.h"
#include "reconciler.h"

namespace kubesync::reconciler {
namespace internal {

using nlohmann::json;

inline const json& Member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

inline std::string StringMember(const json& object, const char* key) {
  const json& v = Member(object, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

inline bool IsPvc(const plan::Gvr& gvr) {
  return gvr.group.empty() && gvr.resource == "persistentvolumeclaims";
}

inline json ResourceField(const plan::Gvr& gvr) {
  return {{"apiGroup", gvr.group}, {"apiVersion", gvr.version}, {"resource", gvr.resource}};
}

}  // namespace internal

// One marked destination copy, as little of it as the comparison needs.
struct Reconciler::Copy {
  std::string ns;
  std::string name;
  std::string uid;               // the destination object's
  std::string resource_version;  // the destination object's
  std::string source_uid;        // kubesync.io/source-uid
  std::string hash;              // DestinationContentHash (plan resources only)
  nlohmann::json pvc;            // the whole object, PersistentVolumeClaims only
  bool seen = false;             // the source selects its object
  // Whether its source object (same uid) still exists, not selected (a label, a namespace
  // label, or its rule changed): a delete then carries no resourceVersion, so the
  // synchronizer's record keeps the object's version and a rule added back copies it again.
  // When it is gone, the delete is stamped with the source's list version.
  bool source_present = false;
};

struct Reconciler::Target {
  plan::Gvr gvr;
  bool in_plan = false;
  bool judged = true;                            // false: listing failed, nothing of it is deleted
  std::unordered_map<std::string, Copy> copies;  // by "ns/name"
  ResourceReport report;
};

struct Reconciler::Pass {
  bool dry_run = false;
  const std::atomic<bool>* cancel = nullptr;
  int64_t observed_at = 0;  // unix nanos of the pass start: the messages' msg-id suffix
  std::string suffix;
  uint64_t source_rv = 0;  // the newest source list resourceVersion seen in this pass
  std::string discovery_error;
  bool namespace_labels_listed = false;
  std::unordered_map<std::string, nlohmann::json> namespace_labels;
  std::optional<kube::Discovery> source_discovery;
  std::vector<Target> targets;
};

}  // namespace kubesync::reconciler
