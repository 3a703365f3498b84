#include "taskruns.h"

#include <algorithm>

#include "conditions.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/plan/parse.h"
#include "kubesync/recovery/task.h"
#include "kubesync/transform/mark.h"
#include "typed.h"

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

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

void TaskRunReconciler::OnJobFinished(const runtime::Event& event) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(event.set_id);
  if (it == jobs_.end()) return;
  finished_[event.set_id] = Finished{it->second, event.exit_code};
  ctx_.queue.Add(it->second.key);
  jobs_.erase(it);
}

void TaskRunReconciler::Reconcile(const QueueKey& key) {
  auto cluster = ctx_.destinations.Get(key.cluster);
  if (!cluster) return;  // no longer watched
  auto entry = cluster->taskruns->store().Get(key.ObjectKey());
  if (!entry || !entry->object) {
    std::lock_guard lock(mu_);
    std::erase_if(finished_, [&](const auto& f) { return f.second.job.key == key; });
    return;
  }
  const json taskrun = *entry->object;
  const std::string uid = kube::meta::Uid(taskrun);
  if (uid.empty()) return;
  const std::string job_id = "taskrun." + uid;
  std::optional<Finished> finished;
  {
    std::lock_guard lock(mu_);
    if (auto f = finished_.find(job_id); f != finished_.end()) {
      finished = f->second;
      finished_.erase(f);
    } else if (jobs_.count(job_id) > 0) {
      return;  // its restorer runs; the finish event brings the key back
    }
  }
  if (finished) {
    HandleFinished(key, *cluster->client, *finished, job_id);
    return;
  }
  const std::string phase = StringOr(taskrun, "status.phase");
  // Running: claimed by a restorer (ours, or another controller's before a failover).
  if (IsFinal(phase) || phase == "Running" || ctx_.runtime.JobRunning(job_id)) return;
  // The LiveSynchronizations must be known before anything can be judged derived.
  if (ctx_.livesyncs == nullptr || !ctx_.livesyncs->HasSynced()) {
    ctx_.queue.AddAfter(key, std::chrono::milliseconds(200));
    return;
  }
  Admission admission = Admit(key, *cluster, taskrun);
  switch (admission.verdict) {
    case Verdict::kRetry:
      ctx_.logger.Warn("cannot judge a TaskRun yet",
                       {{"taskRun", key.ObjectKey()}, {"error", admission.message}});
      ctx_.queue.AddAfter(key, std::chrono::seconds(2));
      return;
    case Verdict::kRefuse:
      Refuse(key, *cluster->client, taskrun, admission.message);
      return;
    case Verdict::kRun:
      break;
  }
  if (admission.ls && SuspendFirst(key, *cluster->client, taskrun, *admission.ls, admission.suspend_first))
    return;
  Start(key, *cluster, taskrun, job_id, admission);
}

