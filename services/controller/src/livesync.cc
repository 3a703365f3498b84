// LiveSynchronization and KubernetesCluster reconciliation (see controller.h).
#include <functional>

#include "conditions.h"
#include "controller.h"
#include "kubesync/kube/namespaces.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/plan/parse.h"
#include "kubesync/recovery/task.h"
#include "kubesync/transform/mark.h"

namespace kubesync::controller {

using nlohmann::json;

namespace {

const json kNoObject = json::object();

// The documented component names of spec.config.components and the binaries they run.
struct ComponentBinary {
  const char* config_name;
  const char* binary;
};
constexpr ComponentBinary kPipeline[] = {
    {"eventsListener", "eventslistener"},
    {"processor", "processor"},
    {"synchronizer", "synchronizer"},
    {"reconciler", "reconciler"}};

std::string JoinErrors(const std::vector<plan::FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.ToString();
  }
  return out;
}

// A merge patch that makes the object's status exactly `status` (keys no longer present
// are removed with null).
json StatusPatch(const json& old_status, const json& status) {
  json patch = status;
  if (old_status.is_object()) {
    for (const auto& [k, _] : old_status.items()) {
      if (!status.contains(k)) patch[k] = nullptr;
    }
  }
  return {{"status", patch}};
}

}  // namespace

void Controller::ReportLiveSyncStatus(const json& ls, json status) {
  const json old = ls.value("status", json());
  if (StableStatus(old) == StableStatus(status)) return;
  const json meta = kube::meta::Metadata(ls);
  auto r = management_->Patch({.group = std::string(kAutomationGroup),
                               .version = std::string(kApiVersion),
                               .resource = "livesynchronizations",
                               .ns = meta.value("namespace", ""),
                               .name = meta.value("name", ""),
                               .subresource = "status"},
                              kube::PatchType::kMerge, StatusPatch(old, status).dump());
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    logger_.Warn("could not update LiveSynchronization status",
                 {{"liveSynchronization", meta.value("namespace", "") + "/" + meta.value("name", "")},
                  {"error", r.status().ToString()}});
  }
}

