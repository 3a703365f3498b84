#include "run.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <utility>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/recovery.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/service/bus.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/service/run.h"
#include "kubesync/service/state.h"
#include "kubesync/state/problems.h"
#include "listener.h"

namespace kubesync::eventslistener {
namespace {

Status RunListener(service::ServiceContext& ctx, service::ShutdownSignal& shutdown, int64_t page_size) {
  const log::Logger& logger = ctx.logger;
  const service::CommonOptions& options = ctx.options;
  const nlohmann::json source_cluster = service::ClusterRef(ctx.plan.source_cluster, ctx.plan.namespace_);

  Result<std::unique_ptr<kube::Client>> source = service::ConnectCluster(
      options.source_kubeconfig, kube::ClientOptions{.qps = options.kube_qps, .burst = options.kube_burst});
  if (!source.ok()) {
    return service::StartFailure(logger, "error connecting to cluster", source.status(),
                                 {{"sourceCluster", source_cluster}});
  }

  Result<std::string> subject = bus::EventsSubject(ctx.id);
  if (!subject.ok()) {
    logger.Error("invalid live synchronization id", {{"error", subject.status().ToString()}});
    return subject.status();
  }

  Result<std::unique_ptr<bus::Connection>> nats = service::ConnectBus(ctx, shutdown);
  if (!nats.ok()) return service::StartFailure(logger, "error connecting to nats", nats.status());

  // Where objects the listener gives up on are recorded (state::ProblemStore).
  Result<std::unique_ptr<state::RedisClient>> redis = service::ConnectState(ctx, shutdown, /*pool_size=*/1);
  if (!redis.ok()) return service::StartFailure(logger, "error connecting to redis", redis.status());

  ListenerConfig config;
  config.id = ctx.id;
  config.events_subject = *subject;
  config.resync_period = ctx.plan.resync_period;
  config.page_size = page_size;
  bus::Connection* connection = nats->get();
  PublishFn publish = [connection](std::string_view subj, std::string_view data, std::string_view msg_id) {
    return connection->Publish(subj, data, msg_id).status();
  };
  EventsListener listener(**source, ctx.plan, config, std::move(publish), logger, source_cluster);
  // Objects too large for the bus are recorded where the controller reports them.
  state::ProblemStore problems(redis->get());
  listener.SetProblemReporter([&problems, id = ctx.id](const proto::Event& event, const Status& error) {
    return problems.Report(
        id, state::Problem{proto::ObjectKey(event), event.uid, event.resource_version_number,
                           std::string(state::kProblemTooLarge), "eventslistener", error.message(), 0, 0});
  });
  // A stream that was deleted (or lost with a nats-server's store) is created again, and
  // what it held is published again from a fresh list.
  bus::StreamOptions stream_options;
  stream_options.id = ctx.id;
  bus::StreamKeeper stream_keeper(connection, stream_options);
  (void)stream_keeper.Check();  // remember the stream ConnectBus made sure of
  listener.SetStreamCheck([&stream_keeper] { return stream_keeper.Check(); });
  logger.Info("events listener started", {{"sourceCluster", source_cluster}, {"subject", *subject}});
  listener.Start();
  shutdown.Wait();
  logger.Info("events listener stopping", {{"sourceCluster", source_cluster}});
  listener.Stop();
  return OkStatus();
}

}  // namespace

int Run(int argc, char** argv) {
  int64_t page_size = 500;
  return service::RunComponent(
      argc, argv,
      {.name = "eventslistener",
       .description = "kubesync events listener: watches the source cluster and publishes its changes",
       .add_flags =
           [&](CLI::App& app) {
             app.add_option("--page-size", page_size, "LIST page size")->check(CLI::Range(1, 10000));
           },
       .body = [&](service::ServiceContext& ctx,
                   service::ShutdownSignal& shutdown) { return RunListener(ctx, shutdown, page_size); }});
}

}  // namespace kubesync::eventslistener
