#include "run.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "kube_source.h"
#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/recovery.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/service/bus.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/service/retry.h"
#include "kubesync/service/run.h"
#include "kubesync/service/state.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/problems.h"
#include "processor.h"
#include "worker.h"

namespace kubesync::processor {
namespace {

constexpr const char* kDurable = "processor";

Status RunProcessor(service::ServiceContext& ctx, service::ShutdownSignal& shutdown, int workers) {
  const service::CommonOptions& options = ctx.options;
  const log::Logger& logger = ctx.logger;
  const plan::Plan& plan = ctx.plan;
  const nlohmann::json source_cluster = service::ClusterRef(plan.source_cluster, plan.namespace_);
  if (workers == 0) {
    auto it = plan.components.find("processor");
    workers = it != plan.components.end() && it->second.concurrent_tasks.has_value() ? *it->second.concurrent_tasks : 2;
    workers = std::clamp(workers, 1, 64);
  }

  Result<std::unique_ptr<kube::Client>> source = service::ConnectCluster(
      options.source_kubeconfig, kube::ClientOptions{.qps = options.kube_qps, .burst = options.kube_burst});
  if (!source.ok()) {
    return service::StartFailure(logger, "error connecting to cluster", source.status(),
                                 {{"sourceCluster", source_cluster}});
  }
  Result<std::string> events_subject = bus::EventsSubject(ctx.id);
  Result<std::string> stream_name = bus::StreamName(ctx.id);
  if (!events_subject.ok() || !stream_name.ok()) {
    const Status& error = !events_subject.ok() ? events_subject.status() : stream_name.status();
    logger.Error("invalid live synchronization id", {{"error", error.ToString()}});
    return error;
  }

  Result<std::unique_ptr<state::RedisClient>> redis = service::ConnectState(ctx, shutdown);
  if (!redis.ok()) return service::StartFailure(logger, "error connecting to redis", redis.status());
  state::ObjectStateStore records(redis->get());
  const std::string id = ctx.id;
  RecordsFn records_fn = [&records, id](const std::string& key) -> Result<bool> {
    KS_ASSIGN_OR_RETURN(std::optional<state::ObjectRecord> record, records.Get(id, key));
    return record.has_value() && !record->deleted;
  };

  Result<std::unique_ptr<bus::Connection>> nats = service::ConnectBus(ctx, shutdown);
  if (!nats.ok()) return service::StartFailure(logger, "error connecting to nats", nats.status());

  KubeSourceView view(**source, Processor::ReadsNamespaceLabels(plan), logger, source_cluster);
  ProcessorConfig config;
  config.id = ctx.id;
  config.ls_namespace = plan.namespace_;
  config.ls_name = plan.name;
  config.partitions = options.partitions;
  Processor processor(plan, config, view, records_fn, logger, source_cluster);

  bus::ConsumerOptions consumer_options;
  consumer_options.stream = *stream_name;
  consumer_options.durable = kDurable;
  consumer_options.filter_subject = *events_subject;
  // Redelivery is bounded: a backstop far beyond what the worker's growing Nak delays reach
  // in hours (failures that can never succeed are terminated and reported first).
  consumer_options.max_deliver = 1000;
  bus::StreamOptions stream_options;
  stream_options.id = ctx.id;
  std::vector<std::unique_ptr<bus::RecoveringConsumer>> consumers;
  std::vector<std::unique_ptr<bus::AsyncPublisher>> publishers;
  for (int i = 0; i < workers; ++i) {
    // Binds on its first fetch, and creates the consumer (and the stream) again if lost.
    consumers.push_back(
        std::make_unique<bus::RecoveringConsumer>(nats->get(), stream_options, consumer_options));
    Result<std::unique_ptr<bus::AsyncPublisher>> publisher = (*nats)->NewAsyncPublisher();
    if (!publisher.ok()) {
      return service::StartFailure(logger, "error subscribing to events", publisher.status());
    }
    publishers.push_back(std::move(*publisher));
  }
  state::ProblemStore problems(redis->get());
  ReportFn report = [&problems, id](const proto::Event& event, std::string_view reason, const Status& error,
                                    uint64_t deliveries) {
    return problems.Report(id, state::Problem{proto::ObjectKey(event), event.uid,
                                              event.resource_version_number, std::string(reason), "processor",
                                              error.message(), static_cast<int64_t>(deliveries), 0});
  };

  // Namespace labels decide scope; do not judge objects before the informer has listed.
  while (!view.WaitForSync(std::chrono::milliseconds(500))) {
    if (shutdown.requested()) return CancelledError("shutdown requested");
  }

  logger.Info("processor started", {{"sourceCluster", source_cluster}, {"workers", workers}});
  WorkerConfig worker_config;
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      RunWorker(processor, *consumers[i], *publishers[i], worker_config, logger, shutdown.flag(), report);
    });
  }
  shutdown.Wait();
  logger.Info("processor stopping", {{"sourceCluster", source_cluster}});
  for (std::thread& t : threads) t.join();
  return OkStatus();
}

}  // namespace

int Run(int argc, char** argv) {
  int workers = 0;
  return service::RunComponent(
      argc, argv,
      {.name = "processor",
       .description = "kubesync processor: filters and transforms source events for the synchronizers",
       .add_flags =
           [&](CLI::App& app) {
             app.add_option("--workers", workers,
                            "worker threads (default: components.processor.concurrentTasks, else 2)")
                 ->check(CLI::Range(1, 64));
           },
       .body = [&](service::ServiceContext& ctx,
                   service::ShutdownSignal& shutdown) { return RunProcessor(ctx, shutdown, workers); }});
}

}  // namespace kubesync::processor
