#include <algorithm>
#include <cctype>

#include "diagnostics.h"
#include "kubesync/plan/validate.h"
#include "rule_parts.h"

namespace kubesync::plan {
namespace {

using internal::Diagnostics;
using internal::Find;
using internal::Index;
using internal::Join;
using internal::json;
using internal::Quote;

void CheckEnum(Diagnostics& d, const json& obj, std::string_view key, std::string_view path,
               const std::vector<std::string>& allowed) {
  auto v = d.String(obj, key, path, false);
  if (!v || std::find(allowed.begin(), allowed.end(), *v) != allowed.end()) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  std::string message = "unsupported value " + Quote(*v) + ": want " + list;
  if (auto c = internal::Closest(*v, allowed)) message += " (did you mean " + *c + "?)";
  d.Error(Join(path, key), message);
}

bool CheckPlugin(Diagnostics& d, const json& spec, std::string_view path, std::string_view want) {
  auto plugin = d.String(spec, "plugin", path, true);
  if (!plugin) return false;
  if (*plugin == want) return true;
  std::string message = "unknown plugin " + Quote(*plugin) + ": want " + std::string(want);
  if (auto c = internal::Closest(*plugin, {std::string(want)})) message += " (did you mean " + *c + "?)";
  d.Error(Join(path, "plugin"), message);
  return false;
}

// patch.filter of a Task resource: the selectors of the rule the entry came from.
void ValidateTaskFilter(const json& patch, const std::string& ppath, Diagnostics& d) {
  const std::string fpath = Join(ppath, "filter");
  const json* filter = d.Object(patch, "filter", ppath, false);
  if (filter == nullptr) return;
  d.CheckFields(*filter, fpath, {"namespaceSelector", "selector", "nameSelector"});
  (void)internal::ParseLabelSelector(Find(*filter, "namespaceSelector"), Join(fpath, "namespaceSelector"), d);
  (void)internal::ParseLabelSelector(Find(*filter, "selector"), Join(fpath, "selector"), d);
  const std::string npath = Join(fpath, "nameSelector");
  if (const json* names = d.Object(*filter, "nameSelector", fpath, false)) {
    d.CheckFields(*names, npath, {"includeRegex", "excludeRegex"},
                  {{"regex", "a Task names it includeRegex"}});
    (void)internal::ParseRegexList(d.List(*names, "includeRegex", npath, false), Join(npath, "includeRegex"),
                                   d);
    (void)internal::ParseRegexList(d.List(*names, "excludeRegex", npath, false), Join(npath, "excludeRegex"),
                                   d);
  }
}

// Task config of kubernetes-objects-transformation (seeds 001 6.1.4 and 002), and the
// shape the controller derives from recoveryProcess (.helpers/s2-contract.md): per
// resource an identifier, a patch {operations, options.skipIfNotFoundOnDelete, filter} and
// fromOriginal {enabled}. patch is required unless fromOriginal is given; in a patch,
// operations are required unless fromOriginal is given (a fromOriginal-only entry with
// selectors carries just patch.filter).
void ValidateTaskConfig(const json& config, const std::string& path, Diagnostics& d) {
  d.CheckFields(config, path, {"resources"});
  const std::string rpath = Join(path, "resources");
  const json* resources = d.List(config, "resources", path, true);
  if (resources == nullptr) return;
  for (std::size_t i = 0; i < resources->size(); ++i) {
    const json& r = (*resources)[i];
    const std::string at = Index(rpath, i);
    if (!r.is_object()) {
      d.Error(at, "must be an object with identifier and patch (got " + internal::Describe(r) + ")");
      continue;
    }
    d.CheckFields(r, at, {"identifier", "patch", "fromOriginal"},
                  {{"fromPatch", "the operations go under patch.operations"},
                   {"recoveryProcess", "a Task resource has patch and fromOriginal"}});
    const std::string ipath = Join(at, "identifier");
    if (const json* id = d.Object(r, "identifier", at, true)) {
      d.CheckFields(*id, ipath, {"group", "version", "resource", "resources"});
      (void)internal::ParseGroupVersion(*id, ipath, d);
      // The reference samples (seeds/001 6.1.4, seeds/002) write "resources": read as
      // "resource", with a warning, as op "delete" is read as "remove".
      const bool plural = Find(*id, "resources") != nullptr;
      if (plural && Find(*id, "resource") != nullptr) {
        d.Error(Join(ipath, "resources"), "give one of resource and resources");
      } else {
        const std::string key = plural ? "resources" : "resource";
        if (auto res = d.String(*id, key, ipath, true)) {
          internal::ValidateResourceName(*res, Join(ipath, key), d);
          if (plural)
            d.Warn(Join(ipath, key), "read as identifier.resource (the reference samples' spelling)");
        }
      }
    }
    const std::string opath = Join(at, "fromOriginal");
    const json* from_original = d.Object(r, "fromOriginal", at, false);
    if (from_original != nullptr) {
      d.CheckFields(*from_original, opath, {"enabled", "paths"});
      (void)d.Bool(*from_original, "enabled", opath, false);
      // paths: restore only the recorded values at (or under, or containing) these JSON
      // pointers; what the controller derives for transformed fields with no recovery step.
      if (const json* paths = d.List(*from_original, "paths", opath, false)) {
        for (std::size_t j = 0; j < paths->size(); ++j) {
          const json& p = (*paths)[j];
          const std::string at_path = Index(Join(opath, "paths"), j);
          if (!p.is_string()) {
            d.Error(at_path, "must be a string (got " + internal::Describe(p) + ")");
          } else if (auto problem = internal::JsonPointerProblem(p.get<std::string>())) {
            d.Error(at_path, *problem);
          }
        }
      }
    }
    const bool has_original = from_original != nullptr;
    const std::string ppath = Join(at, "patch");
    if (const json* patch = d.Object(r, "patch", at, !has_original)) {
      d.CheckFields(*patch, ppath, {"operations", "options", "filter"},
                    {{"skipIfNotFoundOnDelete", "it goes under patch.options"},
                     {"patchOptions", "did you mean options?"}});
      (void)internal::ParsePatchOperations(d.List(*patch, "operations", ppath, !has_original),
                                           Join(ppath, "operations"), d);
      const std::string xpath = Join(ppath, "options");
      if (const json* options = d.Object(*patch, "options", ppath, false)) {
        d.CheckFields(*options, xpath, {"skipIfNotFoundOnDelete"});
        (void)d.Bool(*options, "skipIfNotFoundOnDelete", xpath, false);
      }
      ValidateTaskFilter(*patch, ppath, d);
    }
  }
}

// zookeeper-to-zookeeper-nodes config (seed 001 5.2.2).
void ValidateZookeeperConfig(const json& config, const std::string& path, Diagnostics& d) {
  d.CheckFields(config, path,
                {"sourceName", "destinationName", "rootPath", "createRootPath", "ignoreEphemeral",
                 "excludePathRegexp"});
  (void)d.String(config, "sourceName", path, true);
  (void)d.String(config, "destinationName", path, true);
  if (auto root = d.String(config, "rootPath", path, true); root && (*root)[0] != '/') {
    d.Error(Join(path, "rootPath"),
            "must be an absolute ZooKeeper path (did you mean " + Quote("/" + *root) + "?)");
  }
  (void)d.Bool(config, "createRootPath", path, false);
  (void)d.Bool(config, "ignoreEphemeral", path, false);
  if (auto re = d.String(config, "excludePathRegexp", path, false)) {
    (void)internal::CompileNameRegex(*re, Join(path, "excludePathRegexp"), d);
  }
}

// SynchronizationSpec: restartPolicy, plugin, config.
void ValidateSynchronizationSpec(const json& spec, const std::string& path, Diagnostics& d) {
  d.CheckFields(spec, path, {"restartPolicy", "plugin", "config"});
  CheckEnum(d, spec, "restartPolicy", path, {"Always", "OnFailure", "Never"});
  const json* config = d.Object(spec, "config", path, true);
  if (CheckPlugin(d, spec, path, kZookeeperPlugin) && config != nullptr) {
    ValidateZookeeperConfig(*config, Join(path, "config"), d);
  }
}

// "m h dom mon dow" or a @-macro.
void ValidateSchedule(const std::string& schedule, const std::string& path, Diagnostics& d) {
  static const std::vector<std::string> kMacros = {"@yearly", "@annually", "@monthly", "@weekly",
                                                   "@daily",  "@midnight", "@hourly"};
  if (!schedule.empty() && schedule[0] == '@') {
    if (std::find(kMacros.begin(), kMacros.end(), schedule) == kMacros.end() &&
        schedule.rfind("@every ", 0) != 0) {
      d.Error(path, "unknown schedule macro " + Quote(schedule));
    }
    return;
  }
  std::size_t fields = 0;
  bool in_field = false;
  for (char c : schedule) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_field) ++fields;
    in_field = !space;
    if (!space && !std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("*/,-?").find(c) == std::string_view::npos) {
      d.Error(path, "invalid character " + Quote(std::string(1, c)) + " in cron schedule " + Quote(schedule));
      return;
    }
  }
  if (fields != 5) {
    d.Error(path, "cron schedule " + Quote(schedule) + " has " + std::to_string(fields) +
                      " fields: want 5 (minute hour day-of-month month day-of-week), e.g. \"10 * * * *\"");
  }
}