void Controller::ReconcileLiveSync(const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  const std::string queue_key = "ls/" + key;
  auto entry = livesyncs_->store().Get(key);
  if (!entry || !entry->object) {
    {
      std::lock_guard lock(mu_);
      live_syncs_.erase(key);
    }
    // Stopped whatever the controller's record says: a set whose Apply failed part-way
    // may still have processes running.
    Status stopped = runtime_->Stop(transform::LiveSynchronizationId(ns, name));
    if (stopped.code() != Code::kNotFound) {
      logger_.Info("LiveSynchronization deleted: components stopped; destination objects and the Task are kept",
                   {{"liveSynchronization", key}, {"stop", stopped.ok() ? "ok" : stopped.ToString()}});
    }
    return;
  }
  const json ls = *entry->object;
  const int64_t generation = kube::meta::Metadata(ls).value("generation", int64_t{0});
  const std::string id = transform::LiveSynchronizationId(ns, name);
  LiveSyncState* state;
  {
    std::lock_guard lock(mu_);
    state = &live_syncs_[key];
    state->id = id;
  }
  const json old_status = ls.value("status", json::object());
  json status = json::object();
  json conditions = old_status.is_object() ? old_status.value("conditions", json::array()) : json::array();
  const std::string now = Now();
  auto set = [&](std::string type, std::string st, std::string reason, std::string message) {
    SetCondition(conditions, {std::move(type), std::move(st), std::move(reason), std::move(message)}, generation,
                 now);
  };
  auto finish = [&](std::string phase) {
    status["phase"] = std::move(phase);
    status["observedGeneration"] = generation;
    status["conditions"] = conditions;
    ReportLiveSyncStatus(ls, status);
  };
  // Stops the set whatever the controller's record says (an Apply that failed part-way
  // may have left processes running); true when something was running.
  auto stop_set = [&] {
    Status s = runtime_->Stop(id);
    if (!s.ok() && s.code() != Code::kNotFound) {
      logger_.Warn("could not stop components", {{"liveSynchronization", key}, {"error", s.ToString()}});
    }
    const bool was = state->applied.has_value() || s.ok();
    state->applied.reset();
    return was;
  };
  // One Event per distinct situation and generation, so a resync does not repeat it.
  auto event_once = [&](std::string_view type, std::string_view reason, const std::string& message) {
    const std::string event_key = std::string(reason) + "/" + std::to_string(generation) + "/" + message;
    if (state->last_event_key == event_key) return;
    state->last_event_key = event_key;
    recorder_.Record(*management_, ls, type, reason, message);
  };

  // 1. Validate: nothing starts from an invalid configuration.
  plan::ParseReport report;
  auto plan = plan::ParseLiveSynchronization(ls, {.operator_namespace = options_.operator_namespace}, &report);
  if (!plan.ok()) {
    const std::string message = report.errors.empty() ? plan.status().message() : JoinErrors(report.errors);
    const bool was_running = stop_set();
    set("Invalid", "True", "InvalidConfiguration", message);
    set("Ready", "False", "InvalidConfiguration", "the configuration is invalid; nothing runs until it is fixed");
    json errors = json::array();
    for (const auto& e : report.errors) errors.push_back(e.ToString());
    logger_.Error("invalid LiveSynchronization", {{"liveSynchronization", key}, {"errors", errors}});
    event_once(kEventWarning, "InvalidConfiguration", message);
    if (was_running) recorder_.Record(*management_, ls, kEventNormal, "Stopped", "components stopped: invalid configuration");
    finish("Invalid");
    return;  // a spec change brings it back
  }
  set("Invalid", "False", "Valid", "");
  if (!report.warnings.empty()) event_once(kEventWarning, "ConfigurationWarning", JoinErrors(report.warnings));

  // 2. Objects synchronized so far, whatever happens next.
  if (object_state_) {
    if (auto stats = object_state_->GetStats(id); stats.ok()) {
      status["objectsSynchronized"] = stats->objects_synchronized;
      if (stats->last_sync_unix_ms > 0) {
        status["lastSyncTime"] =
            FormatRfc3339(WallTime(std::chrono::milliseconds(stats->last_sync_unix_ms)));
      }
    }
  }

  // 3. Suspended: stop the set, keep the state (resuming picks up where it stopped).
  if (plan->suspend) {
    if (stop_set()) {
      logger_.Info("LiveSynchronization suspended: components stopped", {{"liveSynchronization", key}});
      recorder_.Record(*management_, ls, kEventNormal, "Suspended", "spec.suspend is true: components stopped");
    }
    set("Suspended", "True", "SuspendedBySpec", "spec.suspend is true");
    set("Ready", "False", "Suspended", "suspended");
    set("Degraded", "False", "Suspended", "");
    finish("Suspended");
    queue_.AddAfter(queue_key, options_.resync_interval);
    return;
  }
  set("Suspended", "False", "Active", "");

  // 4. The clusters.
  auto source = resolver_.Resolve(ns, plan->source_cluster);
  auto destination = resolver_.Resolve(ns, plan->destination_cluster);
  if (!source.ok() || !destination.ok()) {
    const std::string message = !source.ok() ? "spec.config.sourceName: " + source.status().message()
                                             : "spec.config.destinationName: " + destination.status().message();
    set("Ready", "False", "ClusterUnavailable", message);
    set("Degraded", state->applied ? "True" : "False", "ClusterUnavailable", state->applied ? message : "");
    event_once(kEventWarning, "ClusterUnavailable", message);
    logger_.Warn("cannot resolve the clusters of a LiveSynchronization", {{"liveSynchronization", key}, {"error", message}});
    finish(state->applied ? "Degraded" : "Pending");
    queue_.AddAfter(queue_key, std::min<std::chrono::milliseconds>(options_.resync_interval, std::chrono::seconds(5)));
    return;
  }

  // 5. The Task in the destination, and a watch on the TaskRuns there.
  Destination* dest = EnsureDestination(destination->kubeconfig);
  if (dest != nullptr) {
    Status task = EnsureTask(*dest->client, recovery::DeriveTask(*plan, ns));
    if (!task.ok()) {
      event_once(kEventWarning, "TaskNotReady", "the recovery Task in the destination: " + task.message());
      logger_.Warn("could not keep the recovery Task", {{"liveSynchronization", key}, {"error", task.ToString()}});
    }
  }

  // 6. The component set.
  runtime::ComponentSetSpec spec{.id = id,
                                 .plan_json = plan::ToJson(*plan).dump(),
                                 .source_kubeconfig = source->kubeconfig,
                                 .destination_kubeconfig = destination->kubeconfig,
                                 .log_level = options_.component_log_level.empty() ? "info"
                                                                                  : options_.component_log_level};
  for (const auto& c : kPipeline) {
    runtime::ComponentSpec component{.name = c.binary};
    if (auto it = plan->components.find(c.config_name); it != plan->components.end()) {
      component.replicas = std::max(1, it->second.replicas.value_or(1));
      if (options_.component_log_level.empty()) component.log_level = it->second.log_level.value_or("");
    }
    spec.components.push_back(std::move(component));
  }
  const bool changed = !state->applied || !(*state->applied == spec);
  if (changed) {
    const bool first = !state->applied;
    Status applied = runtime_->Apply(spec);
    if (!applied.ok()) {
      set("Ready", "False", "StartFailed", applied.message());
      set("Degraded", "True", "StartFailed", applied.message());
      event_once(kEventWarning, "StartFailed", applied.message());
      logger_.Error("could not start components", {{"liveSynchronization", key}, {"error", applied.ToString()}});
      finish("Failed");
      queue_.AddAfter(queue_key, std::chrono::seconds(10));
      return;
    }
    state->applied = spec;
    state->reported_restarts = 0;
    std::string what;
    for (const auto& c : spec.components) {
      what += (what.empty() ? "" : ", ") + c.name + " x" + std::to_string(c.replicas);
    }
    logger_.Info(first ? "components started" : "components restarted with a new configuration",
                 {{"liveSynchronization", key}, {"components", what}});
    recorder_.Record(*management_, ls, kEventNormal, first ? "Started" : "Updated",
                     (first ? "components started: " : "configuration changed, components restarted: ") + what);
  }
  status["conditions"] = conditions;
  RefreshRunningStatus(ls, *state, status);
  conditions = status["conditions"];
  finish(status.value("phase", "Running"));
  queue_.AddAfter(queue_key, options_.resync_interval);
}

