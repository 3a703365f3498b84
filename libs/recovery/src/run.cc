// RunTask: the restorer's work for one Task on the destination cluster.
#include <map>

#include "kubesync/kube/discovery.h"
#include "kubesync/kube/errors.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/plan/plan.h"
#include "kubesync/recovery/task.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"
#include "paths.h"

namespace kubesync::recovery {
namespace {

using internal::Covers;
using nlohmann::json;

std::string ObjectName(const plan::Gvr& gvr, const std::string& ns, const std::string& name) {
  return gvr.String() + " " + kube::ObjectKey(ns, name);
}

// fromOriginal with paths: restores the recorded entries at, under or containing `paths`
// and keeps the others recorded (the annotation goes when nothing is left). An entry
// containing a path is there because the transformation shifted an array: the whole array
// is its original.
Status RestorePathsFromAnnotation(json& obj, const std::vector<std::string>& paths) {
  const std::string key(transform::kOriginalValuesAnnotation);
  const json::json_pointer ptr("/metadata/annotations/" + transform::EscapePointerToken(key));
  if (!obj.contains(ptr) || !obj[ptr].is_string()) return OkStatus();
  const json wire = json::parse(obj[ptr].get<std::string>(), nullptr, /*allow_exceptions=*/false);
  if (wire.is_discarded()) return InvalidArgumentError(key + ": not valid JSON");
  KS_ASSIGN_OR_RETURN(transform::Originals originals, transform::OriginalsFromJson(wire));
  transform::Originals selected, kept;
  for (transform::OriginalValue& entry : originals) {
    bool match = false;
    for (const std::string& p : paths) match |= Covers(entry.path, p) || Covers(p, entry.path);
    (match ? selected : kept).push_back(std::move(entry));
  }
  if (kept.empty()) {
    obj["metadata"]["annotations"].erase(key);
  } else {
    obj[ptr] = transform::OriginalsToJson(kept).dump();
  }
  return transform::Restore(obj, selected);
}

enum class Outcome { kPatched, kSkipped, kFailed };

struct ObjectResult {
  Outcome outcome = Outcome::kSkipped;
  std::string reason;  // for kFailed
};

class Runner {
 public:
  Runner(kube::Client& client, const TaskSpec& task, const log::Logger& logger, const RunOptions& options)
      : client_(client), discovery_(client), task_(task), logger_(logger), options_(options) {}

  RunReport Run() {
    for (const TaskResource& resource : task_.resources) RunResource(resource);
    return std::move(report_);
  }

 private:
  void Fail(std::string object, std::string reason) {
    ++report_.failed;
    if (report_.failures.size() < kMaxFailures)
      report_.failures.push_back({std::move(object), std::move(reason)});
  }

  // Labels of every namespace, listed once per run (for namespaceSelector).
  Result<const std::map<std::string, json>*> NamespaceLabels() {
    if (!namespaces_) {
      KS_ASSIGN_OR_RETURN(kube::ListResult list,
                          client_.List({.group = "", .version = "v1", .resource = "namespaces"}));
      std::map<std::string, json> labels;
      for (const json& ns : list.items) {
        const json& meta = ns.value("metadata", json::object());
        labels[meta.value("name", "")] = meta.value("labels", json::object());
      }
      namespaces_ = std::move(labels);
    }
    return &*namespaces_;
  }

  void RunResource(const TaskResource& resource) {
    const plan::Gvr& gvr = resource.gvr;
    selection_.rules = {resource.rule};
    auto api = discovery_.Resolve(gvr.group, gvr.version, gvr.resource);
    if (!api.ok()) {
      logger_.Error("error reading resources for group version",
                    {{"resource", gvr.String()}, {"error", api.status().ToString()}});
      Fail(gvr.String(), api.status().message());
      return;
    }
    const std::map<std::string, json>* namespaces = nullptr;
    if (api->namespaced && !resource.rule.namespace_selector.Empty()) {
      auto labels = NamespaceLabels();
      if (!labels.ok()) {
        logger_.Error("error listing objects in cluster",
                      {{"resource", "v1/namespaces"}, {"error", labels.status().ToString()}});
        Fail(gvr.String(), "listing namespaces: " + labels.status().message());
        return;
      }
      namespaces = *labels;
    }
    kube::ResourceRef ref{.group = gvr.group, .version = gvr.version, .resource = gvr.resource};
    kube::ListOptions list_options;
    // A derived Task touches only what its LiveSynchronization wrote; the label narrows the
    // list on the server, IsManagedBy (label and annotation) decides.
    if (task_.live_synchronization) {
      list_options.label_selector = std::string(transform::kManagedByLabel) + "=" +
                                    transform::LabelValueForId(*task_.live_synchronization);
    }
    logger_.Info("listing objects in cluster",
                 {{"resource", gvr.String()}, {"labelSelector", list_options.label_selector}});
    auto list = client_.List(ref, list_options);
    if (!list.ok()) {
      logger_.Error("error listing objects in cluster",
                    {{"resource", gvr.String()}, {"error", list.status().ToString()}});
      Fail(gvr.String(), "listing: " + list.status().message());
      return;
    }
    logger_.Info("listed objects in cluster", {{"resource", gvr.String()}, {"count", list->items.size()}});
    for (const json& object : list->items) {
      const std::string ns = api->namespaced ? kube::meta::Namespace(object) : std::string();
      const std::string name = kube::meta::Name(object);
      if (!Selected(resource, object, ns, name, namespaces)) continue;
      if (options_.before_object) options_.before_object(object);
      ObjectResult result = RestoreObject(resource, ref, ns, name, object);
      switch (result.outcome) {
        case Outcome::kPatched:
          ++report_.patched;
          break;
        case Outcome::kSkipped:
          ++report_.skipped;
          break;
        case Outcome::kFailed:
          Fail(ObjectName(gvr, ns, name), std::move(result.reason));
          break;
      }
    }
  }

