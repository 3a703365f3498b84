#include "livesync.h"

#include <filesystem>

#include "cleanup.h"
#include "kubesync/kube/namespaces.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/recovery/task.h"
#include "kubesync/transform/mark.h"
#include "problems.h"
#include "reconciler_status.h"
#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

namespace {

// The documented component names of spec.config.components and the binaries the set runs
// for them. A new component of the set is added here.
struct ComponentBinary {
  const char* config_name;
  const char* binary;
};
constexpr ComponentBinary kPipeline[] = {{"eventsListener", "eventslistener"},
                                         {"processor", "processor"},
                                         {"synchronizer", "synchronizer"},
                                         {"reconciler", "reconciler"}};

std::vector<std::string> PipelineNames() {
  std::vector<std::string> names;
  for (const auto& c : kPipeline) names.push_back(c.config_name);
  return names;
}

std::string Join(const std::vector<plan::FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e.ToString();
  return out;
}

constexpr auto kTrue = ConditionStatus::kTrue;
constexpr auto kFalse = ConditionStatus::kFalse;

}  // namespace

std::vector<plan::FieldError> UnusedFields(const plan::Plan& plan,
                                           const std::vector<std::string>& components_run) {
  const std::string config = "spec.config";
  std::vector<plan::FieldError> out;
  if (plan.observability.enabled || plan.observability.interval.count() > 0) {
    out.push_back({config + ".observability", "accepted but not acted on: kubesync exports no metrics yet"});
  }
  if (plan.bucket) {
    out.push_back({config + ".bucketName",
                   "accepted but not acted on: buckets are not supported yet; originals are kept in the "
                   "kubesync.io/original-values annotation"});
  }
  for (const auto& [name, settings] : plan.components) {
    const std::string at = config + ".components." + name;
    if (std::find(components_run.begin(), components_run.end(), name) == components_run.end()) {
      out.push_back({at,
                     "accepted but not acted on: the process runtime runs no such process for a "
                     "LiveSynchronization"});
      continue;
    }
    if (settings.image_pull_policy) {
      out.push_back(
          {at + ".imagePullPolicy", "accepted but not acted on by the process runtime (no images)"});
    }
    if (!settings.resources.is_null()) {
      out.push_back(
          {at + ".resources", "accepted but not acted on by the process runtime (no resource limits)"});
    }
  }
  return out;
}

void LiveSyncReconciler::OnSetEvent(const std::string& set_id) {
  std::lock_guard lock(mu_);
  for (const auto& [key, state] : states_) {
    if (state.id == set_id) ctx_.queue.Add(key);
  }
}

void LiveSyncReconciler::Forget(const QueueKey& key, const std::string& id) {
  Status stopped = ctx_.runtime.Stop(id);
  ctx_.destinations.Release(key.ToString());
  {
    std::lock_guard lock(mu_);
    states_.erase(key);
  }
  if (stopped.code() != Code::kNotFound) {
    ctx_.logger.Info(
        "LiveSynchronization deleted: components stopped; destination objects and the Task are kept",
        {{"liveSynchronization", key.ObjectKey()}, {"stop", stopped.ok() ? "ok" : stopped.ToString()}});
  }
}

void LiveSyncReconciler::Reconcile(const QueueKey& key) {
  const std::string id = transform::LiveSynchronizationId(key.ns, key.name);
  auto entry = ctx_.livesyncs->store().Get(key.ObjectKey());
  if (!entry || !entry->object) {
    Forget(key, id);  // deleted without our finalizer (or after it was removed)
    return;
  }
  Pass pass{.key = key, .ls = *entry->object, .id = id};
  pass.generation = IntOr(pass.ls, "metadata.generation");
  {
    std::lock_guard lock(mu_);
    pass.state = &states_[key];
    pass.state->id = id;
  }
  static constexpr Step kSteps[] = {
      &LiveSyncReconciler::Finalize,         &LiveSyncReconciler::EnsureFinalizer,
      &LiveSyncReconciler::Validate,         &LiveSyncReconciler::WarnUnused,
      &LiveSyncReconciler::ReadStats,        &LiveSyncReconciler::ResolveDestination,
      &LiveSyncReconciler::WatchDestination, &LiveSyncReconciler::Suspend,
      &LiveSyncReconciler::ResolveSource,    &LiveSyncReconciler::BuildComponents,
      &LiveSyncReconciler::ApplySet,         &LiveSyncReconciler::ReadRunning,
      &LiveSyncReconciler::KeepTask,
  };
  for (Step step : kSteps) {
    if ((this->*step)(pass) == Next::kStop) break;
  }
  Record(pass);
}

