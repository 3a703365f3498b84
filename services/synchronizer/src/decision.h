// The synchronizer's pure decisions about one destination object: given what the
// destination holds now, what (if anything) to write. No I/O; the Applier does the calls.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"
#include "kubesync/plan/plan.h"
#include "kubesync/transform/mark.h"

namespace kubesync::synchronizer {

// The epoch of the source cluster a destination copy was made from (issue 10 item 4; see
// libs/state source_identity.h). Source resourceVersions are compared only within one epoch.
inline constexpr std::string_view kSourceEpochAnnotation = transform::kSourceEpochAnnotation;

enum class WriteAction {
  kCreate,           // nothing there: create it
  kUpdate,           // ours and different: replace it (body built with transform::ForUpdate)
  kSkipUnchanged,    // ours and already carrying this content: no write
  kSkipNewer,        // ours and copied from a newer source version (a concurrent writer won)
  kRefuseUnmanaged,  // something this LiveSynchronization did not create: never touch it
};

enum class DeleteAction {
  kAlreadyGone,      // nothing there
  kDelete,           // ours: delete it (uid precondition)
  kSkipNewer,        // ours, but copied from a source version newer than the delete
  kRefuseUnmanaged,  // not ours: never delete it
};

std::string_view WriteActionName(WriteAction action);
std::string_view DeleteActionName(DeleteAction action);

// `existing` is the destination object (nullopt when it does not exist); `desired` the
// transformed, marked object of the event and `desired_hash` its content hash; `id` the
// LiveSynchronization "<namespace>.<name>"; `event_rv` the event's source resourceVersion
// (0: not compared). An existing copy marked with a larger source resourceVersion is never
// overwritten by an older event, whatever order concurrent consumers ran in.
// `verify_content` (a reconciler's message): "unchanged" needs the destination's actual
// content to match (transform::Drifted), not only its recorded content-hash annotation,
// so that a copy edited by hand is written again.
// `event_epoch` (0: unknown) is the event's source epoch: a copy marked with another epoch is
// not compared by resourceVersion (an older epoch's copy is rewritten, so its marking names
// the current source; a newer epoch's copy is kept).
WriteAction DecideWrite(const std::optional<nlohmann::json>& existing, const nlohmann::json& desired,
                        std::string_view desired_hash, std::string_view id, const plan::Gvr& gvr,
                        uint64_t event_rv = 0, bool verify_content = false, uint64_t event_epoch = 0);

DeleteAction DecideDelete(const std::optional<nlohmann::json>& existing, std::string_view id,
                          uint64_t event_rv = 0, uint64_t event_epoch = 0);

// The source epoch a destination copy was made from (its marking), 0 if unknown.
uint64_t MarkedSourceEpoch(const nlohmann::json& existing);

// The source resourceVersion a destination copy was made from (its marking), 0 if unknown.
uint64_t MarkedSourceVersion(const nlohmann::json& existing);

// Whether the plan allows creating or updating this object: anyone who can publish on the
// sync subject could otherwise have the synchronizer write whatever it likes (a
// ClusterRoleBinding, say) with its credentials. OK when some rule of the plan is for
// `gvr` and its name filters pass the object's name, the object is not default-excluded
// (IsDefaultExcluded), and `desired` names the same object as the envelope (metadata.name,
// metadata.namespace, and apiVersion of `gvr`). Otherwise PermissionDenied with the reason.
// Label and namespace selectors are not checked: the synchronizer sees neither the source
// labels (transformations may change them) nor the source namespace's labels.
// Deletes are not checked here: deleting what this LiveSynchronization marked stays
// allowed, so objects of a removed rule can be pruned (DecideDelete refuses the rest).
Status CheckInPlan(const plan::Plan& plan, const plan::Gvr& gvr, std::string_view namespace_name,
                   std::string_view name, const nlohmann::json& desired);

}  // namespace kubesync::synchronizer
