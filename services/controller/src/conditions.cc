#include "conditions.h"

namespace kubesync::controller {

using nlohmann::json;

std::string_view ConditionStatusName(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

const json* FindCondition(const json& conditions, std::string_view type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

bool IsConditionTrue(const json& conditions, std::string_view type) {
  const json* c = FindCondition(conditions, type);
  return c != nullptr && c->value("status", "") == "True";
}

void SetCondition(json& conditions, const Condition& condition, int64_t generation, std::string_view now) {
  if (!conditions.is_array()) conditions = json::array();
  const std::string status(ConditionStatusName(condition.status));
  json entry = {{"type", condition.type},
                {"status", status},
                {"reason", condition.reason.empty() ? std::string("Unknown") : condition.reason},
                {"message", condition.message},
                {"lastTransitionTime", std::string(now)},
                {"observedGeneration", generation}};
  for (auto& c : conditions) {
    if (!c.is_object() || c.value("type", "") != condition.type) continue;
    if (c.value("status", "") == status && c.contains("lastTransitionTime")) {
      entry["lastTransitionTime"] = c["lastTransitionTime"];
    }
    c = std::move(entry);
    return;
  }
  conditions.push_back(std::move(entry));
}

json StableStatus(json status) {
  if (!status.is_object()) return status;
  status.erase("lastProbeTime");
  return status;
}

namespace {
json WithoutStatus(const json& object) {
  json out = object;
  if (!out.is_object()) return out;
  out.erase("status");
  if (auto meta = out.find("metadata"); meta != out.end() && meta->is_object()) {
    meta->erase("resourceVersion");
    meta->erase("managedFields");
  }
  return out;
}
}  // namespace

bool OnlyStatusChanged(const json& before, const json& after) {
  return WithoutStatus(before) == WithoutStatus(after);
}

}  // namespace kubesync::controller