void LiveSyncReconciler::Record(Pass& pass) {
  State& state = *pass.state;
  // Events: once per distinct (reason, message) and generation, so a resync does not repeat.
  if (state.events_generation != pass.generation) {
    state.events_seen.clear();
    state.events_generation = pass.generation;
  }
  for (const auto& e : pass.events) {
    if (e.once && !state.events_seen.insert(e.reason + "/" + e.message).second) continue;
    ctx_.recorder.Record(ctx_.management, pass.ls, e.type, e.reason, e.message);
  }
  if (pass.write_status) {
    const json* old = FieldAt(pass.ls, "status");
    const json old_status = old != nullptr && old->is_object() ? *old : json::object();
    json conditions = old_status.contains("conditions") ? old_status["conditions"] : json::array();
    const std::string now = ctx_.Now();
    for (const auto& c : pass.conditions) SetCondition(conditions, c, pass.generation, now);
    json status = pass.status;
    status["phase"] = pass.phase.empty() ? "Pending" : pass.phase;
    status["observedGeneration"] = pass.generation;
    status["conditions"] = conditions;
    if (StableStatus(old_status) != StableStatus(status)) {
      auto r = ctx_.management.Patch({.group = std::string(kAutomationGroup),
                                      .version = std::string(kApiVersion),
                                      .resource = "livesynchronizations",
                                      .ns = pass.key.ns,
                                      .name = pass.key.name,
                                      .subresource = "status"},
                                     kube::PatchType::kMerge, StatusPatch(old_status, status).dump());
      if (!r.ok() && r.status().code() != Code::kNotFound) {
        ctx_.logger.Warn("could not update LiveSynchronization status",
                         {{"liveSynchronization", pass.key.ObjectKey()}, {"error", r.status().ToString()}});
      }
    }
  }
  if (pass.requeue) ctx_.queue.AddAfter(pass.key, *pass.requeue);
}

bool LiveSyncReconciler::StopSet(Pass& pass) {
  Status s = ctx_.runtime.Stop(pass.id);
  if (!s.ok() && s.code() != Code::kNotFound) {
    ctx_.logger.Warn("could not stop components",
                     {{"liveSynchronization", pass.key.ObjectKey()}, {"error", s.ToString()}});
  }
  const bool was = pass.state->applied.has_value() || s.ok();
  pass.state->applied.reset();
  return was;
}

LiveSyncReconciler::Next LiveSyncReconciler::Finalize(Pass& pass) {
  if (FieldAt(pass.ls, "metadata.deletionTimestamp") == nullptr) return Next::kContinue;
  pass.write_status = false;
  const json* finalizers = FieldAt(pass.ls, "metadata.finalizers");
  json kept = json::array();
  bool ours = false;
  if (finalizers != nullptr && finalizers->is_array()) {
    for (const auto& f : *finalizers) {
      if (f.is_string() && f.get<std::string>() == kCleanupFinalizer) {
        ours = true;
      } else {
        kept.push_back(f);
      }
    }
  }
  if (!ours) return Next::kStop;  // someone else's finalizer: wait for the object to go
  StopSet(pass);
  ctx_.destinations.Release(pass.key.ToString());
  Status cleaned = CleanUpLiveSync(ctx_, pass.id);
  if (!cleaned.ok()) {
    ctx_.logger.Warn("could not clean up a deleted LiveSynchronization; retrying",
                     {{"liveSynchronization", pass.key.ObjectKey()}, {"error", cleaned.ToString()}});
    pass.events.push_back({kEventWarning, "CleanupFailed", cleaned.message()});
    pass.requeue = std::chrono::seconds(5);
    return Next::kStop;
  }
  json patch = {
      {"metadata", {{"finalizers", kept}, {"resourceVersion", kube::meta::ResourceVersion(pass.ls)}}}};
  auto r = ctx_.management.Patch({.group = std::string(kAutomationGroup),
                                  .version = std::string(kApiVersion),
                                  .resource = "livesynchronizations",
                                  .ns = pass.key.ns,
                                  .name = pass.key.name},
                                 kube::PatchType::kMerge, patch.dump());
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    pass.requeue = std::chrono::seconds(1);
    return Next::kStop;
  }
  ctx_.logger.Info(
      "LiveSynchronization deleted: components stopped, bus, state and files cleaned up; "
      "destination objects and the Task are kept",
      {{"liveSynchronization", pass.key.ObjectKey()}});
  return Next::kStop;
}

