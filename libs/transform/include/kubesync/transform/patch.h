// JSON-patch transformations (RFC 6902 ops add, replace and remove, the ones the
// reference product accepts) with an undo record: for every patched location, the value it
// had before (or that it was absent), so that the source values can be put back exactly
// on the destination object at recovery time, from that object alone.
//
// Semantics follow `kubectl patch --type=json` (evanphx/json-patch), which the reference
// documents name as the mechanism: `replace` and `remove` of a missing location fail
// ("doc is missing key"), `add` creates or overwrites an object member and inserts into
// arrays ("-" appends), parents are never created. `skip_if_not_found_on_delete` is
// `patchOptions.skipIfNotFoundOnDelete`: a `remove` whose location is missing is skipped.
//
// Pure and thread-safe; never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kubesync/core/status.h"
#include "kubesync/plan/plan.h"

namespace kubesync::transform {

// The value a location had before a transformation touched it; nullopt when it was absent.
struct OriginalValue {
  std::string path;  // JSON pointer
  std::optional<nlohmann::json> value;
  friend bool operator==(const OriginalValue&, const OriginalValue&) = default;
};

// An undo log in operation order. Each location appears once, with its value before the
// first operation that touched it or any location containing it. An operation that shifts
// array elements (add into, or remove from, an array) records the whole array. Restore
// applies the log in reverse order.
using Originals = std::vector<OriginalValue>;

struct Transformed {
  nlohmann::json object;
  Originals originals;
};

// Applies `ops` in order to a copy of `cleaned`. InvalidArgument naming the operation
// index and path on the first failing operation, e.g.
//   "operation 1 (replace /spec/replicas): doc is missing key: /spec/replicas".
// Operations on the whole document (path "") are rejected.
Result<Transformed> ApplyTransformation(const nlohmann::json& cleaned,
                                        const std::vector<plan::PatchOperation>& ops,
                                        bool skip_if_not_found_on_delete);

// Same, in place: patches `obj` and appends to `originals`. On error `obj` holds the
// operations before the failing one.
Status ApplyTransformationInPlace(nlohmann::json& obj, const std::vector<plan::PatchOperation>& ops,
                                  bool skip_if_not_found_on_delete, Originals& originals);

// Puts back the recorded values on `obj` (latest entry first): absent locations are
// removed when present, others set, creating missing parent objects. InvalidArgument
// naming the entry when a location cannot be reached (a parent is a scalar, an array
// index is out of range); `obj` may then be partly restored.
Status Restore(nlohmann::json& obj, const Originals& originals);

// Wire form kept in the kubesync.io/original-values annotation:
//   [{"path":"/spec/replicas","value":3},{"path":"/spec/paused","absent":true}]
nlohmann::json OriginalsToJson(const Originals& originals);
// InvalidArgument naming the bad entry ("original-values[2].path: ...").
Result<Originals> OriginalsFromJson(const nlohmann::json& wire);

// JSON pointer helpers (RFC 6901). ParsePointer fails on a pointer that does not start
// with '/' or has a '~' not followed by '0' or '1'.
Result<std::vector<std::string>> ParsePointer(const std::string& pointer);
std::string EscapePointerToken(const std::string& token);

}  // namespace kubesync::transform