void Controller::RefreshRunningStatus(const json& ls, LiveSyncState& state, json& status) {
  const int64_t generation = kube::meta::Metadata(ls).value("generation", int64_t{0});
  const std::string now = Now();
  json& conditions = status["conditions"];
  auto st = runtime_->State(state.id);
  if (!st) {
    SetCondition(conditions, {"Ready", "False", "NotStarted", "components are not running"}, generation, now);
    status["phase"] = "Pending";
    return;
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
    if (!c.running) not_running += (not_running.empty() ? "" : ", ") + who + (c.last_exit.empty() ? "" : " (" + c.last_exit + ")");
    if (c.restarts > 0 && !c.last_exit.empty()) restarted = who + " (" + c.last_exit + ")";
  }
  status["components"] = components;
  if (restarts > state.reported_restarts) {
    recorder_.Record(*management_, ls, kEventWarning, "ComponentRestarted",
                     "component " + restarted + " exited and was restarted; " + std::to_string(restarts) +
                         " restart(s) since start");
    logger_.Warn("component restarted", {{"liveSynchronization", state.id}, {"component", restarted},
                                         {"restarts", restarts}});
    state.reported_restarts = restarts;
  }
  if (st->healthy) {
    SetCondition(conditions, {"Ready", "True", "Running", "all components are running"}, generation, now);
    SetCondition(conditions, {"Degraded", "False", "AllComponentsRunning", ""}, generation, now);
    status["phase"] = "Running";
  } else {
    const std::string message = not_running.empty() ? "a component gave up" : "not running: " + not_running;
    SetCondition(conditions, {"Ready", "False", "ComponentsNotRunning", message}, generation, now);
    SetCondition(conditions, {"Degraded", "True", "ComponentsNotRunning", message}, generation, now);
    status["phase"] = "Degraded";
  }
}

Status Controller::EnsureTask(kube::Client& destination, const json& task) {
  const json meta = task.at("metadata");
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
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
    logger_.Info("recovery Task created", {{"task", ns + "/" + name}});
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
  logger_.Info("recovery Task updated", {{"task", ns + "/" + name}});
  return OkStatus();
}