LiveSyncReconciler::Next LiveSyncReconciler::EnsureFinalizer(Pass& pass) {
  const json* finalizers = FieldAt(pass.ls, "metadata.finalizers");
  json list = finalizers != nullptr && finalizers->is_array() ? *finalizers : json::array();
  for (const auto& f : list) {
    if (f.is_string() && f.get<std::string>() == kCleanupFinalizer) return Next::kContinue;
  }
  list.push_back(std::string(kCleanupFinalizer));
  json patch = {
      {"metadata", {{"finalizers", list}, {"resourceVersion", kube::meta::ResourceVersion(pass.ls)}}}};
  auto r = ctx_.management.Patch({.group = std::string(kAutomationGroup),
                                  .version = std::string(kApiVersion),
                                  .resource = "livesynchronizations",
                                  .ns = pass.key.ns,
                                  .name = pass.key.name},
                                 kube::PatchType::kMerge, patch.dump());
  if (!r.ok()) {
    ctx_.logger.Warn("could not add the cleanup finalizer",
                     {{"liveSynchronization", pass.key.ObjectKey()}, {"error", r.status().ToString()}});
    pass.requeue = std::chrono::seconds(1);
  }
  return Next::kContinue;  // the update event brings the key back; go on meanwhile
}

LiveSyncReconciler::Next LiveSyncReconciler::Validate(Pass& pass) {
  auto plan = plan::ParseLiveSynchronization(pass.ls, {.operator_namespace = ctx_.options.operator_namespace},
                                             &pass.report);
  if (plan.ok()) {
    pass.plan = std::move(*plan);
    pass.conditions.push_back({"Invalid", kFalse, "Valid", ""});
    return Next::kContinue;
  }
  const std::string message = pass.report.errors.empty() ? plan.status().message() : Join(pass.report.errors);
  const bool was_running = StopSet(pass);
  ctx_.destinations.Release(pass.key.ToString());
  pass.conditions.push_back({"Invalid", kTrue, "InvalidConfiguration", message});
  pass.conditions.push_back({"Ready", kFalse, "InvalidConfiguration",
                             "the configuration is invalid; nothing runs until it is fixed"});
  json errors = json::array();
  for (const auto& e : pass.report.errors) errors.push_back(e.ToString());
  ctx_.logger.Error("invalid LiveSynchronization",
                    {{"liveSynchronization", pass.key.ObjectKey()}, {"errors", errors}});
  pass.events.push_back({kEventWarning, "InvalidConfiguration", message});
  if (was_running)
    pass.events.push_back({kEventNormal, "Stopped", "components stopped: invalid configuration", false});
  pass.phase = "Invalid";
  return Next::kStop;  // a spec change brings it back
}

LiveSyncReconciler::Next LiveSyncReconciler::WarnUnused(Pass& pass) {
  std::vector<plan::FieldError> warnings = pass.report.warnings;
  for (auto& w : UnusedFields(*pass.plan, PipelineNames())) warnings.push_back(std::move(w));
  if (warnings.empty()) {
    pass.conditions.push_back({"ConfigurationWarning", kFalse, "NoWarnings", ""});
    return Next::kContinue;
  }
  const std::string message = Join(warnings);
  pass.conditions.push_back({"ConfigurationWarning", kTrue, "FieldsNotActedOn", message});
  pass.events.push_back({kEventWarning, "ConfigurationWarning", message});
  return Next::kContinue;
}