void ValidateKind(const std::string& kind, const json& spec, Diagnostics& d) {
  if (kind == "Task") {
    d.CheckFields(spec, "spec", {"restartPolicy", "plugin", "config"});
    CheckEnum(d, spec, "restartPolicy", "spec", {"Always", "OnFailure", "Never"});
    const json* config = d.Object(spec, "config", "spec", true);
    if (CheckPlugin(d, spec, "spec", kTaskPlugin) && config != nullptr)
      ValidateTaskConfig(*config, "spec.config", d);
  } else if (kind == "TaskRun") {
    d.CheckFields(spec, "spec", {"taskName", "suspendLiveSynchronization"});
    (void)d.String(spec, "taskName", "spec", true);
    (void)d.Bool(spec, "suspendLiveSynchronization", "spec", false);
  } else if (kind == "Synchronization") {
    ValidateSynchronizationSpec(spec, "spec", d);
  } else if (kind == "SynchronizationPlan") {
    d.CheckFields(spec, "spec",
                  {"schedule", "startingDeadlineSeconds", "concurrencyPolicy", "suspend", "template",
                   "successfulJobsHistoryLimit", "failedJobsHistoryLimit"});
    if (auto schedule = d.String(spec, "schedule", "spec", true))
      ValidateSchedule(*schedule, "spec.schedule", d);
    (void)d.Int(spec, "startingDeadlineSeconds", "spec", false, 0, INT64_MAX);
    CheckEnum(d, spec, "concurrencyPolicy", "spec", {"Allow", "Forbid", "Replace"});
    (void)d.Bool(spec, "suspend", "spec", false);
    (void)d.Int(spec, "successfulJobsHistoryLimit", "spec", false, 0, INT32_MAX);
    (void)d.Int(spec, "failedJobsHistoryLimit", "spec", false, 0, INT32_MAX);
    if (const json* tmpl = d.Object(spec, "template", "spec", false)) {
      d.CheckFields(*tmpl, "spec.template", {"metadata", "spec"});
      if (const json* s = d.Object(*tmpl, "spec", "spec.template", true))
        ValidateSynchronizationSpec(*s, "spec.template.spec", d);
    }
  }
}

