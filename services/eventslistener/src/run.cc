#include "run.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <utility>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/recovery.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/core/backoff.h"
#include "kubesync/service/bus.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/service/run.h"
#include "kubesync/service/state.h"
#include "kubesync/state/problems.h"
#include "kubesync/state/redis_client.h"
#include "kubesync/state/source_identity.h"
#include "listener.h"
#include "source_identity.h"

namespace kubesync::eventslistener {
namespace {

Status RunListener(service::ServiceContext& ctx, service::ShutdownSignal& shutdown, int64_t page_size,
                   std::chrono::seconds identity_period) {
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

  // Which source cluster this is (issue 10 item 4): its identity and epoch live in Redis.
  Result<std::unique_ptr<state::RedisClient>> redis = service::ConnectState(ctx, shutdown, /*pool_size=*/1);
  if (!redis.ok()) return service::StartFailure(logger, "error connecting to redis", redis.status());
  state::SourceIdentityStore identities(redis->get());
  // Objects too large for the bus are recorded where the controller reports them.
  state::ProblemStore problems(redis->get());

  // The source's identity is read with a client that does not retry, so a source that is
  // away costs one attempt per check, not a retry ladder.
  Result<std::string> server = SourceServer(options.source_kubeconfig);
  if (!server.ok()) {
    return service::StartFailure(logger, "error connecting to cluster", server.status(),
                                 {{"sourceCluster", source_cluster}});
  }
  Result<std::unique_ptr<kube::Client>> probe = service::ConnectCluster(
      options.source_kubeconfig, kube::ClientOptions{.qps = 5, .burst = 10, .max_retries = 0});
  if (!probe.ok()) {
    return service::StartFailure(logger, "error connecting to cluster", probe.status(),
                                 {{"sourceCluster", source_cluster}});
  }
  SourceIdentityTracker tracker(**probe, *server, identities, ctx.id, logger, source_cluster);
  // Without an identity (no right to read kube-system, say) the listener runs without an
  // epoch, as before: a rebuilt source is then not noticed.
  bool identity_known = true;
  Backoff identity_backoff({std::chrono::milliseconds(200), std::chrono::seconds(5), 2.0, 0.2});
  while (true) {
    Result<uint64_t> first = tracker.Observe();
    if (first.ok()) break;
    logger.Warn("error reading source cluster identity",
                {{"sourceCluster", source_cluster}, {"error", first.status().ToString()}});
    const Code code = first.status().code();
    if (code == Code::kPermissionDenied || code == Code::kNotFound || code == Code::kInvalidArgument) {
      identity_known = false;
      break;
    }
    if (shutdown.WaitFor(identity_backoff.Next())) return OkStatus();
  }

  bus::Connection* connection = nats->get();
  // A stream that was deleted (or lost with a nats-server's store) is created again, and
  // what it held is published again from a fresh list.
  bus::StreamOptions stream_options;
  stream_options.id = ctx.id;
  bus::StreamKeeper stream_keeper(connection, stream_options);
  (void)stream_keeper.Check();  // remember the stream ConnectBus made sure of
  while (!shutdown.requested()) {
    ListenerConfig config;
    config.id = ctx.id;
    config.events_subject = *subject;
    config.resync_period = ctx.plan.resync_period;
    config.page_size = page_size;
    config.source_epoch = tracker.epoch();
    PublishFn publish = [connection](std::string_view subj, std::string_view data, std::string_view msg_id) {
      return connection->Publish(subj, data, msg_id).status();
    };
    EventsListener listener(**source, ctx.plan, config, std::move(publish), logger, source_cluster);
    listener.SetProblemReporter([&problems, id = ctx.id](const proto::Event& event, const Status& error) {
      return problems.Report(
          id, state::Problem{proto::ObjectKey(event), event.uid, event.resource_version_number,
                             std::string(state::kProblemTooLarge), "eventslistener", error.message(), 0, 0});
    });
    listener.SetStreamCheck([&stream_keeper] { return stream_keeper.Check(); });
    logger.Info(
        "events listener started",
        {{"sourceCluster", source_cluster}, {"subject", *subject}, {"sourceEpoch", config.source_epoch}});
    listener.Start();
    // Check the identity again whenever an informer lists or starts a watch again (the
    // source may have been replaced behind the same address: a watch resumed there at a
    // resourceVersion the new server has not reached would wait silently, without an
    // error), and every identity period.
    auto activity = [&listener] {
      uint64_t n = 0;
      for (const kube::InformerStats& s : listener.informer_stats())
        n += s.lists + s.watches + s.watch_errors;
      return n;
    };
    uint64_t seen = activity();
    bool pending = false;
    auto last_check = std::chrono::steady_clock::now();
    bool source_changed = false;
    while (identity_known && !source_changed && !shutdown.WaitFor(std::chrono::seconds(1))) {
      const uint64_t now_activity = activity();
      if (now_activity != seen) {
        seen = now_activity;
        pending = true;
      }
      if (std::chrono::steady_clock::now() - last_check >= identity_period) pending = true;
      if (!pending) continue;
      const uint64_t before = tracker.epoch();
      Result<uint64_t> epoch = tracker.Observe();
      if (!epoch.ok()) continue;  // the source (or Redis) is away: try again next second
      pending = false;
      last_check = std::chrono::steady_clock::now();
      source_changed = *epoch != before;
    }
    if (!source_changed) shutdown.Wait();
    logger.Info("events listener stopping", {{"sourceCluster", source_cluster}});
    listener.Stop();
  }
  return OkStatus();
}

}  // namespace

int Run(int argc, char** argv) {
  int64_t page_size = 500;
  int64_t identity_period_seconds = 60;
  return service::RunComponent(
      argc, argv,
      {.name = "eventslistener",
       .description = "kubesync events listener: watches the source cluster and publishes its changes",
       .add_flags =
           [&](CLI::App& app) {
             app.add_option("--page-size", page_size, "LIST page size")->check(CLI::Range(1, 10000));
             app.add_option("--identity-check-period", identity_period_seconds,
                            "seconds between checks that the source is still the same cluster (also "
                            "checked whenever a watch or list starts again)")
                 ->check(CLI::Range(1, 86400));
           },
       .body =
           [&](service::ServiceContext& ctx, service::ShutdownSignal& shutdown) {
             return RunListener(ctx, shutdown, page_size, std::chrono::seconds(identity_period_seconds));
           }});
}

}  // namespace kubesync::eventslistener
