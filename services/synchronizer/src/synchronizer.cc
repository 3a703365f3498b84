#include "synchronizer.h"

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <semaphore>
#include <thread>
#include <vector>

#include "applier.h"
#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/kube/client.h"
#include "kubesync/service/bus.h"
#include "kubesync/service/context.h"
#include "kubesync/service/options.h"
#include "kubesync/service/shutdown.h"
#include "kubesync/service/state.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/redis_client.h"
#include "partition_worker.h"

namespace kubesync::synchronizer {

namespace {

constexpr char kComponent[] = "synchronizer";

}  // namespace

int Run(int argc, char** argv) {
  service::ShutdownSignal shutdown;  // first: before any thread exists

  CLI::App app{"kubesync synchronizer: writes replicated objects to the destination cluster"};
  service::CommonOptions common;
  service::AddCommonFlags(app, common);
  int ack_wait_seconds = 15;
  app.add_option("--ack-wait-seconds", ack_wait_seconds,
                 "Seconds before an unacknowledged message (e.g. of a crashed replica) is delivered again")
      ->check(CLI::Range(1, 3600));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto context = service::MakeContext(kComponent, common);
  if (!context.ok()) {
    std::cerr << "synchronizer: " << context.status().ToString() << "\n";
    return 2;
  }
  const service::ServiceContext& ctx = *context;
  const log::Logger& logger = ctx.logger;
  auto stream = bus::StreamName(ctx.id);
  if (!stream.ok()) {
    std::cerr << "synchronizer: " << stream.status().ToString() << "\n";
    return 2;
  }

  // Retries inside one call stay short: a message that keeps failing goes back to NATS
  // (Nak with a growing delay) rather than holding its partition past the AckWait.
  kube::ClientOptions client_options;
  client_options.qps = common.kube_qps;
  client_options.burst = common.kube_burst;
  client_options.max_retries = 3;
  client_options.backoff =
      BackoffPolicy{std::chrono::milliseconds(100), std::chrono::milliseconds(2000), 2.0, 0.2};
  client_options.max_retry_after = std::chrono::seconds(2);
  auto destination = service::ConnectCluster(common.destination_kubeconfig, client_options);
  if (!destination.ok()) {
    logger.Error("error connecting to cluster",
                 {{"error", destination.status().ToString()},
                  {"destinationCluster", {{"name", ctx.plan.destination_cluster}}}});
    return 1;
  }

  auto redis = service::ConnectState(ctx, shutdown);
  if (!redis.ok()) {
    if (shutdown.requested()) return 0;
    logger.Error("error connecting to redis", {{"error", redis.status().ToString()}});
    return 1;
  }
  state::ObjectStateStore store(redis->get());

  auto nats = service::ConnectBus(ctx, shutdown);
  if (!nats.ok()) {
    if (nats.status().code() == Code::kCancelled) return 0;
    logger.Error("error connecting to nats", {{"error", nats.status().ToString()}});
    return 1;
  }
  ApplierOptions applier_options;
  applier_options.id = ctx.id;
  applier_options.dry_run = ctx.plan.dry_run;
  applier_options.force_namespace_creation = ctx.plan.force_namespace_creation;
  applier_options.destination_cluster = ctx.plan.destination_cluster;
  applier_options.destination_cluster_namespace = ctx.plan.namespace_;
  Applier applier(destination->get(), &store, logger, applier_options);

  // concurrentTasks bounds the messages this replica applies at once, across partitions.
  std::optional<int> concurrent_tasks;
  if (auto it = ctx.plan.components.find("synchronizer"); it != ctx.plan.components.end()) {
    concurrent_tasks = it->second.concurrent_tasks;
  }
  std::unique_ptr<std::counting_semaphore<>> apply_slots;
  if (concurrent_tasks.has_value() && *concurrent_tasks < common.partitions) {
    apply_slots = std::make_unique<std::counting_semaphore<>>(*concurrent_tasks);
  }

  std::vector<std::unique_ptr<PartitionWorker>> workers;
  std::vector<std::thread> threads;
  for (int p = 0; p < common.partitions; ++p) {
    auto subject = bus::SyncSubject(ctx.id, p);
    if (!subject.ok()) {
      logger.Error("error subscribing to nats", {{"error", subject.status().ToString()}});
      return 2;
    }
    PartitionWorkerOptions options;
    options.stream = *stream;
    options.filter_subject = *subject;
    options.partition = p;
    options.ack_wait = std::chrono::seconds(ack_wait_seconds);
    options.apply_slots = apply_slots.get();
    workers.push_back(
        std::make_unique<PartitionWorker>(nats->get(), &applier, logger, options, &shutdown.flag()));
  }
  for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->Run(); });
  logger.Info("synchronizer started", {{"partitions", common.partitions},
                                       {"concurrentTasks", apply_slots ? *concurrent_tasks : common.partitions},
                                       {"destinationCluster", {{"name", ctx.plan.destination_cluster}}},
                                       {"dryRun", ctx.plan.dry_run}});
  shutdown.Wait();
  for (auto& t : threads) t.join();
  logger.Info("synchronizer stopped");
  return 0;
}

}  // namespace kubesync::synchronizer