TaskRunReconciler::Admission TaskRunReconciler::Admit(const QueueKey& key, DestinationCluster& cluster,
                                                      const json& taskrun) {
  Admission out;
  auto refuse = [&](std::string message) {
    out.verdict = Verdict::kRefuse;
    out.message = std::move(message);
    return out;
  };
  auto task_name = ReadString(taskrun, "spec.taskName");
  if (!task_name.ok()) return refuse("invalid TaskRun: " + task_name.status().message());
  if (!task_name->has_value() || (*task_name)->empty()) {
    return refuse("invalid TaskRun: spec.taskName: Required value");
  }
  auto suspend_first = ReadBool(taskrun, "spec.suspendLiveSynchronization");
  if (!suspend_first.ok()) return refuse("invalid TaskRun: " + suspend_first.status().message());
  out.task = **task_name;
  out.suspend_first = suspend_first->value_or(false);

  // The Task must exist, and be valid, whoever wrote it.
  auto task = cluster.client->Get({.group = std::string(recovery::kTaskGroup),
                                   .version = std::string(recovery::kTaskVersion),
                                   .resource = std::string(recovery::kTasksResource),
                                   .ns = key.ns,
                                   .name = out.task});
  if (!task.ok()) {
    if (task.status().code() == Code::kNotFound) {
      return refuse("Task " + Quoted(out.task) + " not found in namespace " + Quoted(key.ns));
    }
    out.message = "reading Task " + Quoted(out.task) + ": " + task.status().ToString();
    return out;
  }
  if (auto parsed = recovery::ParseTask(*task); !parsed.ok()) {
    return refuse("invalid Task " + Quoted(out.task) + ": " + parsed.status().message());
  }

  bool any_in_namespace = false;
  auto derived = FindDerived(key.cluster, key.ns, out.task, &any_in_namespace);
  if (!derived.ok()) {
    out.message = derived.status().ToString();
    return out;
  }
  if (derived->has_value()) {
    const Derived& d = **derived;
    const std::string ls_key = key.ns + "/" + kube::meta::Name(d.ls);
    if (task->value("spec", json()) != d.task.value("spec", json())) {
      return refuse("refused: Task " + Quoted(out.task) +
                    " differs from the Task kubesync derives for LiveSynchronization " + ls_key +
                    " (edited by hand?); kubesync puts it back, then run the TaskRun again");
    }
    out.verdict = Verdict::kRun;
    out.ls = d.ls;
    return out;
  }
  const auto& allowed = ctx_.options.allowed_task_namespaces;
  if (std::find(allowed.begin(), allowed.end(), key.ns) != allowed.end()) {
    out.verdict = Verdict::kRun;
    return out;
  }
  if (any_in_namespace) {
    return refuse(
        "refused: Task " + Quoted(out.task) +
        " is not a Task kubesync derived for a LiveSynchronization in namespace " + Quoted(key.ns) +
        ", and the namespace is not in the controller's --allowed-task-namespaces; only those run with "
        "kubesync's credentials");
  }
  return refuse("refused: namespace " + Quoted(key.ns) +
                " holds no LiveSynchronization whose destination is this cluster, and is not in the "
                "controller's --allowed-task-namespaces; kubesync runs TaskRuns only there");
}

Result<std::optional<TaskRunReconciler::Derived>> TaskRunReconciler::FindDerived(
    const std::string& cluster_key, const std::string& ns, const std::string& task, bool* any_in_namespace) {
  // Read fresh, not from the informer's cache: a LiveSynchronization created just before
  // the TaskRun may not have reached the cache yet, and a refusal is final.
  const auto& watched = ctx_.options.watch_namespace;
  if (!watched.empty() && watched != ns) return std::optional<Derived>();
  auto listed = ctx_.management.List({.group = std::string(kAutomationGroup),
                                      .version = std::string(kApiVersion),
                                      .resource = "livesynchronizations",
                                      .ns = ns});
  if (!listed.ok())
    return Status(Code::kUnavailable, "listing LiveSynchronizations: " + listed.status().ToString());
  const std::vector<json>& candidates = listed->items;
  for (const json& ls : candidates) {
    auto plan = plan::ParseLiveSynchronization(ls, {.operator_namespace = ctx_.options.operator_namespace});
    if (!plan.ok()) continue;  // an invalid LiveSynchronization derives nothing
    auto destination = ctx_.resolver.Resolve(ns, plan->destination_cluster);
    if (!destination.ok()) {
      if (destination.status().code() == Code::kUnavailable) return destination.status();
      continue;
    }
    auto server = Destinations::ServerOf(destination->kubeconfig);
    if (!server.ok() || Destinations::KeyFor(*server) != cluster_key) continue;
    *any_in_namespace = true;
    json derived = recovery::DeriveTask(*plan, ns);
    if (kube::meta::Name(derived) == task) return std::optional<Derived>(Derived{ls, std::move(derived)});
  }
  return std::optional<Derived>();
}

