// The strategic-merge schema of the built-in kinds: for each kind, the JSON paths of the
// lists that have a `patchStrategy:"merge"` struct tag in k8s.io/api, with their
// `patchMergeKey`. Lists not in the table are atomic (replaced wholesale). Used by both
// strategic merge patch and server-side apply (where the same lists are associative).
#pragma once

#include <string>
#include <string_view>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator::internal {

struct ListStrategy {
  // Merge key of a list of objects ("name", "containerPort"); empty for a list of
  // primitives merged as a set (metadata.finalizers).
  std::string merge_key;
};

// `schema_path` names the list with dot-separated field names and "[]" for a list element:
// "spec.template.spec.containers[].env". Returns nullptr for atomic lists and unknown kinds.
const ListStrategy* FindListStrategy(const TypeRef& type, std::string_view schema_path);

// Appends ".field" (or "field" at the root) / "[]" to a schema path.
std::string SchemaChild(std::string_view schema_path, std::string_view field);
std::string SchemaElement(std::string_view schema_path);

}  // namespace kubesync::emulator::internal
