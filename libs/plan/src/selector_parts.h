// Private: the label-selector helpers of plan parsing. Selectors are kept canonical
// (requirements de-duplicated and sorted) so that equal selectors print alike.
#pragma once

#include <string_view>

#include "diagnostics.h"
#include "kubesync/core/status.h"
#include "kubesync/labels/selector.h"

namespace kubesync::plan::internal {

// A Kubernetes LabelSelector object; `sel` may be nullptr (empty selector).
labels::Selector ParseLabelSelector(const json* sel, std::string_view path, Diagnostics& d);
// Requirements de-duplicated and sorted; an error when the result does not parse back.
Result<labels::Selector> Canonical(const labels::Selector& s);
// Both selectors at once, canonical; an error when they cannot be joined.
Result<labels::Selector> AndSelectors(const labels::Selector& a, const labels::Selector& b);
// The same, reporting a failure at `path` in `d` (and answering the empty selector).
labels::Selector AndSelectors(const labels::Selector& a, const labels::Selector& b, std::string_view path,
                              Diagnostics& d);

}  // namespace kubesync::plan::internal
