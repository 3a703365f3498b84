#include "run.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>

#include "kubesync/core/log.h"
#include "kubesync/service/context.h"
#include "kubesync/service/run.h"
#include "restorer.h"

namespace kubesync::restorer {
namespace {

constexpr char kComponent[] = "restorer";

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"kubesync restorer: runs the Task of one TaskRun on the destination cluster"};
  std::string kubeconfig;
  RestorerOptions options;
  std::string log_level = "info";
  std::string consumer_id;
  app.add_option("--destination-kubeconfig", kubeconfig,
                 "Kubeconfig of the destination cluster (empty: in-cluster service account)");
  app.add_option("--namespace", options.namespace_, "Namespace of the TaskRun and its Task")->required();
  app.add_option("--taskrun", options.taskrun, "Name of the TaskRun")->required();
  app.add_option("--log-level", log_level, "debug, info, warn or error");
  app.add_option("--consumer-id", consumer_id, "Identity in the logs (default restorer-<pid>)");
  // --help exits 0; a usage error is "no status" (2).
  if (std::optional<int> code = service::ParseFlags(app, argc, argv)) return *code == 0 ? 0 : kExitNoStatus;
  auto level = log::ParseLevel(log_level);
  if (!level.ok()) {
    std::cerr << "restorer: --log-level: " << level.status().message() << "\n";
    return kExitNoStatus;
  }
  if (consumer_id.empty()) consumer_id = std::string(kComponent) + "-" + std::to_string(::getpid());
  log::Logger logger({.process_id = kComponent, .consumer_id = consumer_id, .level = *level},
                     log::StdoutSink());
  auto destination = service::ConnectCluster(kubeconfig);
  if (!destination.ok()) {
    logger.Error("error connecting to cluster", {{"error", destination.status().ToString()}});
    return kExitNoStatus;
  }
  return RestoreTaskRun(**destination, options, logger);
}

}  // namespace kubesync::restorer
