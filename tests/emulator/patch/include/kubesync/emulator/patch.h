// The four PATCH flavours of the Kubernetes API, as pure functions on JSON documents, for
// the API server emulator (tests/emulator). See ../shared/KUBE_API.md "Writes".
//
// Errors: a patch that cannot be decoded or applied returns Status kInvalidArgument whose
// message says why (the server answers 422 Invalid, or 400 BadRequest where noted); a
// failed RFC 6902 `test` returns kInvalidArgument too; a strategic merge patch on a kind
// that has no strategic schema (custom resources) returns kUnimplemented (415).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::emulator {

// application/json-patch+json (RFC 6902): add, remove, replace, move, copy, test.
Result<nlohmann::json> ApplyJsonPatch(const nlohmann::json& target, const nlohmann::json& patch);

// application/merge-patch+json (RFC 7386).
Result<nlohmann::json> ApplyMergePatch(const nlohmann::json& target, const nlohmann::json& patch);

// The kind a strategic merge patch is applied to; the merge keys and patch strategies of
// lists come from the built-in type's schema (k8s.io/api `patchMergeKey`/`patchStrategy`).
struct TypeRef {
  std::string group;    // "" for core, "apps", ...
  std::string version;  // "v1"
  std::string kind;     // "Deployment"
};

// True when `type` is a built-in kind known to the strategic-merge schema table.
bool HasStrategicSchema(const TypeRef& type);

// application/strategic-merge-patch+json: merge patch semantics, plus lists merged by key
// (containers by name, ports by containerPort, ...) and the directives kubectl sends:
// $patch (replace, delete, merge), $setElementOrder/<list>, $retainKeys,
// $deleteFromPrimitiveList/<list>. Lists without a merge key are replaced.
Result<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& target, const nlohmann::json& patch,
                                                const TypeRef& type);

// Server-side apply (application/apply-patch+yaml, already converted to JSON).
struct ApplyOptions {
  std::string field_manager;  // required (else 422 Invalid, as ValidatePatchOptions does)
  bool force = false;
  std::string time;  // RFC 3339, stamped on the managedFields entry
};

struct ApplyConflict {
  std::string manager;  // the other field manager that owns the field
  std::string field;    // ".spec.replicas"
};

struct ApplyOutcome {
  nlohmann::json object;                 // the merged object, with metadata.managedFields updated
  std::vector<ApplyConflict> conflicts;  // non-empty: nothing applied, answer 409 with causes
};

// `live` is the current object, or nullopt when the apply creates it. Fields this manager
// applied before and no longer applies are removed unless another manager owns them; with
// `force`, conflicting fields change owner instead of conflicting. Lists of built-in kinds
// are merged by their merge keys; other lists are atomic.
Result<ApplyOutcome> ServerSideApply(const std::optional<nlohmann::json>& live, const nlohmann::json& applied,
                                     const TypeRef& type, const ApplyOptions& options);

// The message of the 409 Conflict answer to an apply with conflicts, in the real server's
// shape: `Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.replicas`. Each
// conflict becomes a cause {"reason":"FieldManagerConflict","message":"conflict with
// \"<manager>\"","field":"<field>"}.
std::string ConflictMessage(const std::vector<ApplyConflict>& conflicts);

// Records an "Update" write by `manager` in metadata.managedFields, as the real server does
// for create/update/patch: the entry (manager, Update, subresource) gains the leaves this
// write added or changed (every leaf on create, `previous` nullopt), compared with
// `previous`; other entries lose those leaves; leaves the write removed leave every entry.
// System fields and metadata.managedFields are never tracked; with `subresource` "status"
// only status is, otherwise everything but status. Entries come from the object's own
// metadata.managedFields when present (a client may reset them), else from `previous`.
void RecordUpdateManagedFields(nlohmann::json& object, const std::optional<nlohmann::json>& previous,
                               const std::string& manager, const std::string& api_version,
                               const std::string& subresource, const std::string& time);

}  // namespace kubesync::emulator
