// Parsing and validation of a LiveSynchronization into the normalized Plan (plan.h), and
// the plan's own JSON form (what components receive in a file).
//
// Validation collects EVERY error, each with the field path it is about, instead of stopping
// at the first one: the controller turns them into one status condition. On failure the
// Status is kInvalidArgument and its message lists the errors one per line as
// "<path>: <message>", in the order the fields are checked (keys of one object in
// alphabetical order, list items in order); `ParseReport::errors` has the same list
// structured. Unknown fields are errors (with "did you mean X?" when a known name is close),
// so a misspelt field never silently changes what is replicated.
//
// Decisions the documents leave open (the tests pin them):
//  * op "delete": the reference table says ops are "replace" and "delete", the prose and
//    samples say "replace, add and remove" (JSON patch). "delete" is accepted as an alias
//    of "remove", with a warning; any other op is an error.
//  * resyncPeriod: documented under spec.config.replication (table, sample) and
//    spec.config (prose). Either is accepted. Both with the same duration: accepted with a
//    warning. Both with different durations: an error naming both fields.
//  * kubernetes-to-kubernetes: globalSelector is ANDed into every selector; a
//    transformation applies to the objects of its resources that its own namespace/object
//    selectors also select, which becomes a narrower rule placed before the plain one
//    (first match wins, plan.h). An object selected by two transformations gets the
//    first one's operations (warning).
//
// Thread-safe (no shared state). Never throws: yaml-cpp and nlohmann exceptions are turned
// into errors with line/column or field path.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/status.h"
#include "kubesync/plan/plan.h"

namespace kubesync::plan {

inline constexpr std::string_view kObjectsPlugin = "kubernetes-objects-to-kubernetes";
inline constexpr std::string_view kSelectorsPlugin = "kubernetes-to-kubernetes";
// The reference's API groups and their one version.
inline constexpr std::string_view kAssetsGroup = "assets.astronetes.io";
inline constexpr std::string_view kAutomationGroup = "automation.astronetes.io";
inline constexpr std::string_view kApiVersion = "v1alpha1";
inline constexpr std::string_view kAutomationApiVersion = "automation.astronetes.io/v1alpha1";
// The normalized plan's own JSON form is recognised by this apiVersion/kind.
inline constexpr std::string_view kPlanApiVersion = "kubesync.io/v1";
inline constexpr std::string_view kPlanKind = "ReplicationPlan";

// Limits of spec.config.components.<name> (issue 10): each replica is a process on the
// controller's host and each concurrent task a thread of every replica, so a typo or a
// hostile value must not fork-bomb the host. Larger values are field errors.
inline constexpr int32_t kMaxComponentReplicas = 16;
inline constexpr int32_t kMaxConcurrentTasks = 128;
// spec.config.sourceName == destinationName makes kubesync write onto the objects it
// reads (scaling the live workloads to 0 with the usual transformation); it is an error
// unless the LiveSynchronization carries this annotation with the value "true". The plan
// form keeps the permission as "allowSameCluster": true.
inline constexpr std::string_view kAllowSameClusterAnnotation = "kubesync.io/allow-same-cluster";

struct ParseOptions {
  // Namespace the operator runs in; copied to Plan::operator_namespace.
  std::string operator_namespace;
};

struct ParseReport {
  std::vector<FieldError> errors;
  std::vector<FieldError> warnings;
};

// From a LiveSynchronization object (apiVersion, kind, metadata, spec), or from the plan's
// own JSON form (ToJson). `report`, when given, receives errors and warnings.
Result<Plan> ParseLiveSynchronization(const nlohmann::json& object, const ParseOptions& options = {},
                                      ParseReport* report = nullptr);

// From YAML (or JSON) text. A multi-document stream may hold other kinds (Secrets, Buckets):
// it must hold exactly one LiveSynchronization (or one plan). YAML is read as Kubernetes
// reads it (sigs.k8s.io/yaml: YAML 1.1 scalars; quoted scalars stay strings).
Result<Plan> ParseLiveSynchronizationYaml(std::string_view yaml, const ParseOptions& options = {},
                                          ParseReport* report = nullptr);

// The plan's own JSON form, and back. FromJson validates as thoroughly as the CR parser
// (regular expressions, pointers, selectors), with paths into the plan document.
nlohmann::json ToJson(const Plan& plan);
Result<Plan> FromJson(const nlohmann::json& plan_json, ParseReport* report = nullptr);

// Converts YAML text (one or more documents) to JSON values, one per non-empty document.
// Errors carry "line L, column C" (1-based).
Result<std::vector<nlohmann::json>> YamlToJson(std::string_view yaml);

// Go-style durations of whole seconds made of h/m/s parts: "3h25m12s", "1h0m0s", "90m",
// "45s" (also "1.5h", "0.5m" when they come to whole seconds). Must be positive.
Result<std::chrono::seconds> ParseDuration(std::string_view text);
// "1h0m0s", "3h25m12s", "45s": the form Go's Duration.String() prints.
std::string FormatDuration(std::chrono::seconds d);

}  // namespace kubesync::plan
