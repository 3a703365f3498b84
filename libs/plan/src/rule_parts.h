// Private: parsers for the pieces both config shapes (and the plan's JSON form) share:
// JSON-patch operations, name regexes, label selectors, gvr fields, cluster/bucket names,
// observability and component settings.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "kubesync/labels/selector.h"
#include "kubesync/plan/plan.h"

namespace kubesync::plan::internal {

// A list of {op, path, value}. `list` may be nullptr (nothing given).
std::vector<PatchOperation> ParsePatchOperations(const json* list, std::string_view path, Diagnostics& d);
// parent.patchOptions.skipIfNotFoundOnDelete.
bool ParsePatchOptions(const json& parent, std::string_view path, Diagnostics& d);
// RFC 6901 syntax check; the message says what is wrong.
std::optional<std::string> JsonPointerProblem(std::string_view pointer);

// A list of regular expressions (RE2, Go syntax).
std::vector<NameRegex> ParseRegexList(const json* list, std::string_view path, Diagnostics& d);
std::optional<NameRegex> CompileNameRegex(const std::string& pattern, std::string_view path, Diagnostics& d);

// A Kubernetes LabelSelector object; `sel` may be nullptr (empty selector).
labels::Selector ParseLabelSelector(const json* sel, std::string_view path, Diagnostics& d);
// Both selectors at once; canonical: requirements de-duplicated and sorted.
labels::Selector AndSelectors(const labels::Selector& a, const labels::Selector& b);
labels::Selector Canonical(const labels::Selector& s);

// group (optional) and version (required) of obj; nullopt on error.
struct GroupVersion {
  std::string group;
  std::string version;
};
std::optional<GroupVersion> ParseGroupVersion(const json& obj, std::string_view path, Diagnostics& d);
// A plural, lower-case resource name such as "deployments".
bool ValidateResourceName(const std::string& resource, std::string_view path, Diagnostics& d);

std::optional<std::chrono::seconds> ParseDurationField(const json& obj, std::string_view key,
                                                       std::string_view path, Diagnostics& d);

// sourceName, destinationName, bucketName, observability, components (both shapes).
void ParseCommonConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d);
inline const std::vector<std::string> kCommonConfigFields = {"sourceName", "destinationName", "bucketName",
                                                             "observability", "components"};

// One component's settings; used by the plan's JSON form too.
ComponentSettings ParseComponent(const json& c, std::string_view path, Diagnostics& d);

// Warns about rules that can never match because an earlier rule selects all they select.
void WarnUnreachableRules(const std::vector<Rule>& rules, Diagnostics& d);

}  // namespace kubesync::plan::internal
