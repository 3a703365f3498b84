// Private: the two LiveSynchronization config shapes, each parsed into the common Plan.
#pragma once

#include <string_view>

#include "diagnostics.h"
#include "kubesync/plan/plan.h"

namespace kubesync::plan::internal {

// `kubernetes-objects-to-kubernetes`: spec.config.replication.resources[] (seeds 000/001).
void ParseObjectsConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d);

// `kubernetes-to-kubernetes`: globalSelector, selectors[], transformations[], options (seed 002).
void ParseSelectorsConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d);

}  // namespace kubesync::plan::internal
