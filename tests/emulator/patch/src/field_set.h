// Field sets of server-side apply, in the FieldsV1 vocabulary of
// sigs.k8s.io/structured-merge-diff: a field path is a list of elements "f:<name>"
// (a field), "k:{\"name\":\"nginx\"}" (an element of a list merged by key) or
// "v:\"value\"" (an element of a list of primitives merged as a set).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator::internal {

using FieldPath = std::vector<std::string>;
using FieldSet = std::set<FieldPath>;

struct Leaf {
  const nlohmann::json* value = nullptr;
  bool is_item = false;  // a keyed list element itself (FieldsV1 "."), not a value
};
using LeafMap = std::map<FieldPath, Leaf>;

// What a field set covers: everything but the identity and system fields the real field
// manager strips (apiVersion, kind, metadata name/namespace/uid/resourceVersion/generation/
// creationTimestamp/selfLink/managedFields).
nlohmann::json StripSystemFields(const nlohmann::json& object);

// The leaves of `object` (scalars, empty maps, atomic lists, set members) and the keyed
// list elements, keyed by path; pointers refer into `object`.
LeafMap CollectLeaves(const nlohmann::json& object, const TypeRef& type);

FieldSet KeysOf(const LeafMap& leaves);

nlohmann::json EncodeFieldsV1(const FieldSet& set);
FieldSet DecodeFieldsV1(const nlohmann::json& fields);

// ".spec.template.spec.containers[name=\"nginx\"].image", as in conflict messages.
std::string FieldPathString(const FieldPath& path);

// Removes the field or list element `path` names; false when it is not there.
bool RemoveFieldPath(nlohmann::json& object, const FieldPath& path);

// The value at `path`, or nullptr.
nlohmann::json* ResolveFieldPath(nlohmann::json& object, const FieldPath& path);

}  // namespace kubesync::emulator::internal