const std::vector<std::string> kKinds = {"LiveSynchronization", "Synchronization", "SynchronizationPlan",
                                         "Task", "TaskRun"};

void Validate(const json& object, Diagnostics& d) {
  if (!object.is_object()) {
    d.Error("", "must be an object (got " + internal::Describe(object) + ")");
    return;
  }
  const json api = object.value("apiVersion", json());
  if (!api.is_string() || api.get<std::string>().rfind("automation.astronetes.io/", 0) != 0) return;
  if (api != kAutomationApiVersion) {
    d.Error("apiVersion",
            "want " + Quote(kAutomationApiVersion) + " (got " + Quote(api.get<std::string>()) + ")");
  }
  auto kind = d.String(object, "kind", "", true);
  if (!kind) return;
  if (*kind == "LiveSynchronization") {
    ParseReport report;
    (void)ParseLiveSynchronization(object, {}, &report);
    for (auto& e : report.errors) d.Error(e.path, e.message);
    for (auto& w : report.warnings) d.Warn(w.path, w.message);
    return;
  }
  if (std::find(kKinds.begin(), kKinds.end(), *kind) == kKinds.end()) {
    if (*kind == "Backup") return;  // roadmap: validated with the bucket plugins
    std::string message = "unknown kind " + Quote(*kind) + " in " + Quote(kAutomationApiVersion);
    if (auto c = internal::Closest(*kind, kKinds)) message += " (did you mean " + *c + "?)";
    d.Error("kind", message);
    return;
  }
  d.CheckFields(object, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  if (const json* meta = d.Object(object, "metadata", "", true)) {
    if (Find(*meta, "name") == nullptr && Find(*meta, "generateName") == nullptr) {
      d.Error("metadata.name", "required field is missing (or set metadata.generateName)");
    }
  }
  if (const json* spec = d.Object(object, "spec", "", true)) ValidateKind(*kind, *spec, d);
}

Status ToStatus(const Diagnostics& d, ParseReport* report) {
  if (report != nullptr) {
    report->errors = d.errors();
    report->warnings = d.warnings();
  }
  if (d.ok()) return OkStatus();
  std::string message;
  for (const auto& e : d.errors()) message += (message.empty() ? "" : "\n") + e.ToString();
  return InvalidArgumentError(std::move(message));
}

}  // namespace

Status ValidateAutomationObject(const nlohmann::json& object, ParseReport* report) {
  Diagnostics d;
  Validate(object, d);
  return ToStatus(d, report);
}

Status ValidateAutomationYaml(std::string_view yaml, ParseReport* report) {
  Diagnostics all;
  auto docs = YamlToJson(yaml);
  if (!docs.ok()) {
    all.Error("", docs.status().message());
    return ToStatus(all, report);
  }
  for (std::size_t i = 0; i < docs->size(); ++i) {
    Diagnostics d;
    Validate((*docs)[i], d);
    const std::string prefix = docs->size() > 1 ? Index("documents", i) : "";
    for (const auto& e : d.errors()) all.Error(prefix.empty() ? e.path : Join(prefix, e.path), e.message);
    for (const auto& w : d.warnings()) all.Warn(prefix.empty() ? w.path : Join(prefix, w.path), w.message);
  }
  return ToStatus(all, report);
}

}  // namespace kubesync::plan
