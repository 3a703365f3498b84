// metav1.Condition lists in CR status: set one condition by type, keeping its
// lastTransitionTime while its status stays the same (the Kubernetes API conventions,
// "Typical status properties"). Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kubesync::controller {

enum class ConditionStatus { kTrue, kFalse, kUnknown };

// "True", "False", "Unknown" (metav1.ConditionStatus).
std::string_view ConditionStatusName(ConditionStatus status);
inline ConditionStatus ConditionIf(bool value) {
  return value ? ConditionStatus::kTrue : ConditionStatus::kFalse;
}

struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;  // CamelCase
  std::string message;
};

// Sets `condition` in `conditions` (a JSON array, or null which becomes one). `now` is
// RFC 3339; `generation` goes to observedGeneration.
void SetCondition(nlohmann::json& conditions, const Condition& condition, int64_t generation,
                  std::string_view now);

// The condition of `type`, or nullptr.
const nlohmann::json* FindCondition(const nlohmann::json& conditions, std::string_view type);

// True when the condition of `type` has status "True".
bool IsConditionTrue(const nlohmann::json& conditions, std::string_view type);

// `status` without the fields that change on every refresh, for "did anything change?".
nlohmann::json StableStatus(nlohmann::json status);

// True when an update from `before` to `after` touched nothing but status (and the
// resourceVersion and managedFields every write changes): mostly the controller's own
// status writes coming back, which must not trigger another reconcile.
bool OnlyStatusChanged(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace kubesync::controller
