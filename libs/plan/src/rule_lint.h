// Private: warnings about a plan that is valid but probably not what its author meant.
#pragma once

#include <vector>

#include "diagnostics.h"
#include "kubesync/plan/plan.h"

namespace kubesync::plan::internal {

// Warns about rules that can never match because an earlier rule selects all they select.
void WarnUnreachableRules(const std::vector<Rule>& rules, Diagnostics& d);

}  // namespace kubesync::plan::internal
