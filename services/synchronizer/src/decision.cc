#include "decision.h"

#include <charconv>

#include "kubesync/transform/classify.h"
#include "kubesync/transform/drift.h"
#include "kubesync/transform/mark.h"

namespace kubesync::synchronizer {

std::string_view WriteActionName(WriteAction action) {
  switch (action) {
    case WriteAction::kCreate:
      return "create";
    case WriteAction::kUpdate:
      return "update";
    case WriteAction::kSkipUnchanged:
      return "skip-unchanged";
    case WriteAction::kSkipNewer:
      return "skip-newer";
    case WriteAction::kRefuseUnmanaged:
      return "refuse-unmanaged";
  }
  return "unknown";
}

std::string_view DeleteActionName(DeleteAction action) {
  switch (action) {
    case DeleteAction::kAlreadyGone:
      return "already-gone";
    case DeleteAction::kDelete:
      return "delete";
    case DeleteAction::kSkipNewer:
      return "skip-newer";
    case DeleteAction::kRefuseUnmanaged:
      return "refuse-unmanaged";
  }
  return "unknown";
}

namespace {

uint64_t MarkedNumber(const nlohmann::json& existing, std::string_view annotation) {
  auto meta = existing.find("metadata");
  if (meta == existing.end() || !meta->is_object()) return 0;
  auto annotations = meta->find("annotations");
  if (annotations == meta->end() || !annotations->is_object()) return 0;
  auto it = annotations->find(std::string(annotation));
  if (it == annotations->end() || !it->is_string()) return 0;
  uint64_t rv = 0;
  const std::string& text = it->get_ref<const std::string&>();
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rv);
  return ec == std::errc() && end == text.data() + text.size() ? rv : 0;
}

// Whether the copy was made from a source version the event can be ordered against, and
// if not, whether the copy's source is the newer one.
enum class Versions { kComparable, kCopyOlderSource, kCopyNewerSource };

Versions CompareSources(const nlohmann::json& existing, uint64_t event_epoch) {
  if (event_epoch == 0) return Versions::kComparable;
  const uint64_t marked = MarkedSourceEpoch(existing);
  if (marked == event_epoch) return Versions::kComparable;
  return marked > event_epoch ? Versions::kCopyNewerSource : Versions::kCopyOlderSource;
}

}  // namespace

uint64_t MarkedSourceVersion(const nlohmann::json& existing) {
  return MarkedNumber(existing, transform::kSourceResourceVersionAnnotation);
}

uint64_t MarkedSourceEpoch(const nlohmann::json& existing) {
  return MarkedNumber(existing, kSourceEpochAnnotation);
}

WriteAction DecideWrite(const std::optional<nlohmann::json>& existing, const nlohmann::json& desired,
                        std::string_view desired_hash, std::string_view id, const plan::Gvr& gvr,
                        uint64_t event_rv, bool verify_content, uint64_t event_epoch) {
  if (!existing) return WriteAction::kCreate;
  if (!transform::IsManagedBy(*existing, id)) return WriteAction::kRefuseUnmanaged;
  switch (CompareSources(*existing, event_epoch)) {
    case Versions::kCopyNewerSource:
      return WriteAction::kSkipNewer;
    case Versions::kCopyOlderSource:
      return WriteAction::kUpdate;  // even with the same content: the marking moves to this source
    case Versions::kComparable:
      break;
  }
  if (event_rv > 0 && MarkedSourceVersion(*existing) > event_rv) return WriteAction::kSkipNewer;
  // A bound PVC's spec is immutable except resources.requests: rewrite it only when that
  // or the metadata (labels, annotations, marking) changed.
  if (gvr.group.empty() && gvr.resource == "persistentvolumeclaims") {
    return transform::PvcNeedsUpdate(*existing, desired) ? WriteAction::kUpdate : WriteAction::kSkipUnchanged;
  }
  // The destination already has this content (e.g. written before a crash that lost the
  // Redis commit, or by a redelivered message): nothing to write.
  if (!desired_hash.empty() && transform::RecordedContentHash(*existing) == desired_hash) {
    if (!verify_content) return WriteAction::kSkipUnchanged;
    const std::string hash(desired_hash);
    return transform::Drifted(*existing, desired, hash, gvr) ? WriteAction::kUpdate : WriteAction::kSkipUnchanged;
  }
  return WriteAction::kUpdate;
}

DeleteAction DecideDelete(const std::optional<nlohmann::json>& existing, std::string_view id,
                          uint64_t event_rv, uint64_t event_epoch) {
  if (!existing) return DeleteAction::kAlreadyGone;
  if (!transform::IsManagedBy(*existing, id)) return DeleteAction::kRefuseUnmanaged;
  switch (CompareSources(*existing, event_epoch)) {
    case Versions::kCopyNewerSource:
      return DeleteAction::kSkipNewer;
    case Versions::kCopyOlderSource:
      return DeleteAction::kDelete;
    case Versions::kComparable:
      break;
  }
  if (event_rv > 0 && MarkedSourceVersion(*existing) > event_rv) return DeleteAction::kSkipNewer;
  return DeleteAction::kDelete;
}

namespace {

std::string_view MetadataString(const nlohmann::json& object, const char* key) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return {};
  auto it = meta->find(key);
  if (it == meta->end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

bool NameFiltersPass(const plan::Rule& rule, std::string_view name) {
  for (const plan::NameRegex& re : rule.exclude_names) {
    if (re.Matches(name)) return false;
  }
  if (rule.include_names.empty()) return true;
  for (const plan::NameRegex& re : rule.include_names) {
    if (re.Matches(name)) return true;
  }
  return false;
}

}  // namespace

Status CheckInPlan(const plan::Plan& plan, const plan::Gvr& gvr, std::string_view namespace_name,
                   std::string_view name, const nlohmann::json& desired) {
  const std::string what =
      gvr.String() + " " +
      (namespace_name.empty() ? std::string(name) : std::string(namespace_name) + "/" + std::string(name));
  auto refuse = [&](const std::string& why) {
    return PermissionDeniedError(what + " is not in the plan of this live synchronization: " + why +
                                 "; it is not written");
  };
  const std::string want_api_version = gvr.group.empty() ? gvr.version : gvr.group + "/" + gvr.version;
  auto api_version = desired.find("apiVersion");
  if (api_version == desired.end() || !api_version->is_string() ||
      api_version->get_ref<const std::string&>() != want_api_version) {
    return refuse("the object's apiVersion is not " + want_api_version);
  }
  if (MetadataString(desired, "name") != name) {
    return refuse("the object's metadata.name \"" + std::string(MetadataString(desired, "name")) +
                  "\" differs from the message's");
  }
  const bool is_namespace = gvr.group.empty() && gvr.resource == "namespaces";
  if (!is_namespace && MetadataString(desired, "namespace") != namespace_name) {
    return refuse("the object's metadata.namespace \"" + std::string(MetadataString(desired, "namespace")) +
                  "\" differs from the message's");
  }
  const std::string_view effective_namespace = is_namespace ? name : namespace_name;
  if (plan.IsDefaultExcluded(gvr, effective_namespace, name)) {
    return refuse("it is excluded whatever the rules say");
  }
  bool resource_in_plan = false;
  for (const plan::Rule& rule : plan.rules) {
    if (rule.gvr != gvr) continue;
    resource_in_plan = true;
    if (NameFiltersPass(rule, name)) return OkStatus();
  }
  return refuse(resource_in_plan ? "no rule for " + gvr.String() + " selects its name"
                                 : "no rule replicates " + gvr.String());
}

}  // namespace kubesync::synchronizer