LiveSyncReconciler::Next LiveSyncReconciler::ReadStats(Pass& pass) {
  // The reconciler's last pass: status.reconciliation and InSync (Unknown while Redis is
  // unreachable: ReadReconcilerStatus takes a null client as unavailable).
  ReconcilerStatus reconciler =
      ReadReconcilerStatus(ctx_.redis, pass.id, pass.plan->resync_period, SystemClock::Get().Now());
  if (!reconciler.reconciliation.is_null()) pass.status["reconciliation"] = reconciler.reconciliation;
  pass.conditions.push_back(reconciler.in_sync);
  // Objects the pipeline gave up on (too large for the bus, parked after failing): a count
  // in the status and a Warning Event naming a few.
  if (ctx_.redis != nullptr) {
    if (auto problems = ReadProblems(*ctx_.redis, pass.id); problems.ok()) {
      pass.status["objectsNotReplicated"] = problems->count;
      if (problems->count > 0) {
        pass.events.push_back({kEventWarning, std::string(kProblemsEventReason), ProblemsMessage(*problems)});
      }
    }
  }
  if (ctx_.object_state == nullptr) return Next::kContinue;
  if (auto stats = ctx_.object_state->GetStats(pass.id); stats.ok()) {
    pass.status["objectsSynchronized"] = stats->objects_synchronized;
    if (stats->last_sync_unix_ms > 0) {
      pass.status["lastSyncTime"] =
          FormatRfc3339(WallTime(std::chrono::milliseconds(stats->last_sync_unix_ms)));
    }
  }
  return Next::kContinue;
}

// A cluster of the LiveSynchronization cannot be resolved: not Ready, Degraded when a set
// was already running, retried soon.
LiveSyncReconciler::Next LiveSyncReconciler::ClusterUnavailable(Pass& pass, const std::string& message) {
  pass.conditions.push_back({"Ready", kFalse, "ClusterUnavailable", message});
  pass.conditions.push_back({"Degraded", ConditionIf(pass.state->applied.has_value()), "ClusterUnavailable",
                             pass.state->applied ? message : ""});
  pass.events.push_back({kEventWarning, "ClusterUnavailable", message});
  ctx_.logger.Warn("cannot resolve the clusters of a LiveSynchronization",
                   {{"liveSynchronization", pass.key.ObjectKey()}, {"error", message}});
  pass.phase = pass.state->applied ? "Degraded" : "Pending";
  pass.requeue = std::min<std::chrono::milliseconds>(ctx_.options.resync_interval, std::chrono::seconds(5));
  return Next::kStop;
}

LiveSyncReconciler::Next LiveSyncReconciler::ResolveDestination(Pass& pass) {
  auto destination = ctx_.resolver.Resolve(pass.key.ns, pass.plan->destination_cluster);
  if (destination.ok()) {
    pass.destination = std::move(*destination);
    return Next::kContinue;
  }
  return ClusterUnavailable(pass, "spec.config.destinationName: " + destination.status().message());
}

LiveSyncReconciler::Next LiveSyncReconciler::WatchDestination(Pass& pass) {
  auto server = Destinations::ServerOf(pass.destination->kubeconfig);
  if (!server.ok()) return Next::kContinue;  // Resolve checked it; nothing to watch otherwise
  auto used = ctx_.destinations.Use(pass.key.ToString(), *server,
                                    ClusterAccess{.kubeconfig = pass.destination->kubeconfig});
  if (!used.ok()) {
    pass.events.push_back({kEventWarning, "TaskRunsNotWatched", used.status().message()});
  }
  return Next::kContinue;
}

LiveSyncReconciler::Next LiveSyncReconciler::Suspend(Pass& pass) {
  if (!pass.plan->suspend) {
    pass.conditions.push_back({"Suspended", kFalse, "Active", ""});
    return Next::kContinue;
  }
  pass.suspended = true;
  if (StopSet(pass)) {
    ctx_.logger.Info("LiveSynchronization suspended: components stopped",
                     {{"liveSynchronization", pass.key.ObjectKey()}});
    pass.events.push_back({kEventNormal, "Suspended", "spec.suspend is true: components stopped", false});
  }
  pass.conditions.push_back({"Suspended", kTrue, "SuspendedBySpec", "spec.suspend is true"});
  pass.conditions.push_back({"Ready", kFalse, "Suspended", "suspended"});
  pass.conditions.push_back({"Degraded", kFalse, "Suspended", ""});
  pass.phase = "Suspended";
  pass.requeue = ctx_.options.resync_interval;
  return Next::kContinue;  // the Task is still kept
}

