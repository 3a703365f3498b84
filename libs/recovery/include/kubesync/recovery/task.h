// Recovery: the Task a LiveSynchronization's recovery steps become in the destination
// cluster (plugin kubernetes-objects-transformation, .helpers/s2-contract.md), its parsed
// and validated form, and running it against the destination (what the `restorer` binary
// does for one TaskRun).
//
// DeriveTask and ParseTask are pure and thread-safe. RunTask talks to the destination
// through the given client and blocks its caller; never throws.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/plan/parse.h"
#include "kubesync/plan/plan.h"

namespace kubesync::recovery {

inline constexpr std::string_view kTaskGroup = plan::kAutomationGroup;
inline constexpr std::string_view kTaskVersion = plan::kApiVersion;
inline constexpr std::string_view kTasksResource = "tasks";
inline constexpr std::string_view kTaskRunsResource = "taskruns";

// The Task annotation that says which recovery steps kubesync derived (DescribeDerivedSteps).
inline constexpr std::string_view kDerivedRecoveryAnnotation = "kubesync.io/derived-recovery";

// A recovery step kubesync adds on its own: a rule transforms fields that no explicit
// recovery step (recoveryProcess.fromPatch, fromOriginal) puts back, so the run restores the
// values the transformation recorded on each destination object
// (kubesync.io/original-values: the source's values, e.g. its replica counts). This is what
// makes the kubernetes-to-kubernetes shape (seeds/002), which has no recoveryProcess,
// recoverable. A fromPatch operation covers a transformed path when it writes that path or
// one containing it; fromOriginal.enabled covers every path.
struct DerivedStep {
  plan::Gvr gvr;
  std::string source;              // the rule's source path ("spec.config.transformations[0] ...")
  std::vector<std::string> paths;  // the transformed JSON pointers restored, in operation order
  friend bool operator==(const DerivedStep&, const DerivedStep&) = default;
};

// The derived steps of `plan`, in rule order (empty when every transformed field has an
// explicit recovery step). Pure.
std::vector<DerivedStep> DerivedSteps(const plan::Plan& plan);

// One line for people, "" when `steps` is empty:
//   "derived recovery (no recovery step given for a transformed field): apps/v1/deployments
//    (<source>): restore /spec/replicas from kubesync.io/original-values; <next step>..."
// The Task carries it in kDerivedRecoveryAnnotation; the controller puts it in an Event.
std::string DescribeDerivedSteps(const std::vector<DerivedStep>& steps);

// The whole Task object the controller keeps in the destination for `plan`: apiVersion,
// kind, metadata {name: plan.name, namespace: task_namespace, labels {kubesync.io/managed-by:
// LabelValueForId(id)}, annotations {kubesync.io/live-synchronization: id, and
// kubesync.io/derived-recovery when DerivedSteps is not empty}}, and spec {plugin,
// config.resources[]} with one entry per rule that has a recovery step (recovery_patch,
// recover_from_original, or a derived step: fromOriginal {enabled: true, paths: [...]}), in
// rule order. `id` is transform::LiveSynchronizationId(plan.namespace_, plan.name).
// Deterministic: the same plan gives the same JSON (compare with operator== to decide
// whether to update).
nlohmann::json DeriveTask(const plan::Plan& plan, std::string_view task_namespace);

// One resources[] entry, ready to run.
struct TaskResource {
  plan::Gvr gvr;
  // Selection (patch.filter): namespace labels, object labels, name regexes. The `gvr`,
  // selectors, name filters and `recovery_patch`/`recover_from_original` are used; the
  // `transformation` stays empty.
  plan::Rule rule;
  // "spec.config.resources[i]", for messages.
  std::string source;
  // fromOriginal.paths: with rule.recover_from_original, restore only the recorded values at,
  // under or containing these JSON pointers (the rest stay recorded); empty = all of them.
  std::vector<std::string> original_paths;
};

struct TaskSpec {
  std::string name;
  std::string namespace_;
  // The owning LiveSynchronization id (annotation kubesync.io/live-synchronization); when
  // set, only objects transform::IsManagedBy it are touched.
  std::optional<std::string> live_synchronization;
  std::vector<TaskResource> resources;
  // Accepted but noteworthy (the reference shape's identifier.resources, op "delete"), with
  // their field paths; for a ConfigurationWarning.
  std::vector<plan::FieldError> warnings;
};

// Validates (plan::ValidateAutomationObject: kInvalidArgument, one "<path>: <message>"
// line per error; warnings in TaskSpec::warnings) and compiles a Task object. Both the
// derived shape (identifier.resource) and the reference shape (identifier.resources,
// seeds/001 6.1.4 and seeds/002) are accepted.
Result<TaskSpec> ParseTask(const nlohmann::json& task);

// One object the run could not restore.
struct Failure {
  std::string object;  // "apps/v1/deployments ns/name" (no "ns/" for cluster-scoped)
  std::string reason;
  friend bool operator==(const Failure&, const Failure&) = default;
};

inline constexpr std::size_t kMaxFailures = 100;

// Counts are of the objects a resource entry selects (and, for a derived Task, that its
// LiveSynchronization manages); other objects are not counted.
struct RunReport {
  int64_t patched = 0;  // written
  int64_t skipped = 0;  // nothing to change, or deleted meanwhile: not written
  // Objects that could not be restored, plus resource entries that could not be run at all
  // (resource not served, list failed), whose `object` is then the resource ("apps/v1/deployments").
  int64_t failed = 0;
  // The first kMaxFailures failures (`failed` counts all of them).
  std::vector<Failure> failures;
  bool ok() const { return failed == 0; }
};

struct RunOptions {
  // Field manager for the updates.
  std::string field_manager = "kubesync-restorer";
  // Attempts of the GET-modify-PUT cycle for one object on 409 Conflict.
  int max_conflict_retries = 5;
  // Test hook: called after the list, before an object is processed (e.g. to delete it).
  std::function<void(const nlohmann::json& listed)> before_object;
};

// Runs every resource entry of `task` on `destination`, in order. Per resource: discovery
// (namespaced or not), the namespaces' labels when namespaceSelector is set, one list (for a
// derived Task narrowed by the managed-by label). Per selected object: restore the values
// of kubesync.io/original-values when fromOriginal is enabled (the annotation is removed;
// with fromOriginal.paths only those entries are restored, the rest stay recorded),
// then apply the patch operations (transform::ApplyTransformation semantics), then update;
// on 409 Conflict GET the object again and redo, up to max_conflict_retries. Objects
// deleted meanwhile (404) and objects with nothing to change are skipped without a write.
// Objects in kube-*/openshift* namespaces are never touched (the pipeline's default
// exclusions). Per-object problems are in the report; the Status is an error only when the
// run could not start (currently never).
Result<RunReport> RunTask(kube::Client& destination, const TaskSpec& task, const log::Logger& logger,
                          const RunOptions& options = {});

}  // namespace kubesync::recovery
