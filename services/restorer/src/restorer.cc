#include "restorer.h"

#include "kubesync/kube/errors.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"

namespace kubesync::restorer {
namespace {

using nlohmann::json;

// The fields of status this binary owns; `conditions` belong to the controller.
constexpr const char* kOwnedFields[] = {"phase",          "startTime",      "completionTime",     "duration",
                                        "objectsPatched", "objectsSkipped", "objectsFailed",      "failures",
                                        "message",        "warnings",       "liveSynchronization"};

std::string PhaseOf(const json& taskrun) {
  const json status = taskrun.value("status", json::object());
  const json phase = status.is_object() ? status.value("phase", json()) : json();
  return phase.is_string() ? phase.get<std::string>() : std::string();
}

// Only a TaskRun nobody has started may be claimed.
bool Claimable(const std::string& phase) { return phase.empty() || phase == "Pending"; }

kube::ResourceRef TaskRunRef(const RestorerOptions& o) {
  return {.group = std::string(recovery::kTaskGroup),
          .version = std::string(recovery::kTaskVersion),
          .resource = std::string(recovery::kTaskRunsResource),
          .ns = o.namespace_,
          .name = o.taskrun};
}

json ObjectField(const RestorerOptions& o, std::string_view resource, const std::string& name) {
  return {{"apiGroup", recovery::kTaskGroup},
          {"apiVersion", recovery::kTaskVersion},
          {"resource", resource},
          {"namespace", o.namespace_},
          {"name", name}};
}

class StatusWriter {
 public:
  StatusWriter(kube::Client& client, const RestorerOptions& options, const log::Logger& logger, json taskrun)
      : client_(client), options_(options), logger_(logger), taskrun_(std::move(taskrun)) {}

  // Replaces the restorer's status fields with `fields` (the controller's conditions and
  // anything else stay), through the status subresource; on 409 re-reads and redoes.
  // Relied on (CustomResourceSubresources.status): with the status subresource a PUT to
  // /status changes only .status, and the PUT carries metadata.resourceVersion, so a write
  // by the controller since our read is a 409, not lost.
  Status Write(const json& fields) { return Update(fields, /*claim=*/false).status(); }

  // The claim: moves phase from Pending (or none) to Running with `fields` in one update
  // carrying the resourceVersion read (optimistic concurrency: a write since our read makes
  // it 409 Conflict). On 409 the TaskRun is read again and the claim retried only while
  // its phase is still claimable (someone else's condition write, not their claim). False
  // when the TaskRun is not, or no longer, claimable: then nothing was written.
  Result<bool> Claim(const json& fields) { return Update(fields, /*claim=*/true); }

  std::string phase() const { return PhaseOf(taskrun_); }

 private:
  Result<bool> Update(const json& fields, bool claim) {
    kube::ResourceRef ref = TaskRunRef(options_);
    ref.subresource = "status";
    const json object_field = ObjectField(options_, recovery::kTaskRunsResource, options_.taskrun);
    for (int attempt = 0;; ++attempt) {
      if (claim && !Claimable(PhaseOf(taskrun_))) return false;
      json status = taskrun_.value("status", json::object());
      if (!status.is_object()) status = json::object();
      for (const char* key : kOwnedFields) status.erase(key);
      status.update(fields);
      json object = taskrun_;
      object["status"] = std::move(status);
      logger_.Debug("updating object in cluster", {{"destinationObject", object_field}});
      auto updated = client_.Update(ref, object, {.field_manager = "kubesync-restorer"});
      if (updated.ok()) {
        taskrun_ = std::move(*updated);
        logger_.Info("object updated in cluster",
                     {{"destinationObject", object_field}, {"phase", fields.value("phase", "")}});
        return true;
      }
      if (!kube::IsConflict(updated.status()) || attempt >= options_.status_conflict_retries) {
        logger_.Error("error updating object in cluster",
                      {{"destinationObject", object_field}, {"error", updated.status().ToString()}});
        return updated.status();
      }
      if (claim) {
        logger_.Info("taskrun changed since it was read, reading it again",
                     {{"destinationObject", object_field}, {"error", updated.status().ToString()}});
      }
      auto fresh = client_.Get(TaskRunRef(options_));
      if (!fresh.ok()) {
        logger_.Error("error getting object from cluster",
                      {{"destinationObject", object_field}, {"error", fresh.status().ToString()}});
        return fresh.status();
      }
      taskrun_ = std::move(*fresh);
    }
  }

