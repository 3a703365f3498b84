#include "run.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <utility>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/service/bus.h"
#include "kubesync/service/context.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/service/options.h"
#include "kubesync/service/shutdown.h"
#include "kubesync/service/state.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/redis_client.h"
#include "listener.h"

namespace kubesync::eventslistener {
namespace {

constexpr const char* kComponent = "eventslistener";

}  // namespace

int Run(int argc, char** argv) {
  service::ShutdownSignal shutdown;  // first, before any thread

  CLI::App app{"kubesync events listener: watches the source cluster and publishes its changes"};
  service::CommonOptions options;
  service::AddCommonFlags(app, options);
  int64_t page_size = 500;
  app.add_option("--page-size", page_size, "LIST page size")->check(CLI::Range(1, 10000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  Result<service::ServiceContext> ctx = service::MakeContext(kComponent, options);
  if (!ctx.ok()) {
    std::cerr << kComponent << ": " << ctx.status().ToString() << "\n";
    return 2;
  }
  const log::Logger& logger = ctx->logger;
  const nlohmann::json source_cluster = service::ClusterRef(ctx->plan.source_cluster, ctx->plan.namespace_);

  Result<std::unique_ptr<kube::Client>> source = service::ConnectCluster(
      options.source_kubeconfig, kube::ClientOptions{.qps = options.kube_qps, .burst = options.kube_burst});
  if (!source.ok()) {
    logger.Error("error connecting to cluster", {{"sourceCluster", source_cluster}, {"error", source.status().ToString()}});
    return 1;
  }

  Result<std::string> subject = bus::EventsSubject(ctx->id);
  if (!subject.ok()) {
    logger.Error("invalid live synchronization id", {{"error", subject.status().ToString()}});
    return 2;
  }

  Result<std::unique_ptr<bus::Connection>> nats = service::ConnectBus(*ctx, shutdown);
  if (!nats.ok()) {
    if (nats.status().code() == Code::kCancelled) return 0;
    logger.Error("error connecting to nats", {{"error", nats.status().ToString()}});
    return 1;
  }

  // The synchronizer's records: what the destination holds, to find deletes missed while
  // no listener watched (SweepOnce).
  Result<std::unique_ptr<state::RedisClient>> redis = service::ConnectState(*ctx, shutdown, /*pool_size=*/1);
  if (!redis.ok()) {
    if (redis.status().code() == Code::kCancelled) return 0;
    logger.Error("error connecting to redis", {{"error", redis.status().ToString()}});
    return 1;
  }
  state::ObjectStateStore records(redis->get());

  ListenerConfig config;
  config.id = ctx->id;
  config.events_subject = *subject;
  config.resync_period = ctx->plan.resync_period;
  config.page_size = page_size;
  bus::Connection* connection = nats->get();
  PublishFn publish = [connection](std::string_view subj, std::string_view data, std::string_view msg_id) {
    return connection->Publish(subj, data, msg_id).status();
  };
  EventsListener listener(**source, ctx->plan, config, std::move(publish), logger, source_cluster);
  const std::string id = ctx->id;
  listener.SetSyncedObjects([&records, id](const std::function<void(const SyncedObject&)>& visit) {
    return records.Scan(id, [&visit](const state::ObjectRecord& record) {
      if (!record.deleted) visit(SyncedObject{record.object_key, record.uid, record.rv});
      return true;
    });
  });
  logger.Info("events listener started", {{"sourceCluster", source_cluster}, {"subject", *subject}});
  listener.Start();
  shutdown.Wait();
  logger.Info("events listener stopping", {{"sourceCluster", source_cluster}});
  listener.Stop();
  return 0;
}

}  // namespace kubesync::eventslistener
