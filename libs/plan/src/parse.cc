#include "kubesync/plan/parse.h"

#include <algorithm>

#include "diagnostics.h"
#include "plan_limits.h"
#include "rule_parts.h"
#include "shapes.h"

namespace kubesync::plan {

namespace internal {
// plan_json.cc
Plan PlanFromJson(const json& j, Diagnostics& d);
bool IsPlanJson(const json& j);
}  // namespace internal

namespace {

using internal::Diagnostics;
using internal::Join;
using internal::json;
using internal::Quote;

const std::vector<std::string> kPlugins = {std::string(kObjectsPlugin), std::string(kSelectorsPlugin)};

// Other kinds of the automation group, for a precise message when one is given here.
const std::vector<std::string> kAutomationKinds = {"Synchronization", "SynchronizationPlan", "Task",
                                                   "TaskRun", "Backup"};

Result<Plan> Finish(Plan plan, const Diagnostics& d, ParseReport* report) {
  if (report != nullptr) {
    report->errors = d.errors();
    report->warnings = d.warnings();
  }
  if (!d.ok()) {
    std::string message;
    for (const auto& e : d.errors()) message += (message.empty() ? "" : "\n") + e.ToString();
    return InvalidArgumentError(std::move(message));
  }
  plan.warnings.insert(plan.warnings.end(), d.warnings().begin(), d.warnings().end());
  return plan;
}

Result<Plan> Fail(std::string path, std::string message, ParseReport* report) {
  Diagnostics d;
  d.Error(std::move(path), std::move(message));
  return Finish(Plan{}, d, report);
}

void ParseCustomResource(const json& cr, const ParseOptions& options, Plan& plan, Diagnostics& d) {
  d.CheckFields(cr, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  if (auto api = d.String(cr, "apiVersion", "", true); api && *api != kAutomationApiVersion) {
    d.Error("apiVersion", "want " + Quote(kAutomationApiVersion) + " (got " + Quote(*api) + ")");
  }
  if (auto kind = d.String(cr, "kind", "", true); kind && *kind != "LiveSynchronization") {
    std::string message = "want \"LiveSynchronization\" (got " + Quote(*kind) + ")";
    if (std::find(kAutomationKinds.begin(), kAutomationKinds.end(), *kind) != kAutomationKinds.end()) {
      message += ": only a LiveSynchronization is parsed into a replication plan";
    } else if (auto c = internal::Closest(*kind, {"LiveSynchronization"})) {
      message += " (did you mean " + *c + "?)";
    }
    d.Error("kind", message);
  }
  if (const json* meta = d.Object(cr, "metadata", "", true)) {
    plan.name = d.String(*meta, "name", "metadata", true).value_or("");
    plan.namespace_ = d.String(*meta, "namespace", "metadata", false).value_or("");
    plan.allow_same_cluster = internal::ParseAllowSameCluster(*meta, d);
  }
  plan.operator_namespace = options.operator_namespace;
  const json* spec = d.Object(cr, "spec", "", true);
  if (spec == nullptr) return;
  d.CheckFields(*spec, "spec", {"suspend", "plugin", "config"},
                {{"sourceName", "it goes under spec.config"},
                 {"destinationName", "it goes under spec.config"},
                 {"replication", "it goes under spec.config"},
                 {"selectors", "it goes under spec.config"}});
  plan.suspend = d.Bool(*spec, "suspend", "spec", false).value_or(false);
  const auto plugin = d.String(*spec, "plugin", "spec", true);
  const json* config = d.Object(*spec, "config", "spec", true);
  if (!plugin) return;
  plan.plugin = *plugin;
  if (*plugin != kObjectsPlugin && *plugin != kSelectorsPlugin) {
    std::string message = "unknown plugin " + Quote(*plugin) + ": want " + std::string(kObjectsPlugin) +
                          " or " + std::string(kSelectorsPlugin);
    if (auto c = internal::Closest(*plugin, kPlugins)) message += " (did you mean " + *c + "?)";
    d.Error("spec.plugin", message);
    return;
  }
  if (config == nullptr) return;
  if (*plugin == kObjectsPlugin) {
    internal::ParseObjectsConfig(*config, "spec.config", plan, d);
  } else {
    internal::ParseSelectorsConfig(*config, "spec.config", plan, d);
  }
  internal::CheckComponentLimits(plan, "spec.config.components", d);
  internal::CheckClusterPair(plan, "spec.config.destinationName", d);
}

}  // namespace

Result<Plan> ParseLiveSynchronization(const nlohmann::json& object, const ParseOptions& options,
                                      ParseReport* report) {
  if (!object.is_object()) {
    return Fail("", "a LiveSynchronization must be an object (got " + internal::Describe(object) + ")",
                report);
  }
  Diagnostics d;
  Plan plan;
  try {
    if (internal::IsPlanJson(object)) {
      plan = internal::PlanFromJson(object, d);
      if (!options.operator_namespace.empty()) plan.operator_namespace = options.operator_namespace;
    } else {
      ParseCustomResource(object, options, plan, d);
    }
  } catch (const std::exception& e) {
    // Not expected (every access is type-checked); never let it cross the module boundary.
    d.Error("", std::string("internal error while parsing: ") + e.what());
  }
  return Finish(std::move(plan), d, report);
}

Result<Plan> ParseLiveSynchronizationYaml(std::string_view yaml, const ParseOptions& options,
                                          ParseReport* report) {
  auto docs = YamlToJson(yaml);
  if (!docs.ok()) return Fail("", docs.status().message(), report);
  std::vector<const json*> candidates;
  std::string kinds;
  for (const auto& doc : *docs) {
    const json kind = doc.is_object() ? doc.value("kind", json()) : json();
    if (kind == "LiveSynchronization" || internal::IsPlanJson(doc)) candidates.push_back(&doc);
    kinds +=
        (kinds.empty() ? "" : ", ") + (kind.is_string() ? kind.get<std::string>() : std::string("(no kind)"));
  }
  if (docs->size() == 1 && candidates.empty())
    candidates.push_back(&docs->front());  // let the parser say why
  if (candidates.empty()) {
    return Fail("",
                docs->empty() ? "no LiveSynchronization found: the input is empty"
                              : "no LiveSynchronization found (documents: " + kinds + ")",
                report);
  }
  if (candidates.size() > 1) {
    return Fail(
        "",
        "found " + std::to_string(candidates.size()) + " LiveSynchronization documents; give one per input",
        report);
  }
  return ParseLiveSynchronization(*candidates.front(), options, report);
}

}  // namespace kubesync::plan