Controller::Destination* Controller::EnsureDestination(const std::string& kubeconfig) {
  char key_buf[20];
  std::snprintf(key_buf, sizeof(key_buf), "%016zx", std::hash<std::string>{}(kubeconfig));
  const std::string key = key_buf;
  {
    std::lock_guard lock(mu_);
    if (auto it = destinations_.find(key); it != destinations_.end()) return &it->second;
  }
  auto client = resolver_.ClientFor(kubeconfig);
  if (!client.ok()) {
    logger_.Warn("cannot use the destination kubeconfig", {{"error", client.status().ToString()}});
    return nullptr;
  }
  Destination d{.key = key, .kubeconfig = kubeconfig, .client = *client, .taskruns = nullptr};
  kube::InformerOptions options{.resource = {.group = std::string(recovery::kTaskGroup),
                                             .version = std::string(recovery::kTaskVersion),
                                             .resource = std::string(recovery::kTaskRunsResource)},
                                .logger = logger_};
  auto add = [this, key](const json& o) {
    const json meta = o.value("metadata", json::object());
    queue_.Add("tr/" + key + "/" + meta.value("namespace", "") + "/" + meta.value("name", ""));
  };
  d.taskruns = std::make_unique<kube::Informer>(
      *d.client, options,
      kube::InformerHandlers{.on_add = [add](const json& o, bool) { add(o); },
                             .on_update = [add](const json*, const json& o) { add(o); },
                             .on_delete = [](const json&, bool) {}});
  std::lock_guard lock(mu_);
  auto [it, _] = destinations_.emplace(key, std::move(d));
  it->second.taskruns->Start();
  logger_.Info("watching TaskRuns in a destination cluster", {{"destination", key}});
  return &it->second;
}

void Controller::ReconcileCluster(const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  auto entry = clusters_->store().Get(key);
  if (!entry || !entry->object) return;
  const json kc = *entry->object;
  const int64_t generation = kube::meta::Metadata(kc).value("generation", int64_t{0});
  const json old_status = kc.value("status", json::object());
  json conditions = old_status.is_object() ? old_status.value("conditions", json::array()) : json::array();
  std::string version;
  std::string error;
  auto resolved = resolver_.Resolve(ns, name);
  if (!resolved.ok()) {
    error = resolved.status().message();
  } else if (auto client = resolver_.ClientFor(resolved->kubeconfig, /*probe=*/true); !client.ok()) {
    error = "kubeconfig: " + client.status().message();
  } else if (auto v = ClusterResolver::ServerVersion(**client); !v.ok()) {
    error = "cluster not reachable: " + v.status().message();
  } else {
    version = *v;
  }
  const bool reachable = error.empty();
  const std::string now = Now();
  SetCondition(conditions,
               {"Ready", reachable ? "True" : "False", reachable ? "Reachable" : "Unreachable",
                reachable ? "server " + version : error},
               generation, now);
  json status = {{"reachable", reachable},
                 {"serverVersion", reachable ? version : old_status.value("serverVersion", "")},
                 {"lastProbeTime", now},
                 {"message", error},
                 {"conditions", conditions}};
  const bool was_reachable = old_status.is_object() && old_status.value("reachable", false);
  if (!old_status.is_object() || !old_status.contains("reachable") || was_reachable != reachable) {
    recorder_.Record(*management_, kc, reachable ? kEventNormal : kEventWarning,
                     reachable ? "Reachable" : "Unreachable", reachable ? "server " + version : error);
    logger_.Info(reachable ? "cluster reachable" : "cluster unreachable",
                 {{"kubernetesCluster", key}, {"serverVersion", version}, {"error", error}});
  }
  auto r = management_->Patch({.group = std::string(kAssetsGroup),
                               .version = std::string(kApiVersion),
                               .resource = "kubernetesclusters",
                               .ns = ns,
                               .name = name,
                               .subresource = "status"},
                              kube::PatchType::kMerge, StatusPatch(old_status, status).dump());
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    logger_.Warn("could not update KubernetesCluster status", {{"kubernetesCluster", key}, {"error", r.status().ToString()}});
  }
  queue_.AddAfter("kc/" + key, options_.probe_interval);
}

}  // namespace kubesync::controller
