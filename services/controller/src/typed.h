// Typed reads of fields of API objects that never throw: a field of the wrong type is an
// InvalidArgument naming it ("spec.taskName: must be a string, got number"), which the
// reconcilers turn into an Invalid condition or a failed TaskRun, never an exception
// retried in a loop. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"

namespace kubesync::controller {

// The member at a dotted `path` ("spec.taskName") of `object`, nullptr when a part is
// missing or not an object.
const nlohmann::json* FieldAt(const nlohmann::json& object, std::string_view path);

// nullopt when missing (or null); InvalidArgument when present with another type.
Result<std::optional<std::string>> ReadString(const nlohmann::json& object, std::string_view path);
Result<std::optional<bool>> ReadBool(const nlohmann::json& object, std::string_view path);
Result<std::optional<int64_t>> ReadInt(const nlohmann::json& object, std::string_view path);

// Best-effort reads for fields the API server itself guarantees (metadata.name, .uid,
// .generation): the fallback when missing or of another type.
std::string StringOr(const nlohmann::json& object, std::string_view path, std::string fallback = "");
int64_t IntOr(const nlohmann::json& object, std::string_view path, int64_t fallback = 0);

}  // namespace kubesync::controller
