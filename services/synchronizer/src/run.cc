#include "run.h"

#include <CLI/CLI.hpp>
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
#include "kubesync/service/run.h"
#include "kubesync/service/state.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/problems.h"
#include "partition_worker.h"

namespace kubesync::synchronizer {
namespace {

Status RunSynchronizer(const service::ServiceContext& ctx, service::ShutdownSignal& shutdown,
                       int ack_wait_seconds, int max_deliveries) {
  const service::CommonOptions& common = ctx.options;
  const log::Logger& logger = ctx.logger;
  auto stream = bus::StreamName(ctx.id);
  if (!stream.ok()) {
    std::cerr << "synchronizer: " << stream.status().ToString() << "\n";
    return stream.status();
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
    return service::StartFailure(logger, "error connecting to cluster", destination.status(),
                                 {{"destinationCluster", {{"name", ctx.plan.destination_cluster}}}});
  }

  auto redis = service::ConnectState(ctx, shutdown);
  if (!redis.ok()) return service::StartFailure(logger, "error connecting to redis", redis.status());
  state::ObjectStateStore store(redis->get());
  state::ProblemStore problems(redis->get());

  auto nats = service::ConnectBus(ctx, shutdown);
  if (!nats.ok()) return service::StartFailure(logger, "error connecting to nats", nats.status());
  ApplierOptions applier_options;
  applier_options.id = ctx.id;
  applier_options.dry_run = ctx.plan.dry_run;
  applier_options.force_namespace_creation = ctx.plan.force_namespace_creation;
  applier_options.destination_cluster = ctx.plan.destination_cluster;
  applier_options.destination_cluster_namespace = ctx.plan.namespace_;
  applier_options.plan = std::make_shared<const plan::Plan>(ctx.plan);
  Applier applier(destination->get(), &store, logger, applier_options, &problems);
  // Whether the destination answers at all: parking is for messages that fail while
  // others could get through, not for an outage.
  kube::Client* destination_client = destination->get();
  auto probe_destination = [destination_client]() -> Status {
    auto got = destination_client->Get(kube::ResourceRef{"", "v1", "namespaces", "", "kube-system"});
    // Found, not found or forbidden: the API server answered. Unreachable, 5xx, 429 or an
    // expired token: it did not, and nothing else would get through either.
    if (got.ok() || got.status().code() == Code::kNotFound ||
        got.status().code() == Code::kPermissionDenied) {
      return OkStatus();
    }
    return got.status();
  };
  state::SourceIdentityStore notes(redis->get());
  applier.SetNotes(&notes);

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
      return subject.status();
    }
    PartitionWorkerOptions options;
    options.stream = *stream;
    options.filter_subject = *subject;
    options.partition = p;
    options.ack_wait = std::chrono::seconds(ack_wait_seconds);
    options.apply_slots = apply_slots.get();
    options.id = ctx.id;
    options.max_deliveries = max_deliveries;
    options.probe_destination = probe_destination;
    workers.push_back(
        std::make_unique<PartitionWorker>(nats->get(), &applier, logger, options, &shutdown.flag()));
  }
  for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->Run(); });
  logger.Info("synchronizer started",
              {{"partitions", common.partitions},
               {"concurrentTasks", apply_slots ? *concurrent_tasks : common.partitions},
               {"destinationCluster", {{"name", ctx.plan.destination_cluster}}},
               {"dryRun", ctx.plan.dry_run}});
  shutdown.Wait();
  for (auto& t : threads) t.join();
  logger.Info("synchronizer stopped");
  return OkStatus();
}

}  // namespace

int Run(int argc, char** argv) {
  int ack_wait_seconds = 15;
  int max_deliveries = 20;
  return service::RunComponent(
      argc, argv,
      {.name = "synchronizer",
       .description = "kubesync synchronizer: writes replicated objects to the destination cluster",
       .add_flags =
           [&](CLI::App& app) {
             app.add_option(
                    "--ack-wait-seconds", ack_wait_seconds,
                    "Seconds before an unacknowledged message (e.g. of a crashed replica) is delivered again")
                 ->check(CLI::Range(1, 3600));
             app.add_option(
                    "--max-deliveries", max_deliveries,
                    "Deliveries of a message that keeps failing before it is parked (while the "
                    "destination answers); parked objects are reported in the LiveSynchronization's status")
                 ->check(CLI::Range(2, 500));
           },
       .body =
           [&](service::ServiceContext& ctx, service::ShutdownSignal& shutdown) {
             return RunSynchronizer(ctx, shutdown, ack_wait_seconds, max_deliveries);
           }});
}

}  // namespace kubesync::synchronizer
