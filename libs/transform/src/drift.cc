#include "kubesync/transform/drift.h"

#include <string_view>
#include <utility>

#include "kubesync/transform/classify.h"
#include "kubesync/transform/mark.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;

constexpr std::string_view kKubesyncPrefix = "kubesync.io/";

// The kubesync.io/ keys of metadata.<section>, which Clean removes (a source object's
// marks would be stale on a copy) and which a destination copy must keep for its hash.
json KubesyncKeys(const json& object, const char* section) {
  json out = json::object();
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return out;
  auto sec = meta->find(section);
  if (sec == meta->end() || !sec->is_object()) return out;
  for (auto it = sec->begin(); it != sec->end(); ++it) {
    // The source epoch is written after the hash is taken, so it is not part of it.
    if (it.key().starts_with(kKubesyncPrefix) && it.key() != kSourceEpochAnnotation)
      out[it.key()] = it.value();
  }
  return out;
}

void PutBack(json& object, const char* section, const json& keys) {
  if (keys.empty() || !object.is_object()) return;
  json& meta = object["metadata"];
  if (!meta.is_object()) meta = json::object();
  json& sec = meta[section];
  if (!sec.is_object()) sec = json::object();
  for (auto it = keys.begin(); it != keys.end(); ++it) sec[it.key()] = it.value();
}

bool IsPvc(const plan::Gvr& gvr) { return gvr.group.empty() && gvr.resource == "persistentvolumeclaims"; }

}  // namespace

std::string DestinationContentHash(const json& destination, const plan::Gvr& gvr,
                                   const CleanOptions& options) {
  if (!destination.is_object()) return ContentHash(destination);
  const json labels = KubesyncKeys(destination, "labels");
  const json annotations = KubesyncKeys(destination, "annotations");
  json cleaned = Clean(destination, gvr, options);
  PutBack(cleaned, "labels", labels);
  PutBack(cleaned, "annotations", annotations);
  return ContentHash(cleaned);
}

bool Drifted(const json& destination, const json& desired, const std::string& desired_hash,
             const plan::Gvr& gvr, const CleanOptions& options) {
  if (IsPvc(gvr)) return PvcNeedsUpdate(destination, desired);
  return DestinationContentHash(destination, gvr, options) != desired_hash;
}

}  // namespace kubesync::transform
