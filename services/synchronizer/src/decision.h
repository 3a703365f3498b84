// The synchronizer's pure decisions about one destination object: given what the
// destination holds now, what (if anything) to write. No I/O; the Applier does the calls.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kubesync/plan/plan.h"

namespace kubesync::synchronizer {

enum class WriteAction {
  kCreate,           // nothing there: create it
  kUpdate,           // ours and different: replace it (body built with transform::ForUpdate)
  kSkipUnchanged,    // ours and already carrying this content: no write
  kRefuseUnmanaged,  // something this LiveSynchronization did not create: never touch it
};

enum class DeleteAction {
  kAlreadyGone,      // nothing there
  kDelete,           // ours: delete it (uid precondition)
  kRefuseUnmanaged,  // not ours: never delete it
};

std::string_view WriteActionName(WriteAction action);
std::string_view DeleteActionName(DeleteAction action);

// `existing` is the destination object (nullopt when it does not exist); `desired` the
// transformed, marked object of the event and `desired_hash` its content hash; `id` the
// LiveSynchronization "<namespace>.<name>".
WriteAction DecideWrite(const std::optional<nlohmann::json>& existing, const nlohmann::json& desired,
                        std::string_view desired_hash, std::string_view id, const plan::Gvr& gvr);

DeleteAction DecideDelete(const std::optional<nlohmann::json>& existing, std::string_view id);

}  // namespace kubesync::synchronizer