LiveSyncReconciler::Next LiveSyncReconciler::ResolveSource(Pass& pass) {
  if (pass.suspended) return Next::kContinue;
  auto source = ctx_.resolver.Resolve(pass.key.ns, pass.plan->source_cluster);
  if (source.ok()) {
    pass.source = std::move(*source);
    return Next::kContinue;
  }
  return ClusterUnavailable(pass, "spec.config.sourceName: " + source.status().message());
}

LiveSyncReconciler::Next LiveSyncReconciler::BuildComponents(Pass& pass) {
  if (pass.suspended) return Next::kContinue;
  const std::string& forced_level = ctx_.options.component_log_level;
  pass.spec = runtime::ComponentSetSpec{.id = pass.id,
                                        .plan_json = plan::ToJson(*pass.plan).dump(),
                                        .source_kubeconfig = pass.source->kubeconfig,
                                        .destination_kubeconfig = pass.destination->kubeconfig,
                                        .log_level = forced_level.empty() ? "info" : forced_level};
  for (const auto& c : kPipeline) {
    runtime::ComponentSpec component{.name = c.binary};
    if (auto it = pass.plan->components.find(c.config_name); it != pass.plan->components.end()) {
      component.replicas = std::max(1, it->second.replicas.value_or(1));
      if (forced_level.empty()) component.log_level = it->second.log_level.value_or("");
    }
    pass.spec.components.push_back(std::move(component));
  }
  return Next::kContinue;
}

LiveSyncReconciler::Next LiveSyncReconciler::ApplySet(Pass& pass) {
  if (pass.suspended) return Next::kContinue;
  State& state = *pass.state;
  if (state.applied && *state.applied == pass.spec) return Next::kContinue;
  const bool first = !state.applied;
  Status applied = ctx_.runtime.Apply(pass.spec);
  if (!applied.ok()) {
    pass.conditions.push_back({"Ready", kFalse, "StartFailed", applied.message()});
    pass.conditions.push_back({"Degraded", kTrue, "StartFailed", applied.message()});
    pass.events.push_back({kEventWarning, "StartFailed", applied.message()});
    ctx_.logger.Error("could not start components",
                      {{"liveSynchronization", pass.key.ObjectKey()}, {"error", applied.ToString()}});
    pass.phase = "Failed";
    pass.requeue = std::chrono::seconds(10);
    return Next::kStop;
  }
  state.applied = pass.spec;
  state.reported_restarts = 0;
  std::string what;
  for (const auto& c : pass.spec.components)
    what += (what.empty() ? "" : ", ") + c.name + " x" + std::to_string(c.replicas);
  ctx_.logger.Info(first ? "components started" : "components restarted with a new configuration",
                   {{"liveSynchronization", pass.key.ObjectKey()}, {"components", what}});
  pass.events.push_back(
      {kEventNormal, first ? "Started" : "Updated",
       (first ? "components started: " : "configuration changed, components restarted: ") + what, false});
  return Next::kContinue;
}