bool TaskRunReconciler::SuspendFirst(const QueueKey& key, kube::Client& client, const json& taskrun,
                                     const json& ls, bool suspend_first) {
  const std::string ls_ns = kube::meta::Namespace(ls);
  const std::string ls_name = kube::meta::Name(ls);
  const std::string ls_key = ls_ns + "/" + ls_name;
  const bool suspended = ReadBool(ls, "spec.suspend").value_or(std::nullopt).value_or(false);
  // Running as the runtime sees it: components may run although a status says otherwise.
  const bool running = ctx_.runtime.State(transform::LiveSynchronizationId(ls_ns, ls_name)).has_value();
  // Suspend first whenever asked, running or not: a LiveSynchronization pending now (a
  // cluster briefly unreachable) would otherwise start later and write over the recovery.
  if (suspend_first && (running || !suspended)) {
    if (!suspended) {
      auto patched = ctx_.management.Patch({.group = std::string(kAutomationGroup),
                                            .version = std::string(kApiVersion),
                                            .resource = "livesynchronizations",
                                            .ns = ls_ns,
                                            .name = ls_name},
                                           kube::PatchType::kMerge, R"({"spec":{"suspend":true}})");
      if (!patched.ok()) {
        ctx_.recorder.Record(
            client, taskrun, kEventWarning, "SuspendFailed",
            "could not suspend LiveSynchronization " + ls_key + ": " + patched.status().message());
        ctx_.queue.AddAfter(key, std::chrono::seconds(5));
        return true;
      }
      ctx_.recorder.Record(client, taskrun, kEventNormal, "SuspendingLiveSynchronization",
                           "spec.suspendLiveSynchronization is true: suspending LiveSynchronization " +
                               ls_key + " before the recovery");
      ctx_.recorder.Record(ctx_.management, ls, kEventNormal, "SuspendedForRecovery",
                           "suspended by TaskRun " + key.ObjectKey());
      ctx_.logger.Info("suspending a LiveSynchronization before recovery",
                       {{"liveSynchronization", ls_key}, {"taskRun", key.ObjectKey()}});
    }
    // Wait for its components to stop (the LiveSynchronization's reconcile does it).
    ctx_.queue.AddAfter(key, std::chrono::milliseconds(200));
    return true;
  }
  if (running && !suspended) {
    const std::string message = "LiveSynchronization " + ls_key +
                                " is still running and may overwrite recovered objects; set "
                                "spec.suspendLiveSynchronization: true on the TaskRun to suspend it first";
    ctx_.recorder.Record(client, taskrun, kEventWarning, "LiveSynchronizationRunning", message);
    ctx_.logger.Warn("recovery while the LiveSynchronization runs",
                     {{"liveSynchronization", ls_key}, {"taskRun", key.ObjectKey()}});
    const json* old = FieldAt(taskrun, "status.conditions");
    json conditions = old != nullptr && old->is_array() ? *old : json::array();
    SetCondition(
        conditions,
        {"LiveSynchronizationRunning", ConditionStatus::kTrue, "LiveSynchronizationRunning", message},
        IntOr(taskrun, "metadata.generation"), ctx_.Now());
    json patch = {{"status", {{"phase", "Pending"}, {"conditions", conditions}}}};
    (void)client.Patch(TaskRunRef(key.ns, key.name, "status"), kube::PatchType::kMerge, patch.dump());
  }
  return false;
}

void TaskRunReconciler::Refuse(const QueueKey& key, kube::Client& client, const json& taskrun,
                               const std::string& message) {
  json patch = {{"status", {{"phase", "Failed"}, {"completionTime", ctx_.Now()}, {"message", message}}}};
  auto patched = client.Patch(TaskRunRef(key.ns, key.name, "status"), kube::PatchType::kMerge, patch.dump());
  if (!patched.ok() && patched.status().code() != Code::kNotFound) {
    ctx_.logger.Warn("could not update TaskRun status",
                     {{"taskRun", key.ObjectKey()}, {"error", patched.status().ToString()}});
    ctx_.queue.AddAfter(key, std::chrono::seconds(5));
    return;
  }
  ctx_.recorder.Record(client, taskrun, kEventWarning, "RecoveryRefused", message);
  ctx_.logger.Warn("taskrun refused", {{"taskRun", key.ObjectKey()}, {"reason", message}});
}

void TaskRunReconciler::Start(const QueueKey& key, DestinationCluster& cluster, const json& taskrun,
                              const std::string& job_id, const Admission& admission) {
  runtime::JobSpec job{.id = job_id, .binary = "restorer"};
  job.args = {"--destination-kubeconfig"};
  if (cluster.access.own) {
    job.args.push_back(cluster.access.own_kubeconfig_path);  // "" = in-cluster
  } else {
    job.args.push_back("{file:kubeconfig}");
    job.files = {{"kubeconfig", cluster.access.kubeconfig}};
  }
  const std::string level =
      ctx_.options.component_log_level.empty() ? "info" : ctx_.options.component_log_level;
  job.args.insert(job.args.end(), {"--namespace", key.ns, "--taskrun", key.name, "--log-level", level});
  std::string ls_key;
  if (admission.ls) ls_key = kube::meta::Namespace(*admission.ls) + "/" + kube::meta::Name(*admission.ls);
  {
    std::lock_guard lock(mu_);
    jobs_[job_id] = Job{key, ls_key, admission.task};
  }
  Status started = ctx_.runtime.RunJob(job);
  if (!started.ok()) {
    {
      std::lock_guard lock(mu_);
      jobs_.erase(job_id);
    }
    if (started.code() == Code::kAlreadyExists) return;
    ctx_.recorder.Record(*cluster.client, taskrun, kEventWarning, "RecoveryNotStarted", started.message());
    ctx_.logger.Error("could not start the restorer",
                      {{"taskRun", key.ObjectKey()}, {"error", started.ToString()}});
    ctx_.queue.AddAfter(key, std::chrono::seconds(10));
    return;
  }
  ctx_.logger.Info("recovery started", {{"taskRun", key.ObjectKey()},
                                        {"task", admission.task},
                                        {"job", job_id},
                                        {"destination", key.cluster}});
  ctx_.recorder.Record(*cluster.client, taskrun, kEventNormal, "RecoveryStarted",
                       "running Task " + admission.task + " with the restorer");
}

