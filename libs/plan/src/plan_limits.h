// Private: the limits no LiveSynchronization gets past (issue 10), checked after the shapes
// are parsed so that both shapes and the plan form share them: component replicas and
// concurrentTasks (kMaxComponentReplicas, kMaxConcurrentTasks), one cluster as source and
// destination (only with kAllowSameClusterAnnotation), and kubesync's own API group.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "diagnostics.h"
#include "kubesync/plan/plan.h"

namespace kubesync::plan::internal {

// False, with an error at `<path>.group`, for automation.astronetes.io.
bool CheckReplicableGroup(std::string_view group, std::string_view path, Diagnostics& d);

// Errors at `<components_path>.<name>.replicas|concurrentTasks` past the caps; the bad
// values are dropped from `plan`.
void CheckComponentLimits(Plan& plan, std::string_view components_path, Diagnostics& d);

// An error at `destination_path` when source and destination name one cluster and
// plan.allow_same_cluster is false.
void CheckClusterPair(const Plan& plan, std::string_view destination_path, Diagnostics& d);

// A name regular expression longer than kMaxRegexBytes is an error at `path`: object names
// are at most 253 characters, and every event of a resource is matched against each
// pattern, so a megabyte of alternations would only burn the processor's CPU.
inline constexpr std::size_t kMaxRegexBytes = 4096;
bool CheckRegexSize(const std::string& pattern, std::string_view path, Diagnostics& d);

// metadata.annotations[kubesync.io/allow-same-cluster] of a LiveSynchronization: "true" or
// "false" (absent: false); anything else is an error.
bool ParseAllowSameCluster(const json& metadata, Diagnostics& d);

}  // namespace kubesync::plan::internal
