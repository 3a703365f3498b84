#include "kubesync/plan/plan.h"

#include <re2/re2.h>

#include <algorithm>

namespace kubesync::plan {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool IsNamespaceResource(const Gvr& gvr) { return gvr.group.empty() && gvr.resource == "namespaces"; }

}  // namespace

std::string Gvr::String() const { return (group.empty() ? "" : group + "/") + version + "/" + resource; }

std::string_view PatchOpName(PatchOp op) {
  switch (op) {
    case PatchOp::kAdd:
      return "add";
    case PatchOp::kReplace:
      return "replace";
    case PatchOp::kRemove:
      return "remove";
  }
  return "replace";
}

bool NameRegex::Matches(std::string_view name) const {
  // Unanchored search, like Go's regexp.MatchString.
  return re != nullptr && RE2::PartialMatch(re2::StringPiece(name.data(), name.size()), *re);
}

bool Rule::Selects(std::string_view object_name, const nlohmann::json& object_labels,
                   const nlohmann::json& namespace_labels, bool cluster_scoped) const {
  if (!include_names.empty() && std::none_of(include_names.begin(), include_names.end(),
                                             [&](const NameRegex& r) { return r.Matches(object_name); })) {
    return false;
  }
  if (std::any_of(exclude_names.begin(), exclude_names.end(),
                  [&](const NameRegex& r) { return r.Matches(object_name); })) {
    return false;
  }
  if (!selector.Matches(object_labels)) return false;
  if (!cluster_scoped && !namespace_selector.Matches(namespace_labels)) return false;
  return true;
}

bool Rule::SameAs(const Rule& o) const {
  return gvr == o.gvr && selector.String() == o.selector.String() &&
         namespace_selector.String() == o.namespace_selector.String() && include_names == o.include_names &&
         exclude_names == o.exclude_names && transformation == o.transformation &&
         recovery_patch == o.recovery_patch && recover_from_original == o.recover_from_original;
}

const std::vector<std::string>& ComponentNames() {
  static const std::vector<std::string> kNames = {"eventsListener", "processor",      "reconciler",
                                                  "restorer",       "synchronizer",   "nats",
                                                  "redis",          "metricsExporter"};
  return kNames;
}

bool Plan::IsExcludedNamespaceName(std::string_view ns, std::string_view operator_namespace) {
  if (ns.empty()) return false;
  return StartsWith(ns, "kube-") || StartsWith(ns, "openshift") ||
         (!operator_namespace.empty() && ns == operator_namespace);
}

bool Plan::IsDefaultExcluded(const Gvr& gvr, std::string_view namespace_name,
                             std::string_view object_name) const {
  if (gvr.group == "automation.astronetes.io") return true;  // kAutomationGroup (parse.h)
  if (IsNamespaceResource(gvr)) return IsExcludedNamespaceName(object_name, operator_namespace);
  if (IsExcludedNamespaceName(namespace_name, operator_namespace)) return true;
  if (gvr.group.empty() && gvr.resource == "configmaps" &&
      (object_name == "kube-root-ca.crt" || object_name == "openshift-service-ca.crt")) {
    return true;
  }
  return false;
}

const Rule* Plan::MatchingRule(const Gvr& gvr, std::string_view namespace_name, std::string_view object_name,
                               const nlohmann::json& object_labels,
                               const nlohmann::json& namespace_labels) const {
  if (IsDefaultExcluded(gvr, namespace_name, object_name)) return nullptr;
  const bool is_namespace = IsNamespaceResource(gvr);
  const nlohmann::json& ns_labels = is_namespace ? object_labels : namespace_labels;
  const bool cluster_scoped = namespace_name.empty() && !is_namespace;
  for (const Rule& rule : rules) {
    if (rule.gvr == gvr && rule.Selects(object_name, object_labels, ns_labels, cluster_scoped)) return &rule;
  }
  return nullptr;
}

std::vector<Gvr> Plan::Resources() const {
  std::vector<Gvr> out;
  for (const Rule& r : rules) {
    if (r.gvr.group == "automation.astronetes.io") continue;  // never replicated
    if (std::find(out.begin(), out.end(), r.gvr) == out.end()) out.push_back(r.gvr);
  }
  return out;
}

bool Plan::Equivalent(const Plan& o) const {
  if (rules.size() != o.rules.size()) return false;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i].SameAs(o.rules[i])) return false;
  }
  return name == o.name && namespace_ == o.namespace_ && suspend == o.suspend &&
         source_cluster == o.source_cluster && destination_cluster == o.destination_cluster &&
         allow_same_cluster == o.allow_same_cluster &&
         bucket == o.bucket && dry_run == o.dry_run &&
         force_namespace_creation == o.force_namespace_creation && resync_period == o.resync_period &&
         observability.enabled == o.observability.enabled &&
         observability.interval == o.observability.interval && components == o.components &&
         operator_namespace == o.operator_namespace;
}

}  // namespace kubesync::plan