LiveSyncReconciler::Next LiveSyncReconciler::ReadRunning(Pass& pass) {
  if (pass.suspended) return Next::kContinue;
  pass.requeue = ctx_.options.resync_interval;
  auto st = ctx_.runtime.State(pass.id);
  if (!st) {
    pass.conditions.push_back({"Ready", kFalse, "NotStarted", "components are not running"});
    pass.phase = "Pending";
    return Next::kContinue;
  }
  json components = json::array();
  std::map<std::string, size_t> index;
  int restarts = 0;
  std::string not_running;
  std::string restarted;
  for (const auto& c : st->components) {
    auto [it, inserted] = index.emplace(c.name, components.size());
    if (inserted) components.push_back({{"name", c.name}, {"replicas", 0}, {"running", 0}, {"restarts", 0}});
    json& entry = components[it->second];
    entry["replicas"] = entry["replicas"].get<int>() + 1;
    entry["running"] = entry["running"].get<int>() + (c.running ? 1 : 0);
    entry["restarts"] = entry["restarts"].get<int>() + c.restarts;
    restarts += c.restarts;
    const std::string who = c.name + "-" + std::to_string(c.replica);
    if (!c.running) {
      not_running +=
          (not_running.empty() ? "" : ", ") + who + (c.last_exit.empty() ? "" : " (" + c.last_exit + ")");
    }
    if (c.restarts > 0 && !c.last_exit.empty()) restarted = who + " (" + c.last_exit + ")";
  }
  pass.status["components"] = components;
  if (restarts > pass.state->reported_restarts) {
    pass.events.push_back({kEventWarning, "ComponentRestarted",
                           "component " + restarted + " exited and was restarted; " +
                               std::to_string(restarts) + " restart(s) since start",
                           false});
    ctx_.logger.Warn("component restarted",
                     {{"liveSynchronization", pass.id}, {"component", restarted}, {"restarts", restarts}});
    pass.state->reported_restarts = restarts;
  }
  if (st->healthy) {
    pass.conditions.push_back({"Ready", kTrue, "Running", "all components are running"});
    pass.conditions.push_back({"Degraded", kFalse, "AllComponentsRunning", ""});
    pass.phase = "Running";
  } else {
    const std::string message = not_running.empty() ? "a component gave up" : "not running: " + not_running;
    pass.conditions.push_back({"Ready", kFalse, "ComponentsNotRunning", message});
    pass.conditions.push_back({"Degraded", kTrue, "ComponentsNotRunning", message});
    pass.phase = "Degraded";
  }
  return Next::kContinue;
}

LiveSyncReconciler::Next LiveSyncReconciler::KeepTask(Pass& pass) {
  // A client that does not retry: an unreachable destination holds this key's worker for
  // one request, and no other key's.
  auto client = ctx_.resolver.ClientFor(pass.destination->kubeconfig, /*probe=*/true);
  if (!client.ok()) return Next::kContinue;
  Status task = EnsureTask(**client, recovery::DeriveTask(*pass.plan, pass.key.ns));
  if (task.ok()) {
    // Say what recovery kubesync derived for transformed fields with no recovery step
    // (also in the Task's kubesync.io/derived-recovery annotation); once per generation.
    if (std::string derived = recovery::DescribeDerivedSteps(recovery::DerivedSteps(*pass.plan));
        !derived.empty()) {
      pass.events.push_back({kEventNormal, "RecoveryDerived", std::move(derived)});
    }
  } else {
    pass.events.push_back(
        {kEventWarning, "TaskNotReady", "the recovery Task in the destination: " + task.message()});
    ctx_.logger.Warn("could not keep the recovery Task",
                     {{"liveSynchronization", pass.key.ObjectKey()}, {"error", task.ToString()}});
  }
  return Next::kContinue;
}

Status LiveSyncReconciler::EnsureTask(kube::Client& destination, const json& task) {
  const std::string ns = kube::meta::Namespace(task);
  const std::string name = kube::meta::Name(task);
  // The namespace may not exist in the destination yet.
  KS_RETURN_IF_ERROR(kube::EnsureNamespace(destination, ns));
  const kube::ResourceRef ref{.group = std::string(recovery::kTaskGroup),
                              .version = std::string(recovery::kTaskVersion),
                              .resource = std::string(recovery::kTasksResource),
                              .ns = ns,
                              .name = name};
  auto existing = destination.Get(ref);
  if (!existing.ok()) {
    if (existing.status().code() != Code::kNotFound) return existing.status();
    kube::ResourceRef collection = ref;
    collection.name.clear();
    auto created = destination.Create(collection, task);
    if (!created.ok()) return created.status();
    ctx_.logger.Info("recovery Task created", {{"task", ns + "/" + name}});
    return OkStatus();
  }
  if (!transform::IsManagedBy(*existing, transform::LiveSynchronizationId(ns, name))) {
    return FailedPreconditionError("a Task \"" + name + "\" already exists in namespace \"" + ns +
                                   "\" and is not managed by this LiveSynchronization; it is left alone");
  }
  if (existing->value("spec", json()) == task["spec"]) return OkStatus();
  json updated = *existing;
  updated["spec"] = task["spec"];
  auto written = destination.Update(ref, updated);
  if (!written.ok()) return written.status();
  ctx_.logger.Info("recovery Task updated", {{"task", ns + "/" + name}});
  return OkStatus();
}

}  // namespace kubesync::controller
