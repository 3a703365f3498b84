// Private: JSON pointer containment, shared by the derivation and the run.
#pragma once

#include <string>

namespace kubesync::recovery::internal {

// True when `outer` is `inner` or a JSON pointer to an object or array containing it
// ("/spec" covers "/spec/replicas"; "/spec/rep" does not).
inline bool Covers(const std::string& outer, const std::string& inner) {
  return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                            inner[outer.size()] == '/');
}

}  // namespace kubesync::recovery::internal