  kube::Client& client_;
  const RestorerOptions& options_;
  const log::Logger& logger_;
  json taskrun_;
};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string SummaryMessage(const recovery::RunReport& report) {
  std::string counts = std::to_string(report.patched) + " patched, " + std::to_string(report.skipped) +
                       " skipped, " + std::to_string(report.failed) + " failed";
  if (report.ok()) return "restored: " + counts;
  const recovery::Failure& first = report.failures.front();
  return "restore failed: " + counts + "; first failure: " + first.object + ": " + first.reason;
}

json FailuresJson(const std::vector<recovery::Failure>& failures) {
  json out = json::array();
  for (const auto& f : failures) out.push_back({{"object", f.object}, {"reason", f.reason}});
  return out;
}

// The Task named by the TaskRun, parsed; an error message for the status otherwise.
struct LoadedTask {
  std::optional<recovery::TaskSpec> spec;
  std::optional<std::string> live_synchronization;
  std::string error;
};

// " (Tasks there: a, b)" or " (there are no Tasks there)": a TaskRun naming a Task that
// is not there (seeds/002's own TaskRun names set-test-label, while the Task kubesync
// creates is named after the LiveSynchronization) says what could have been meant.
std::string TasksThere(kube::Client& client, const RestorerOptions& options) {
  auto list = client.List({.group = std::string(recovery::kTaskGroup),
                           .version = std::string(recovery::kTaskVersion),
                           .resource = std::string(recovery::kTasksResource),
                           .ns = options.namespace_});
  if (!list.ok()) return "";
  if (list->items.empty()) return " (there are no Tasks there)";
  constexpr std::size_t kMaxNames = 10;
  std::string names;
  for (std::size_t i = 0; i < list->items.size() && i < kMaxNames; ++i) {
    const json& meta = list->items[i].value("metadata", json::object());
    names += (i > 0 ? ", " : "") + meta.value("name", std::string());
  }
  if (list->items.size() > kMaxNames) names += ", ...";
  return " (Tasks there: " + names + ")";
}

LoadedTask LoadTask(kube::Client& client, const RestorerOptions& options, const log::Logger& logger,
                    const json& taskrun) {
  LoadedTask out;
  const json& spec = taskrun.value("spec", json::object());
  const json task_name = spec.is_object() ? spec.value("taskName", json()) : json();
  if (!task_name.is_string() || task_name.get<std::string>().empty()) {
    out.error = "invalid TaskRun: spec.taskName: required field is missing";
    return out;
  }
  const std::string name = task_name.get<std::string>();
  const json object_field = ObjectField(options, recovery::kTasksResource, name);
  logger.Debug("reading object from cluster", {{"destinationObject", object_field}});
  auto task = client.Get({.group = std::string(recovery::kTaskGroup),
                          .version = std::string(recovery::kTaskVersion),
                          .resource = std::string(recovery::kTasksResource),
                          .ns = options.namespace_,
                          .name = name});
  if (kube::IsNotFound(task.status())) {
    logger.Warn("object not found in cluster", {{"destinationObject", object_field}});
    out.error = "Task " + Quoted(name) + " not found in namespace " + Quoted(options.namespace_) +
                TasksThere(client, options);
    return out;
  }
  if (!task.ok()) {
    logger.Error("error getting object from cluster",
                 {{"destinationObject", object_field}, {"error", task.status().ToString()}});
    out.error = "reading Task " + Quoted(name) + ": " + task.status().message();
    return out;
  }
  logger.Debug("object read from cluster", {{"destinationObject", object_field}});
  // Known even when the Task is invalid: the status names the owner either way.
  const json::json_pointer ls_ptr("/metadata/annotations/" + transform::EscapePointerToken(std::string(
                                                                 transform::kLiveSynchronizationAnnotation)));
  if (task->contains(ls_ptr) && (*task)[ls_ptr].is_string()) out.live_synchronization = (*task)[ls_ptr];
  auto parsed = recovery::ParseTask(*task);
  if (!parsed.ok()) {
    out.error = "invalid Task " + Quoted(name) + ": " + parsed.status().message();
    return out;
  }
  out.live_synchronization = parsed->live_synchronization;
  out.spec = std::move(*parsed);
  return out;
}

}  // namespace

std::string FormatGoDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string sign;
  if (ms < 0) {
    sign = "-";
    ms = -ms;
  }
  if (ms < 1000) return sign + std::to_string(ms) + "ms";
  const int64_t hours = ms / 3'600'000;
  const int64_t minutes = (ms / 60'000) % 60;
  const int64_t seconds = (ms / 1000) % 60;
  const int64_t millis = ms % 1000;
  std::string out = sign;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds);
  if (millis > 0) {
    std::string frac = std::to_string(millis);
    frac.insert(0, 3 - frac.size(), '0');
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "s";
}

int RestoreTaskRun(kube::Client& destination, const RestorerOptions& options, const log::Logger& logger) {
  const json taskrun_field = ObjectField(options, recovery::kTaskRunsResource, options.taskrun);
  logger.Debug("reading object from cluster", {{"destinationObject", taskrun_field}});
  auto taskrun = destination.Get(TaskRunRef(options));
  if (!taskrun.ok()) {
    logger.Error(kube::IsNotFound(taskrun.status()) ? "object not found in cluster"
                                                    : "error getting object from cluster",
                 {{"destinationObject", taskrun_field}, {"error", taskrun.status().ToString()}});
    return kExitNoStatus;
  }
  logger.Debug("object read from cluster", {{"destinationObject", taskrun_field}});
  const std::string phase = PhaseOf(*taskrun);
  if (phase == "Succeeded" || phase == "Failed") {
    // A finished TaskRun is a record; running the restorer again changes nothing.
    logger.Info("taskrun already finished", {{"destinationObject", taskrun_field}, {"phase", phase}});
    return phase == "Succeeded" ? kExitSucceeded : kExitFailed;
  }
  if (!Claimable(phase)) {
    // Running: another restorer has it (or had it and was killed: never run twice).
    logger.Warn("taskrun already claimed", {{"destinationObject", taskrun_field}, {"phase", phase}});
    return kExitNotClaimed;
  }

  const WallTime start = options.clock->Now();
  const MonoTime start_mono = options.clock->SteadyNow();
  LoadedTask task = LoadTask(destination, options, logger, *taskrun);
  if (options.before_claim) options.before_claim();
  StatusWriter writer(destination, options, logger, *taskrun);
  json running = {{"phase", "Running"}, {"startTime", FormatRfc3339(start)}};
  if (task.live_synchronization) running["liveSynchronization"] = *task.live_synchronization;
  if (task.spec && !task.spec->warnings.empty()) {
    json warnings = json::array();
    for (const plan::FieldError& w : task.spec->warnings) {
      logger.Warn("configuration warning", {{"destinationObject", taskrun_field}, {"warning", w.ToString()}});
      warnings.push_back(w.ToString());
    }
    running["warnings"] = std::move(warnings);
  }
  auto claimed = writer.Claim(running);
  if (!claimed.ok()) return kExitNoStatus;
  if (!*claimed) {
    logger.Warn("taskrun claimed by another restorer",
                {{"destinationObject", taskrun_field}, {"phase", writer.phase()}});
    return kExitNotClaimed;
  }
  logger.Info("taskrun started", {{"destinationObject", taskrun_field}});

  recovery::RunReport report;
  std::string message = task.error;
  bool succeeded = false;
  if (task.spec) {
    auto ran = recovery::RunTask(destination, *task.spec, logger, options.run);
    if (ran.ok()) {
      report = std::move(*ran);
      message = SummaryMessage(report);
      succeeded = report.ok();
    } else {
      message = "running Task: " + ran.status().message();
    }
  }
  json final_status = running;
  final_status["phase"] = succeeded ? "Succeeded" : "Failed";
  final_status["completionTime"] = FormatRfc3339(options.clock->Now());
  final_status["duration"] = FormatGoDuration(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.clock->SteadyNow() - start_mono));
  final_status["objectsPatched"] = report.patched;
  final_status["objectsSkipped"] = report.skipped;
  final_status["objectsFailed"] = report.failed;
  final_status["failures"] = FailuresJson(report.failures);
  final_status["message"] = message;
  if (!writer.Write(final_status).ok()) return kExitNoStatus;
  if (succeeded) {
    logger.Info("taskrun finished", {{"destinationObject", taskrun_field}, {"status", final_status}});
  } else {
    logger.Error("taskrun failed", {{"destinationObject", taskrun_field}, {"status", final_status}});
  }
  return succeeded ? kExitSucceeded : kExitFailed;
}

}  // namespace kubesync::restorer
