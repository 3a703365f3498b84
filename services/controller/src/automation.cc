#include "automation.h"

#include "conditions.h"
#include "kubesync/plan/validate.h"
#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

void ValidatedOnlyReconciler::Reconcile(const QueueKey& key) {
  auto entry = informer_->store().Get(key.ObjectKey());
  if (!entry || !entry->object) return;
  const json object = *entry->object;
  const int64_t generation = IntOr(object, "metadata.generation");
  const json* old = FieldAt(object, "status");
  const json old_status = old != nullptr && old->is_object() ? *old : json::object();
  if (IntOr(old_status, "observedGeneration", -1) == generation) return;

  plan::ParseReport report;
  Status valid = plan::ValidateAutomationObject(object, &report);
  json conditions = old_status.contains("conditions") ? old_status["conditions"] : json::array();
  const std::string now = ctx_.Now();
  json status = {{"observedGeneration", generation}};
  if (!valid.ok()) {
    std::string message;
    for (const auto& e : report.errors) message += (message.empty() ? "" : "; ") + e.ToString();
    if (message.empty()) message = valid.message();
    SetCondition(conditions, {"Invalid", ConditionStatus::kTrue, "InvalidConfiguration", message}, generation,
                 now);
    SetCondition(conditions,
                 {"Ready", ConditionStatus::kFalse, "InvalidConfiguration", "the configuration is invalid"},
                 generation, now);
    status["phase"] = "Invalid";
    ctx_.recorder.Record(ctx_.management, object, kEventWarning, "InvalidConfiguration", message);
    ctx_.logger.Error("invalid " + StringOr(object, "kind", "object"),
                      {{"object", key.ObjectKey()}, {"error", message}});
  } else {
    SetCondition(conditions, {"Invalid", ConditionStatus::kFalse, "Valid", ""}, generation, now);
    SetCondition(
        conditions,
        {"Ready", ConditionStatus::kFalse, "NotImplemented",
         "the configuration is valid; running " + resource_ + " is not part of this kubesync release"},
        generation, now);
    status["phase"] = "Pending";
  }
  status["conditions"] = conditions;
  auto r = ctx_.management.Patch({.group = std::string(kAutomationGroup),
                                  .version = std::string(kApiVersion),
                                  .resource = resource_,
                                  .ns = key.ns,
                                  .name = key.name,
                                  .subresource = "status"},
                                 kube::PatchType::kMerge, json{{"status", status}}.dump());
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    ctx_.logger.Warn("could not update status",
                     {{"object", key.ObjectKey()}, {"error", r.status().ToString()}});
  }
}

}  // namespace kubesync::controller
