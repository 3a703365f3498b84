// Private: the lexical checks of a plan's pieces: JSON pointers and JSON-patch operations,
// name regexes (RE2, Go syntax), API group/version and resource names, durations.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
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

}  // namespace kubesync::plan::internal
