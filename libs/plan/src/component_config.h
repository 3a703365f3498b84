// Private: the settings both config shapes (and the plan's JSON form) share: cluster and
// bucket names, observability, and each component's settings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "kubesync/plan/plan.h"

namespace kubesync::plan::internal {

// sourceName, destinationName, bucketName, observability, components (both shapes).
void ParseCommonConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d);
inline const std::vector<std::string> kCommonConfigFields = {"sourceName", "destinationName", "bucketName",
                                                             "observability", "components"};

// One component's settings; used by the plan's JSON form too.
ComponentSettings ParseComponent(const json& c, std::string_view path, Diagnostics& d);

}  // namespace kubesync::plan::internal
