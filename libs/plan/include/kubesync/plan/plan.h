// The normalized replication plan: what one LiveSynchronization asks the live pipeline to
// do, whatever config shape it was written in (`kubernetes-objects-to-kubernetes` with
// `replication.resources[]`, or `kubernetes-to-kubernetes` with `globalSelector`,
// `selectors[]` and `transformations[]`). The controller parses and validates the CR once
// (kubesync/plan/parse.h) and hands components this plan, never the raw CR.
//
// Plain values: a Plan is copyable (compiled regular expressions are shared, immutable) and
// thread-compatible; all const methods may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/labels/selector.h"

namespace re2 {
class RE2;
}

namespace kubesync::plan {

// One validation finding: `path` is the field path in the source document
// ("spec.config.replication.resources[2].filters.nameSelector.excludeRegex[0]").
struct FieldError {
  std::string path;
  std::string message;

  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

struct Gvr {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, lower case: "deployments"

  // "apps/v1/deployments", "v1/configmaps" for the core group.
  std::string String() const;
  friend bool operator==(const Gvr&, const Gvr&) = default;
  friend auto operator<=>(const Gvr&, const Gvr&) = default;
};

enum class PatchOp { kAdd, kReplace, kRemove };
std::string_view PatchOpName(PatchOp op);

// One RFC 6902 operation. `path` is a valid JSON pointer ("/spec/replicas"); `value` is the
// value for add/replace (may be JSON null) and null for remove.
struct PatchOperation {
  PatchOp op = PatchOp::kReplace;
  std::string path;
  nlohmann::json value;
  friend bool operator==(const PatchOperation&, const PatchOperation&) = default;
};

// An ordered list of operations plus the documented patch option.
struct Patch {
  std::vector<PatchOperation> operations;
  // Ignore "not found" when removing a field that does not exist.
  bool skip_if_not_found_on_delete = false;

  bool empty() const { return operations.empty(); }
  friend bool operator==(const Patch&, const Patch&) = default;
};

// A compiled name filter. Matching is an unanchored search, as Go's regexp.MatchString:
// "config.*" matches "my-config-a".
struct NameRegex {
  std::string pattern;
  std::shared_ptr<const re2::RE2> re;

  bool Matches(std::string_view name) const;
  friend bool operator==(const NameRegex& a, const NameRegex& b) { return a.pattern == b.pattern; }
};

struct Rule {
  Gvr gvr;
  // Labels of the object itself (`filters.selector`, `objectSelector.labelSelector`).
  labels::Selector selector;
  // Labels of the object's namespace (`filters.namespaceSelector`, `namespaceSelector`,
  // `globalSelector.namespaceSelector`). Not applied to cluster-scoped objects; applied to
  // a Namespace object's own labels.
  labels::Selector namespace_selector;
  // The object name must match at least one of these when any is given ...
  std::vector<NameRegex> include_names;
  // ... and none of these.
  std::vector<NameRegex> exclude_names;

  // Applied by the processor before writing to the destination.
  Patch transformation;
  // Applied by the restorer to the destination object (`recoveryProcess.fromPatch` and
  // `recoveryProcess.patchOptions`).
  Patch recovery_patch;
  // `recoveryProcess.fromOriginal.enabled`: restore the original kept in the bucket.
  bool recover_from_original = false;

  // Where the rule came from, for messages: "spec.config.replication.resources[3]" or
  // "spec.config.selectors[1].target.resources[0]".
  std::string source;

