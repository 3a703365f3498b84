// Validation of the other objects of the automation.astronetes.io group that go with a
// replication plan, with the same error style as parse.h (every error, field paths, "did
// you mean"): the Task the controller derives from a LiveSynchronization's recovery steps
// (plugin kubernetes-objects-transformation), TaskRun, and ZooKeeper Synchronization /
// SynchronizationPlan (plugin zookeeper-to-zookeeper-nodes). A LiveSynchronization is
// validated by parsing it into a Plan.
//
// Thread-safe, never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "kubesync/core/status.h"
#include "kubesync/plan/parse.h"

namespace kubesync::plan {

inline constexpr std::string_view kTaskPlugin = "kubernetes-objects-transformation";
inline constexpr std::string_view kZookeeperPlugin = "zookeeper-to-zookeeper-nodes";

// One object. Objects of other API groups (Secrets, KubernetesClusters, Buckets) are not
// this library's business and are accepted as they are. OK or kInvalidArgument with one
// "<path>: <message>" line per error.
Status ValidateAutomationObject(const nlohmann::json& object, ParseReport* report = nullptr);

// Every document of a YAML stream. With several documents, paths are prefixed with
// "documents[i]." (i counts the non-empty documents from 0).
Status ValidateAutomationYaml(std::string_view yaml, ParseReport* report = nullptr);

}  // namespace kubesync::plan