  // The pipeline's selection semantics (plan::Plan::MatchingRule with this one rule): the
  // default exclusions (kube-*, openshift* namespaces) hold for user Tasks too, so a Task
  // never rewrites the platform's own objects; a Namespace is its own namespace.
  bool Selected(const TaskResource& resource, const json& object, const std::string& ns,
                const std::string& name, const std::map<std::string, json>* namespaces) const {
    if (task_.live_synchronization && !transform::IsManagedBy(object, *task_.live_synchronization))
      return false;
    json ns_labels = json::object();
    if (namespaces != nullptr) {
      auto it = namespaces->find(ns);
      if (it != namespaces->end()) ns_labels = it->second;
    }
    const json& meta = object.value("metadata", json::object());
    const bool is_namespace = resource.gvr.group.empty() && resource.gvr.resource == "namespaces";
    return selection_.MatchingRule(resource.gvr, is_namespace ? name : ns, name,
                                   meta.value("labels", json::object()), ns_labels) != nullptr;
  }

  // The object as the Task wants it: originals put back first, then the patch.
  Result<json> Desired(const TaskResource& resource, const json& current) const {
    json desired = current;
    if (resource.rule.recover_from_original) {
      KS_RETURN_IF_ERROR((resource.original_paths.empty()
                              ? transform::RestoreFromAnnotation(desired)
                              : RestorePathsFromAnnotation(desired, resource.original_paths))
                             .Annotate("restoring original values"));
    }
    const plan::Patch& patch = resource.rule.recovery_patch;
    if (!patch.empty()) {
      transform::Originals ignored;
      KS_RETURN_IF_ERROR(transform::ApplyTransformationInPlace(desired, patch.operations,
                                                               patch.skip_if_not_found_on_delete, ignored));
    }
    return desired;
  }

  ObjectResult RestoreObject(const TaskResource& resource, kube::ResourceRef ref, const std::string& ns,
                             const std::string& name, json current) {
    ref.ns = ns;
    ref.name = name;
    const json object_field = service::ObjectRef(resource.gvr, current);
    for (int attempt = 0;; ++attempt) {
      auto desired = Desired(resource, current);
      if (!desired.ok()) {
        logger_.Error("error patching object",
                      {{"destinationObject", object_field}, {"error", desired.status().ToString()}});
        return {Outcome::kFailed, desired.status().message()};
      }
      if (*desired == current) {
        logger_.Debug("object already restored", {{"destinationObject", object_field}});
        return {Outcome::kSkipped, ""};
      }
      logger_.Debug("updating object in cluster", {{"destinationObject", object_field}});
      auto updated = client_.Update(ref, *desired, {.field_manager = options_.field_manager});
      if (updated.ok()) {
        logger_.Info("object updated in cluster",
                     {{"destinationObject", service::ObjectRef(resource.gvr, *updated)}});
        return {Outcome::kPatched, ""};
      }
      if (kube::IsNotFound(updated.status())) {
        logger_.Info("object not found in cluster", {{"destinationObject", object_field}});
        return {Outcome::kSkipped, ""};
      }
      if (!kube::IsConflict(updated.status()) || attempt >= options_.max_conflict_retries) {
        logger_.Error("error updating object in cluster",
                      {{"destinationObject", object_field}, {"error", updated.status().ToString()}});
        return {Outcome::kFailed, updated.status().message()};
      }
      // 409: someone wrote the object since we read it (the PUT carries the resourceVersion
      // we read: optimistic concurrency, as kubectl/client-go's RetryOnConflict); redo the
      // read-modify-write on a fresh copy.
      auto fresh = client_.Get(ref);
      if (kube::IsNotFound(fresh.status())) {
        logger_.Info("object not found in cluster", {{"destinationObject", object_field}});
        return {Outcome::kSkipped, ""};
      }
      if (!fresh.ok()) {
        logger_.Error("error getting object from cluster",
                      {{"destinationObject", object_field}, {"error", fresh.status().ToString()}});
        return {Outcome::kFailed, fresh.status().message()};
      }
      current = std::move(*fresh);
    }
  }

  kube::Client& client_;
  kube::Discovery discovery_;
  const TaskSpec& task_;
  const log::Logger& logger_;
  const RunOptions& options_;
  std::optional<std::map<std::string, json>> namespaces_;
  plan::Plan selection_;  // just the rule of the resource entry being run
  RunReport report_;
};

}  // namespace

Result<RunReport> RunTask(kube::Client& destination, const TaskSpec& task, const log::Logger& logger,
                          const RunOptions& options) {
  logger.Info("running task", {{"task", {{"name", task.name}, {"namespace", task.namespace_}}},
                               {"resources", task.resources.size()}});
  Runner runner(destination, task, logger, options);
  RunReport report = runner.Run();
  logger.Info("task finished", {{"task", {{"name", task.name}, {"namespace", task.namespace_}}},
                                {"objectsPatched", report.patched},
                                {"objectsSkipped", report.skipped},
                                {"objectsFailed", report.failed}});
  return report;
}

}  // namespace kubesync::recovery