  // True if an object with this name/labels in a namespace with these labels is selected
  // (gvr and default exclusions are the caller's business: see Plan::MatchingRule).
  // `namespace_labels` is ignored when `cluster_scoped`.
  bool Selects(std::string_view object_name, const nlohmann::json& object_labels,
               const nlohmann::json& namespace_labels, bool cluster_scoped) const;
  // Same selection and same actions; `source` is not compared.
  bool SameAs(const Rule& other) const;
};

struct ObservabilityConfig {
  bool enabled = false;
  // Metrics gathering interval; zero when not set (the metrics exporter's default).
  std::chrono::seconds interval{0};
};

// `spec.config.components.<name>`: how a component is run. Unset fields keep the runtime's
// defaults.
struct ComponentSettings {
  std::optional<std::string> log_level;
  std::optional<int32_t> replicas;
  std::optional<int32_t> concurrent_tasks;
  std::optional<std::string> image_pull_policy;  // Always, IfNotPresent or Never
  nlohmann::json resources;                      // Kubernetes ResourceRequirements, or null
  friend bool operator==(const ComponentSettings&, const ComponentSettings&) = default;
};

// The component names accepted under `spec.config.components`, in documentation order:
// eventsListener, processor, reconciler, restorer, synchronizer, nats, redis, metricsExporter.
const std::vector<std::string>& ComponentNames();

inline constexpr std::chrono::seconds kDefaultResyncPeriod = std::chrono::hours(1);

struct Plan {
  std::string name;        // metadata.name of the LiveSynchronization
  std::string namespace_;  // metadata.namespace of the LiveSynchronization ("" if none)
  std::string plugin;      // the config shape it was written in, for messages
  bool suspend = false;
  std::string source_cluster;  // KubernetesCluster names
  std::string destination_cluster;
  // The two may be the same cluster (annotation kubesync.io/allow-same-cluster: "true").
  bool allow_same_cluster = false;
  std::optional<std::string> bucket;  // Bucket name, when originals are kept
  bool dry_run = false;
  bool force_namespace_creation = false;
  std::chrono::seconds resync_period = kDefaultResyncPeriod;
  ObservabilityConfig observability;
  std::map<std::string, ComponentSettings> components;  // keyed by ComponentNames()
  // Namespace the operator runs in; excluded by default (see IsDefaultExcluded). Comes from
  // the controller (ParseOptions), not from the CR.
  std::string operator_namespace;
  std::vector<Rule> rules;
  // Accepted but noteworthy things (aliases, unreachable rules); for a status condition.
  std::vector<FieldError> warnings;

  // The rule that applies to an object, or nullptr when the object is not replicated.
  //
  // Rules are tried in order and the FIRST one whose gvr equals `gvr` and whose selectors
  // and name filters select the object wins; later rules are not consulted, so an object
  // gets at most one rule's transformation and recovery. Default exclusions
  // (IsDefaultExcluded) are checked first.
  //
  // `namespace_name` is "" for cluster-scoped objects; their namespace selector is not
  // applied. For Namespace objects (v1/namespaces) pass their own name and labels as the
  // object; they are then also treated as their own namespace. Labels are
  // metadata.labels objects (null or absent means no labels).
  const Rule* MatchingRule(const Gvr& gvr, std::string_view namespace_name, std::string_view object_name,
                           const nlohmann::json& object_labels, const nlohmann::json& namespace_labels) const;

  // The exclusions of the newer product versions, applied whatever the rules say:
  // namespaces whose name starts with "kube-" or "openshift", the operator's own namespace,
  // and the ConfigMaps "kube-root-ca.crt" and "openshift-service-ca.crt" (which every
  // cluster creates in every namespace). Covers objects in those namespaces and the
  // Namespace objects themselves. Also every object of kubesync's own API group
  // automation.astronetes.io (LiveSynchronizations, Tasks, TaskRuns...), which is never
  // replicated: a validated plan has no rule for it, and this holds even for one that does.
  bool IsDefaultExcluded(const Gvr& gvr, std::string_view namespace_name, std::string_view object_name) const;
  static bool IsExcludedNamespaceName(std::string_view namespace_name, std::string_view operator_namespace);

  // Distinct gvrs of the rules, in first-appearance order: what the events listener watches.
  // Never a gvr of the automation.astronetes.io group (see IsDefaultExcluded).
  std::vector<Gvr> Resources() const;

  // Same content, ignoring rule `source` paths, `plugin` and `warnings`: two shapes of one
  // intent are Equivalent.
  bool Equivalent(const Plan& other) const;
};

}  // namespace kubesync::plan
