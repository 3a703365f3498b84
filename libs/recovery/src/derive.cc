// DeriveTask: a LiveSynchronization's recovery steps as the Task the controller keeps in
// the destination (.helpers/s2-contract.md, "Task config").
#include "kubesync/labels/selector.h"
#include "kubesync/plan/validate.h"
#include "kubesync/recovery/task.h"
#include "kubesync/transform/mark.h"
#include "paths.h"

namespace kubesync::recovery {
namespace {

using internal::Covers;
using nlohmann::json;

std::string_view ExpressionOperator(labels::Operator op) {
  switch (op) {
    case labels::Operator::kIn:
      return "In";
    case labels::Operator::kNotIn:
    case labels::Operator::kNotEquals:
      return "NotIn";
    case labels::Operator::kExists:
      return "Exists";
    case labels::Operator::kDoesNotExist:
      return "DoesNotExist";
    case labels::Operator::kGreaterThan:
      return "Gt";
    case labels::Operator::kLessThan:
      return "Lt";
    case labels::Operator::kEquals:
      break;
  }
  return "In";
}

// The LabelSelector object of `selector` (metav1.LabelSelector): equality requirements as
// matchLabels, the others as matchExpressions, in the selector's (canonical) order. Null
// for the empty selector.
json LabelSelectorJson(const labels::Selector& selector) {
  if (selector.Empty()) return nullptr;
  json match_labels = json::object();
  json expressions = json::array();
  for (const auto& r : selector.requirements()) {
    if (r.op == labels::Operator::kEquals && r.values.size() == 1) {
      match_labels[r.key] = r.values[0];
      continue;
    }
    json e = {{"key", r.key}, {"operator", ExpressionOperator(r.op)}};
    if (r.op != labels::Operator::kExists && r.op != labels::Operator::kDoesNotExist) e["values"] = r.values;
    expressions.push_back(std::move(e));
  }
  json out = json::object();
  if (!match_labels.empty()) out["matchLabels"] = std::move(match_labels);
  if (!expressions.empty()) out["matchExpressions"] = std::move(expressions);
  return out;
}

json RegexList(const std::vector<plan::NameRegex>& regexes) {
  json out = json::array();
  for (const auto& r : regexes) out.push_back(r.pattern);
  return out;
}

json FilterJson(const plan::Rule& rule) {
  json filter = json::object();
  if (json ns = LabelSelectorJson(rule.namespace_selector); !ns.is_null()) filter["namespaceSelector"] = ns;
  if (json sel = LabelSelectorJson(rule.selector); !sel.is_null()) filter["selector"] = sel;
  if (!rule.include_names.empty() || !rule.exclude_names.empty()) {
    json names = json::object();
    if (!rule.include_names.empty()) names["includeRegex"] = RegexList(rule.include_names);
    if (!rule.exclude_names.empty()) names["excludeRegex"] = RegexList(rule.exclude_names);
    filter["nameSelector"] = std::move(names);
  }
  return filter;
}

json OperationsJson(const std::vector<plan::PatchOperation>& ops) {
  json out = json::array();
  for (const auto& op : ops) {
    json o = {{"op", plan::PatchOpName(op.op)}, {"path", op.path}};
    if (op.op != plan::PatchOp::kRemove) o["value"] = op.value;
    out.push_back(std::move(o));
  }
  return out;
}

// The transformed paths of `rule` that no explicit recovery step puts back.
std::vector<std::string> UncoveredPaths(const plan::Rule& rule) {
  std::vector<std::string> out;
  if (rule.recover_from_original) return out;
  for (const plan::PatchOperation& t : rule.transformation.operations) {
    bool covered = false;
    for (const plan::PatchOperation& r : rule.recovery_patch.operations) covered |= Covers(r.path, t.path);
    for (const std::string& seen : out) covered |= Covers(seen, t.path);
    if (!covered) out.push_back(t.path);
  }
  return out;
}

}  // namespace

std::vector<DerivedStep> DerivedSteps(const plan::Plan& plan) {
  std::vector<DerivedStep> out;
  for (const plan::Rule& rule : plan.rules) {
    std::vector<std::string> paths = UncoveredPaths(rule);
    if (!paths.empty()) out.push_back({rule.gvr, rule.source, std::move(paths)});
  }
  return out;
}

std::string DescribeDerivedSteps(const std::vector<DerivedStep>& steps) {
  if (steps.empty()) return "";
  std::string out = "derived recovery (no recovery step given for a transformed field): ";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (i > 0) out += "; ";
    out += steps[i].gvr.String() + " (" + steps[i].source + "): restore ";
    for (std::size_t j = 0; j < steps[i].paths.size(); ++j) out += (j > 0 ? ", " : "") + steps[i].paths[j];
    out += " from " + std::string(transform::kOriginalValuesAnnotation);
  }
  return out;
}

nlohmann::json DeriveTask(const plan::Plan& plan, std::string_view task_namespace) {
  const std::string id = transform::LiveSynchronizationId(plan.namespace_, plan.name);
  json resources = json::array();
  for (const plan::Rule& rule : plan.rules) {
    const std::vector<std::string> derived = UncoveredPaths(rule);
    if (rule.recovery_patch.empty() && !rule.recover_from_original && derived.empty()) continue;
    json entry = {
        {"identifier",
         {{"group", rule.gvr.group}, {"version", rule.gvr.version}, {"resource", rule.gvr.resource}}}};
    json patch = json::object();
    if (!rule.recovery_patch.empty()) {
      patch["operations"] = OperationsJson(rule.recovery_patch.operations);
      if (rule.recovery_patch.skip_if_not_found_on_delete) {
        patch["options"] = {{"skipIfNotFoundOnDelete", true}};
      }
    }
    // A fromOriginal-only entry still needs its selection: it travels as patch.filter.
    if (json filter = FilterJson(rule); !filter.empty()) patch["filter"] = std::move(filter);
    if (!patch.empty()) entry["patch"] = std::move(patch);
    if (rule.recover_from_original) {
      entry["fromOriginal"] = {{"enabled", true}};
    } else if (!derived.empty()) {
      entry["fromOriginal"] = {{"enabled", true}, {"paths", derived}};
    }
    resources.push_back(std::move(entry));
  }
  json annotations = {{transform::kLiveSynchronizationAnnotation, id}};
  if (std::string derived = DescribeDerivedSteps(DerivedSteps(plan)); !derived.empty()) {
    annotations[std::string(kDerivedRecoveryAnnotation)] = std::move(derived);
  }
  return {
      {"apiVersion", plan::kAutomationApiVersion},
      {"kind", "Task"},
      {"metadata",
       {{"name", plan.name},
        {"namespace", task_namespace},
        {"labels", {{transform::kManagedByLabel, transform::LabelValueForId(id)}}},
        {"annotations", std::move(annotations)}}},
      {"spec", {{"plugin", plan::kTaskPlugin}, {"config", {{"resources", std::move(resources)}}}}},
  };
}

}  // namespace kubesync::recovery
