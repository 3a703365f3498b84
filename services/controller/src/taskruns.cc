// TaskRun reconciliation (see controller.h): one restorer run per TaskRun.
#include "conditions.h"
#include "controller.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/recovery/task.h"
#include "kubesync/transform/mark.h"

namespace kubesync::controller {

using nlohmann::json;

namespace {

kube::ResourceRef TaskRunRef(const std::string& ns, const std::string& name, std::string subresource = "") {
  return {.group = std::string(recovery::kTaskGroup),
          .version = std::string(recovery::kTaskVersion),
          .resource = std::string(recovery::kTaskRunsResource),
          .ns = ns,
          .name = name,
          .subresource = std::move(subresource)};
}

bool IsFinal(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }

}  // namespace

std::optional<json> Controller::FindLiveSyncById(const std::string& id) const {
  std::optional<json> found;
  livesyncs_->store().ForEach([&](const std::string&, const kube::StoreEntry& entry) {
    if (found || !entry.object) return;
    const json meta = entry.object->value("metadata", json::object());
    if (transform::LiveSynchronizationId(meta.value("namespace", ""), meta.value("name", "")) == id) {
      found = *entry.object;
    }
  });
  return found;
}

void Controller::OnJobFinished(const runtime::Event& event) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(event.set_id);
  if (it == jobs_.end()) return;
  finished_jobs_[event.set_id] = event.exit_code;
  queue_.Add(it->second.queue_key);
  jobs_.erase(it);
}

