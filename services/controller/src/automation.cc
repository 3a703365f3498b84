// Synchronization and SynchronizationPlan: validated with the same field paths as a
// LiveSynchronization, and reported in status. Running them (one-shot and cron
// synchronizations, ZooKeeper) is on the roadmap; until then a valid one says so in its
// Ready condition instead of pretending to run.
#include "conditions.h"
#include "controller.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/plan/validate.h"

namespace kubesync::controller {

using nlohmann::json;

void Controller::ReconcileValidatedOnly(const std::string& resource, const std::string& ns, const std::string& name) {
  kube::Informer& informer = resource == "synchronizations" ? *synchronizations_ : *synchronization_plans_;
  auto entry = informer.store().Get(kube::ObjectKey(ns, name));
  if (!entry || !entry->object) return;
  const json object = *entry->object;
  const json meta = object.value("metadata", json::object());
  const int64_t generation = meta.value("generation", int64_t{0});
  const json old_status = object.value("status", json::object());
  if (old_status.is_object() && old_status.value("observedGeneration", int64_t{-1}) == generation) return;

  plan::ParseReport report;
  Status valid = plan::ValidateAutomationObject(object, &report);
  json conditions = old_status.is_object() ? old_status.value("conditions", json::array()) : json::array();
  const std::string now = Now();
  json status = {{"observedGeneration", generation}};
  if (!valid.ok()) {
    std::string message;
    for (const auto& e : report.errors) message += (message.empty() ? "" : "; ") + e.ToString();
    if (message.empty()) message = valid.message();
    SetCondition(conditions, {"Invalid", "True", "InvalidConfiguration", message}, generation, now);
    SetCondition(conditions, {"Ready", "False", "InvalidConfiguration", "the configuration is invalid"}, generation,
                 now);
    status["phase"] = "Invalid";
    recorder_.Record(*management_, object, kEventWarning, "InvalidConfiguration", message);
    logger_.Error("invalid " + object.value("kind", std::string("object")),
                  {{"object", ns + "/" + name}, {"error", message}});
  } else {
    SetCondition(conditions, {"Invalid", "False", "Valid", ""}, generation, now);
    SetCondition(conditions,
                 {"Ready", "False", "NotImplemented",
                  "the configuration is valid; running " + resource + " is not part of this kubesync release"},
                 generation, now);
    status["phase"] = "Pending";
  }
  status["conditions"] = conditions;
  auto r = management_->Patch({.group = std::string(kAutomationGroup),
                               .version = std::string(kApiVersion),
                               .resource = resource,
                               .ns = ns,
                               .name = name,
                               .subresource = "status"},
                              kube::PatchType::kMerge, json{{"status", status}}.dump());
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    logger_.Warn("could not update status", {{"object", ns + "/" + name}, {"error", r.status().ToString()}});
  }
}

}  // namespace kubesync::controller
