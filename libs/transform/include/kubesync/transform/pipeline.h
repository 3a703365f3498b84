// The processor's whole per-object step in one call: Clean, ApplyTransformation, Mark.
// Classify separately (a skipped object is logged, not an error).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "kubesync/core/status.h"
#include "kubesync/plan/plan.h"
#include "kubesync/transform/clean.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"

namespace kubesync::transform {

struct Prepared {
  nlohmann::json object;     // what the synchronizer writes (ForUpdate it when replacing)
  std::string content_hash;  // equal to the object's kubesync.io/content-hash
  Originals originals;
};

// Errors are the transformation's (InvalidArgument naming the operation), terminal for
// this object version.
Result<Prepared> PrepareForDestination(const nlohmann::json& source_obj, const plan::Gvr& gvr,
                                       const plan::Patch& transformation, const MarkInfo& info,
                                       const CleanOptions& options = {});

}  // namespace kubesync::transform