void Controller::ReconcileTaskRun(const std::string& destination_key, const std::string& ns, const std::string& name) {
  const std::string queue_key = "tr/" + destination_key + "/" + ns + "/" + name;
  const std::string job_id = "taskrun." + destination_key + "." + ns + "." + name;
  Destination* dest;
  std::optional<int> finished;
  {
    std::lock_guard lock(mu_);
    auto it = destinations_.find(destination_key);
    if (it == destinations_.end()) return;
    dest = &it->second;
    if (auto f = finished_jobs_.find(job_id); f != finished_jobs_.end()) {
      finished = f->second;
      finished_jobs_.erase(f);
    }
  }
  auto entry = dest->taskruns->store().Get(kube::ObjectKey(ns, name));
  if (!entry || !entry->object) return;
  json tr = *entry->object;
  kube::Client& client = *dest->client;
  const json status = tr.value("status", json::object());
  const std::string phase = status.is_object() ? status.value("phase", "") : "";
  const json spec = tr.value("spec", json::object());
  const std::string task_name = spec.is_object() ? spec.value("taskName", "") : "";

  if (finished) {
    // The restorer wrote the status itself (exit 0/1); exit 2 means it could not.
    // Judge from the TaskRun as it is now, never from a possibly stale cache: on error,
    // try again later rather than mark a run that may have succeeded as Failed.
    auto retry_later = [&] {
      {
        std::lock_guard lock(mu_);
        finished_jobs_[job_id] = *finished;
      }
      queue_.AddAfter(queue_key, std::chrono::seconds(5));
    };
    auto fresh = client.Get(TaskRunRef(ns, name));
    if (!fresh.ok()) {
      if (fresh.status().code() == Code::kNotFound) return;  // deleted meanwhile
      logger_.Warn("could not read a finished TaskRun", {{"taskRun", ns + "/" + name},
                                                         {"error", fresh.status().ToString()}});
      retry_later();
      return;
    }
    tr = *fresh;
    const json st = tr.value("status", json::object());
    const std::string final_phase = st.is_object() ? st.value("phase", "") : "";
    if (!IsFinal(final_phase)) {
      json patch = {{"status",
                     {{"phase", "Failed"},
                      {"completionTime", Now()},
                      {"message", "the restorer exited with code " + std::to_string(*finished) +
                                      " without recording a result; see its log under the controller's work "
                                      "directory (jobs/" + job_id + ")"}}}};
      auto patched = client.Patch(TaskRunRef(ns, name, "status"), kube::PatchType::kMerge, patch.dump());
      if (!patched.ok() && patched.status().code() != Code::kNotFound) {
        logger_.Warn("could not update TaskRun status", {{"taskRun", ns + "/" + name},
                                                         {"error", patched.status().ToString()}});
        retry_later();
        return;
      }
      recorder_.Record(client, tr, kEventWarning, "RecoveryFailed", patch["status"]["message"]);
      return;
    }
    const std::string summary = "Task " + task_name + ": " + std::to_string(st.value("objectsPatched", 0)) +
                                " object(s) patched, " + std::to_string(st.value("objectsSkipped", 0)) +
                                " skipped, " + std::to_string(st.value("objectsFailed", 0)) + " failed in " +
                                st.value("duration", "?");
    const bool ok = final_phase == "Succeeded";
    recorder_.Record(client, tr, ok ? kEventNormal : kEventWarning, ok ? "RecoverySucceeded" : "RecoveryFailed",
                     ok ? summary : summary + ": " + st.value("message", ""));
    logger_.Info(ok ? "recovery succeeded" : "recovery failed",
                 {{"taskRun", ns + "/" + name}, {"summary", summary}});
    if (auto ls_id = st.value("liveSynchronization", ""); !ls_id.empty()) {
      if (auto ls = FindLiveSyncById(ls_id)) {
        recorder_.Record(*management_, *ls, ok ? kEventNormal : kEventWarning, "Recovery",
                         "TaskRun " + ns + "/" + name + " " + (ok ? "succeeded" : "failed") + ": " + summary);
      }
    }
    return;
  }
  if (IsFinal(phase) || runtime_->JobRunning(job_id)) return;
  {
    // The runtime forgets a job just before its finish event reaches OnRuntimeEvent:
    // until then the job is still ours, and must not be started again.
    std::lock_guard lock(mu_);
    if (jobs_.count(job_id) > 0 || finished_jobs_.count(job_id) > 0) return;
  }

  // The owning LiveSynchronization, from the Task's annotation.
  std::optional<json> ls;
  if (!task_name.empty()) {
    auto task = client.Get({.group = std::string(recovery::kTaskGroup),
                            .version = std::string(recovery::kTaskVersion),
                            .resource = std::string(recovery::kTasksResource),
                            .ns = ns,
                            .name = task_name});
    if (task.ok()) {
      const json annotations = task->value("metadata", json::object()).value("annotations", json::object());
      if (annotations.is_object()) {
        // "<namespace>/<name>" as on replicated objects, or the id "<namespace>.<name>"
        // (namespaces hold no dots).
        std::string ls_id = annotations.value(std::string(transform::kLiveSynchronizationAnnotation), "");
        if (auto slash = ls_id.find('/'); slash != std::string::npos) ls_id[slash] = '.';
        if (!ls_id.empty()) ls = FindLiveSyncById(ls_id);
      }
    }
  }
  if (ls) {
    const json ls_meta = ls->value("metadata", json::object());
    const std::string ls_key = ls_meta.value("namespace", "") + "/" + ls_meta.value("name", "");
    const bool suspended = ls->value("spec", json::object()).value("suspend", false);
    // Running as the runtime sees it: components may run although the controller's own
    // record says otherwise (an Apply that failed part-way).
    const std::string ls_id = transform::LiveSynchronizationId(ls_meta.value("namespace", ""),
                                                               ls_meta.value("name", ""));
    const bool running = runtime_->State(ls_id).has_value();
    const bool suspend_first = spec.is_object() && spec.value("suspendLiveSynchronization", false);
    // Suspend first whenever asked, running or not: a LiveSynchronization that is pending
    // now (a cluster briefly unreachable) would otherwise start later and write over the
    // recovered objects.
    if (suspend_first && (running || !suspended)) {
      if (!suspended) {
        auto patched = management_->Patch({.group = std::string(kAutomationGroup),
                                           .version = std::string(kApiVersion),
                                           .resource = "livesynchronizations",
                                           .ns = ls_meta.value("namespace", ""),
                                           .name = ls_meta.value("name", "")},
                                          kube::PatchType::kMerge, R"({"spec":{"suspend":true}})");
        if (!patched.ok()) {
          recorder_.Record(client, tr, kEventWarning, "SuspendFailed",
                           "could not suspend LiveSynchronization " + ls_key + ": " + patched.status().message());
          queue_.AddAfter(queue_key, std::chrono::seconds(5));
          return;
        }
        recorder_.Record(client, tr, kEventNormal, "SuspendingLiveSynchronization",
                         "spec.suspendLiveSynchronization is true: suspending LiveSynchronization " + ls_key +
                             " before the recovery");
        recorder_.Record(*management_, *ls, kEventNormal, "SuspendedForRecovery",
                         "suspended by TaskRun " + ns + "/" + name);
        logger_.Info("suspending a LiveSynchronization before recovery",
                     {{"liveSynchronization", ls_key}, {"taskRun", ns + "/" + name}});
      }
      // Wait for its components to stop (the LiveSynchronization's reconcile does it).
      queue_.AddAfter(queue_key, std::chrono::milliseconds(200));
      return;
    }
    if (running && !suspended) {
      const std::string message = "LiveSynchronization " + ls_key +
                                  " is still running and may overwrite recovered objects; set "
                                  "spec.suspendLiveSynchronization: true on the TaskRun to suspend it first";
      recorder_.Record(client, tr, kEventWarning, "LiveSynchronizationRunning", message);
      logger_.Warn("recovery while the LiveSynchronization runs", {{"liveSynchronization", ls_key},
                                                                  {"taskRun", ns + "/" + name}});
      json conditions = status.is_object() ? status.value("conditions", json::array()) : json::array();
      SetCondition(conditions, {"LiveSynchronizationRunning", "True", "LiveSynchronizationRunning", message},
                   tr["metadata"].value("generation", int64_t{0}), Now());
      json patch = {{"status", {{"phase", "Pending"}, {"conditions", conditions}}}};
      (void)client.Patch(TaskRunRef(ns, name, "status"), kube::PatchType::kMerge, patch.dump());
    }
  }

  runtime::JobSpec job{.id = job_id,
                       .binary = "restorer",
                       .args = {"--destination-kubeconfig", "{file:kubeconfig}", "--namespace", ns, "--taskrun", name,
                                "--log-level",
                                options_.component_log_level.empty() ? "info" : options_.component_log_level},
                       .files = {{"kubeconfig", dest->kubeconfig}}};
  {
    std::lock_guard lock(mu_);
    jobs_[job_id] = TaskRunJob{.queue_key = queue_key, .ls_key = ""};
  }
  Status started = runtime_->RunJob(job);
  if (!started.ok()) {
    {
      std::lock_guard lock(mu_);
      jobs_.erase(job_id);
    }
    if (started.code() == Code::kAlreadyExists) return;
    recorder_.Record(client, tr, kEventWarning, "RecoveryNotStarted", started.message());
    logger_.Error("could not start the restorer", {{"taskRun", ns + "/" + name}, {"error", started.ToString()}});
    queue_.AddAfter(queue_key, std::chrono::seconds(10));
    return;
  }
  logger_.Info("recovery started", {{"taskRun", ns + "/" + name}, {"task", task_name}});
  recorder_.Record(client, tr, kEventNormal, "RecoveryStarted", "running Task " + task_name + " with the restorer");
}

}  // namespace kubesync::controller
