#include "plan_limits.h"

#include <string>
#include <utility>

#include "kubesync/plan/parse.h"

namespace kubesync::plan::internal {

bool CheckReplicableGroup(std::string_view group, std::string_view path, Diagnostics& d) {
  if (group != kAutomationGroup) return true;
  // Replicating LiveSynchronizations, Tasks or TaskRuns would have the destination's
  // controller run them with its credentials: the group is never copied (issue 10).
  static_assert(kAutomationGroup == "automation.astronetes.io");
  d.Error(Join(path, "group"),
          "automation.astronetes.io is kubesync's own API group and is never replicated (its Tasks and "
          "TaskRuns would run in the destination)");
  return false;
}

void CheckComponentLimits(Plan& plan, std::string_view components_path, Diagnostics& d) {
  // In the documented order of ComponentNames, so messages come in a stable order.
  for (const std::string& name : ComponentNames()) {
    auto it = plan.components.find(name);
    if (it == plan.components.end()) continue;
    ComponentSettings& c = it->second;
    const std::string at = Join(components_path, name);
    if (c.replicas && *c.replicas > kMaxComponentReplicas) {
      d.Error(Join(at, "replicas"), "must be at most " + std::to_string(kMaxComponentReplicas) + " (got " +
                                        std::to_string(*c.replicas) +
                                        "): each replica is a process on the controller's host");
      c.replicas.reset();
    }
    if (c.concurrent_tasks && *c.concurrent_tasks > kMaxConcurrentTasks) {
      d.Error(Join(at, "concurrentTasks"), "must be at most " + std::to_string(kMaxConcurrentTasks) +
                                               " (got " + std::to_string(*c.concurrent_tasks) +
                                               "): each task is a thread of every replica");
      c.concurrent_tasks.reset();
    }
  }
}

void CheckClusterPair(const Plan& plan, std::string_view destination_path, Diagnostics& d) {
  if (plan.allow_same_cluster || plan.source_cluster.empty() ||
      plan.source_cluster != plan.destination_cluster) {
    return;
  }
  d.Error(std::string(destination_path),
          "is the source cluster " + Quote(plan.source_cluster) +
              " too: kubesync would write onto the objects it reads (annotate the LiveSynchronization " +
              std::string(kAllowSameClusterAnnotation) + ": \"true\" if that is what you want)");
}

bool CheckRegexSize(const std::string& pattern, std::string_view path, Diagnostics& d) {
  if (pattern.size() <= kMaxRegexBytes) return true;
  d.Error(std::string(path), "invalid regular expression: " + std::to_string(pattern.size()) +
                                 " bytes long, more than the limit of " + std::to_string(kMaxRegexBytes));
  return false;
}

bool ParseAllowSameCluster(const json& metadata, Diagnostics& d) {
  const json* annotations = Find(metadata, "annotations");
  if (annotations == nullptr || !annotations->is_object()) return false;
  const json* value = Find(*annotations, kAllowSameClusterAnnotation);
  if (value == nullptr) return false;
  if (*value == "true") return true;
  if (*value != "false") {
    d.Error("metadata.annotations[" + std::string(kAllowSameClusterAnnotation) + "]",
            "must be \"true\" or \"false\" (got " +
                (value->is_string() ? Quote(value->get<std::string>()) : Describe(*value)) + ")");
  }
  return false;
}

}  // namespace kubesync::plan::internal
