#include "decision.h"

#include "kubesync/transform/classify.h"
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
    case DeleteAction::kRefuseUnmanaged:
      return "refuse-unmanaged";
  }
  return "unknown";
}

WriteAction DecideWrite(const std::optional<nlohmann::json>& existing, const nlohmann::json& desired,
                        std::string_view desired_hash, std::string_view id, const plan::Gvr& gvr) {
  if (!existing) return WriteAction::kCreate;
  if (!transform::IsManagedBy(*existing, id)) return WriteAction::kRefuseUnmanaged;
  // A bound PVC's spec is immutable except resources.requests: rewrite it only when that
  // or the metadata (labels, annotations, marking) changed.
  if (gvr.group.empty() && gvr.resource == "persistentvolumeclaims") {
    return transform::PvcNeedsUpdate(*existing, desired) ? WriteAction::kUpdate : WriteAction::kSkipUnchanged;
  }
  // The destination already has this content (e.g. written before a crash that lost the
  // Redis commit, or by a redelivered message): nothing to write.
  if (!desired_hash.empty() && transform::RecordedContentHash(*existing) == desired_hash) {
    return WriteAction::kSkipUnchanged;
  }
  return WriteAction::kUpdate;
}

DeleteAction DecideDelete(const std::optional<nlohmann::json>& existing, std::string_view id) {
  if (!existing) return DeleteAction::kAlreadyGone;
  if (!transform::IsManagedBy(*existing, id)) return DeleteAction::kRefuseUnmanaged;
  return DeleteAction::kDelete;
}

}  // namespace kubesync::synchronizer
