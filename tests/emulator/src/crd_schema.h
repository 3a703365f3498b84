// What the apiextensions server does with a custom resource's structural openAPIV3Schema
// before storing it: prune the fields the schema does not declare (or refuse them with
// fieldValidation=Strict), apply `default`s, and validate (type, nullable, required, enum,
// properties, items, additionalProperties, x-kubernetes-preserve-unknown-fields,
// x-kubernetes-int-or-string, minimum/maximum, min/maxLength, min/maxItems, pattern).
// Pure functions; the schema is the CRD version's `schema.openAPIV3Schema`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "errors.h"

namespace kubesync::emulator {

// The `fieldValidation` query parameter. The server's default (empty) is Warn.
enum class FieldValidation { kIgnore, kWarn, kStrict };
// nullopt for a value the real server refuses (400).
std::optional<FieldValidation> ParseFieldValidation(const std::string& value);

// Removes the fields `schema` does not declare, and nulls of non-nullable fields (which the
// server prunes before defaulting). At the root, apiVersion, kind and metadata are kept.
// Returns the paths of the unknown fields ("spec.foo", "spec.items[0].bar"), in order.
std::vector<std::string> PruneUnknownFields(const nlohmann::json& schema, nlohmann::json& object);

// Sets the `default` of every absent property whose parent object is present.
void ApplySchemaDefaults(const nlohmann::json& schema, nlohmann::json& object);

// Every violation of `schema` by `object` (metadata, apiVersion and kind excluded), as
// the causes of a 422 Invalid, with kube-openapi's messages.
std::vector<Cause> ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& object);

// The whole decode step for a custom resource of `kind` in `group`/`version` about to be
// stored: prune (Strict: 400 BadRequest "... strict decoding error: unknown field ..."),
// default, validate (422 Invalid). `patch` selects the message the PATCH handler uses.
// Unknown fields dropped in Warn mode are appended to `warnings` as `unknown field "x"`.
std::optional<ApiError> DecodeCustomResource(const nlohmann::json& schema, const std::string& group,
                                             const std::string& version, const std::string& kind,
                                             FieldValidation mode, bool patch, nlohmann::json& object,
                                             std::vector<std::string>* warnings);

}  // namespace kubesync::emulator
