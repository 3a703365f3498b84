// What a component needs before it starts work: its validated plan, its identity and its
// logger, built once from the parsed flags (STYLE.md: typed, immutable configuration).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/plan/parse.h"
#include "kubesync/plan/plan.h"
#include "kubesync/service/options.h"

namespace kubesync::service {

struct ServiceContext {
  std::string component;  // "eventslistener", "processor", ...
  CommonOptions options;
  plan::Plan plan;
  std::string id;  // "<namespace>.<name>" of the LiveSynchronization
  log::Logger logger;
};

// Reads a plan file: a LiveSynchronization in YAML (either config shape) or the
// normalized plan's JSON form (an object with "rules"). Errors name the file and list
// every invalid field.
Result<plan::Plan> LoadPlanFile(const std::filesystem::path& path, const plan::ParseOptions& options = {});

// The LiveSynchronization identity used for subjects, Redis keys and marking.
std::string PlanId(const plan::Plan& plan);

// Validates the options, loads the plan and builds the logger (process id = component,
// consumerID = options.consumer_id or "<component>-<pid>", level from --log-level, else the
// plan's components.<component>.logLevel, else info).
Result<ServiceContext> MakeContext(std::string component, CommonOptions options,
                                   std::shared_ptr<log::Sink> sink = log::StdoutSink());

// A client for the cluster of `kubeconfig_path` ("" = in-cluster service account).
Result<std::unique_ptr<kube::Client>> ConnectCluster(const std::string& kubeconfig_path,
                                                     kube::ClientOptions options = {});

}  // namespace kubesync::service