void TaskRunReconciler::HandleFinished(const QueueKey& key, kube::Client& client, const Finished& finished,
                                       const std::string& job_id) {
  if (finished.exit_code == kRestorerExitNotClaimed) {
    // Another restorer claimed the TaskRun first: it reports, this one touched nothing.
    ctx_.logger.Info("taskrun claimed by another restorer", {{"taskRun", key.ObjectKey()}, {"job", job_id}});
    return;
  }
  // Judge from the TaskRun as it is now, never from a possibly stale cache: on error, try
  // again later rather than mark a run that may have succeeded as Failed.
  auto retry_later = [&] {
    {
      std::lock_guard lock(mu_);
      finished_[job_id] = finished;
    }
    ctx_.queue.AddAfter(key, std::chrono::seconds(5));
  };
  auto fresh = client.Get(TaskRunRef(key.ns, key.name));
  if (!fresh.ok()) {
    if (fresh.status().code() == Code::kNotFound) return;  // deleted meanwhile
    ctx_.logger.Warn("could not read a finished TaskRun",
                     {{"taskRun", key.ObjectKey()}, {"error", fresh.status().ToString()}});
    retry_later();
    return;
  }
  const json& tr = *fresh;
  const std::string final_phase = StringOr(tr, "status.phase");
  if (!IsFinal(final_phase)) {
    json patch = {{"status",
                   {{"phase", "Failed"},
                    {"completionTime", ctx_.Now()},
                    {"message", "the restorer exited with code " + std::to_string(finished.exit_code) +
                                    " without recording a result; see its log under the controller's work "
                                    "directory (jobs/" +
                                    job_id + ")"}}}};
    auto patched =
        client.Patch(TaskRunRef(key.ns, key.name, "status"), kube::PatchType::kMerge, patch.dump());
    if (!patched.ok() && patched.status().code() != Code::kNotFound) {
      ctx_.logger.Warn("could not update TaskRun status",
                       {{"taskRun", key.ObjectKey()}, {"error", patched.status().ToString()}});
      retry_later();
      return;
    }
    ctx_.recorder.Record(client, tr, kEventWarning, "RecoveryFailed", patch["status"]["message"]);
    return;
  }
  const std::string summary = "Task " + finished.job.task + ": " +
                              std::to_string(IntOr(tr, "status.objectsPatched")) + " object(s) patched, " +
                              std::to_string(IntOr(tr, "status.objectsSkipped")) + " skipped, " +
                              std::to_string(IntOr(tr, "status.objectsFailed")) + " failed in " +
                              StringOr(tr, "status.duration", "?");
  const bool ok = final_phase == "Succeeded";
  ctx_.recorder.Record(client, tr, ok ? kEventNormal : kEventWarning,
                       ok ? "RecoverySucceeded" : "RecoveryFailed",
                       ok ? summary : summary + ": " + StringOr(tr, "status.message"));
  ctx_.logger.Info(ok ? "recovery succeeded" : "recovery failed",
                   {{"taskRun", key.ObjectKey()}, {"summary", summary}});
  // The LiveSynchronization from the controller's own mapping, not from the status.
  if (!finished.job.ls_key.empty() && ctx_.livesyncs != nullptr) {
    if (auto ls = ctx_.livesyncs->store().Get(finished.job.ls_key); ls && ls->object) {
      ctx_.recorder.Record(
          ctx_.management, *ls->object, ok ? kEventNormal : kEventWarning, "Recovery",
          "TaskRun " + key.ObjectKey() + " " + (ok ? "succeeded" : "failed") + ": " + summary);
    }
  }
}

}  // namespace kubesync::controller
