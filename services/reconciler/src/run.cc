#include "run.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <utility>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/service/bus.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/service/run.h"
#include "kubesync/service/state.h"
#include "kubesync/state/pass_summary.h"
#include "kubesync/state/redis_client.h"
#include "reconciler.h"

namespace kubesync::reconciler {
namespace {

constexpr int kExitGuardTripped = 3;

struct Flags {
  bool once = false;
  bool dry_run = false;
  int64_t page_size = 500;
  double mass_delete_fraction = 0.5;
  int64_t mass_delete_min = 10;
  int64_t initial_delay_seconds = 10;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.add_flag("--once", f.once, "run one pass, print the drift report and exit");
  app.add_flag("--dry-run", f.dry_run, "change nothing: only report what a pass would do (with --once)");
  app.add_option("--page-size", f.page_size, "LIST page size")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--mass-delete-fraction", f.mass_delete_fraction,
                 "delete nothing when a pass would delete more than this "
                 "fraction of the destination's "
                 "managed copies (and more than --mass-delete-min); 1 turns "
                 "the guard off")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--mass-delete-min", f.mass_delete_min,
                 "deletes a pass may always make, whatever the fraction")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--initial-delay", f.initial_delay_seconds,
                 "seconds before the first pass (the pipeline copies the "
                 "initial list meanwhile)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

// Redis holds only the last pass's summary for the controller: the reconciler
// is right without it, so an unreachable Redis is a warning and another try
// next pass.
class SummaryWriter {
 public:
  SummaryWriter(service::CommonOptions common, std::string id, const log::Logger& logger)
      : common_(std::move(common)), id_(std::move(id)), logger_(logger) {}

  void Write(const state::PassSummary& summary) {
    if (redis_ == nullptr) {
      // With the component's Redis user and password (issue 10, item 11).
      Result<state::RedisOptions> options = service::StateOptions(common_);
      if (options.ok()) options->pool_size = 1;
      auto connected = options.ok() ? state::RedisClient::Connect(*options)
                                    : Result<std::unique_ptr<state::RedisClient>>(options.status());
      if (!connected.ok()) {
        logger_.Warn("error connecting to redis", {{"error", connected.status().ToString()}});
        return;
      }
      redis_ = std::move(*connected);
    }
    Status written = state::WritePassSummary(*redis_, id_, summary);
    if (!written.ok()) logger_.Warn("error writing reconcile pass summary", {{"error", written.ToString()}});
  }

 private:
  service::CommonOptions common_;
  std::string id_;
  const log::Logger& logger_;
  std::unique_ptr<state::RedisClient> redis_;
};

void PrintReport(const PassReport& report) {
  const std::shared_ptr<log::Sink> out = log::StdoutSink();
  for (const nlohmann::json& line : ReportLines(report)) out->Write(line.dump());
  out->Flush();
}

int ExitCode(const PassReport& report) {
  if (report.guard_tripped) return kExitGuardTripped;
  return report.failed_resources() > 0 ? service::kExitFailure : service::kExitOk;
}

// The component's body; `once_exit` gets the --once pass's exit code.
Status RunReconciler(service::ServiceContext& ctx, service::ShutdownSignal& shutdown, const Flags& flags,
                     int& once_exit) {
  const log::Logger& logger = ctx.logger;
  const service::CommonOptions& options = ctx.options;
  const plan::Plan& plan = ctx.plan;
  if (flags.dry_run && !flags.once) {
    std::cerr << "reconciler: --dry-run: only with --once\n";
    return InvalidArgumentError("--dry-run: only with --once");
  }
  const nlohmann::json source_cluster = service::ClusterRef(plan.source_cluster, plan.namespace_);
  const nlohmann::json destination_cluster = service::ClusterRef(plan.destination_cluster, plan.namespace_);
  const kube::ClientOptions client_options{.qps = options.kube_qps, .burst = options.kube_burst};

  Result<std::unique_ptr<kube::Client>> source =
      service::ConnectCluster(options.source_kubeconfig, client_options);
  if (!source.ok()) {
    return service::StartFailure(logger, "error connecting to cluster", source.status(),
                                 {{"sourceCluster", source_cluster}});
  }
  Result<std::unique_ptr<kube::Client>> destination =
      service::ConnectCluster(options.destination_kubeconfig, client_options);
  if (!destination.ok()) {
    return service::StartFailure(logger, "error connecting to cluster", destination.status(),
                                 {{"destinationCluster", destination_cluster}});
  }
  Result<std::string> subject = bus::EventsSubject(ctx.id);
  if (!subject.ok()) {
    logger.Error("invalid live synchronization id", {{"error", subject.status().ToString()}});
    return subject.status();
  }

  // A dry run publishes nothing, so it needs no NATS (a drift report from a
  // laptop).
  std::unique_ptr<bus::Connection> nats;
  if (!flags.dry_run) {
    Result<std::unique_ptr<bus::Connection>> connected = service::ConnectBus(ctx, shutdown);
    if (!connected.ok()) return service::StartFailure(logger, "error connecting to nats", connected.status());
    nats = std::move(*connected);
  }
  bus::Connection* connection = nats.get();
  PublishFn publish = [connection](std::string_view subj, std::string_view data,
                                   std::string_view msg_id) -> Status {
    if (connection == nullptr) return FailedPreconditionError("reconciler: dry run, nothing is published");
    return connection->Publish(subj, data, msg_id).status();
  };

  ReconcilerConfig config;
  config.id = ctx.id;
  config.events_subject = *subject;
  config.page_size = flags.page_size;
  config.mass_delete_fraction = flags.mass_delete_fraction;
  config.mass_delete_min = flags.mass_delete_min;
  Reconciler reconciler(**source, **destination, plan, config, std::move(publish), logger, source_cluster,
                        destination_cluster);
  SummaryWriter summaries(options, ctx.id, logger);

  if (flags.once) {
    Result<PassReport> report = reconciler.RunPass(flags.dry_run, &shutdown.flag());
    if (!report.ok()) return report.status();
    PrintReport(*report);
    summaries.Write(report->Summary());
    once_exit = ExitCode(*report);
    return OkStatus();
  }

  logger.Info("reconciler started", {{"sourceCluster", source_cluster},
                                     {"destinationCluster", destination_cluster},
                                     {"subject", *subject},
                                     {"resyncPeriod", plan.resync_period.count()}});
  std::chrono::milliseconds wait = std::chrono::seconds(flags.initial_delay_seconds);
  while (!shutdown.WaitFor(wait)) {
    Result<PassReport> report = reconciler.RunPass(false, &shutdown.flag());
    if (!report.ok()) break;  // cancelled: shutting down
    summaries.Write(report->Summary());
    wait = plan.resync_period.count() > 0 ? std::chrono::milliseconds(plan.resync_period)
                                          : std::chrono::milliseconds(std::chrono::hours(24 * 365));
  }
  logger.Info("reconciler stopping",
              {{"sourceCluster", source_cluster}, {"destinationCluster", destination_cluster}});
  return OkStatus();
}

}  // namespace

int Run(int argc, char** argv) {
  Flags flags;
  int once_exit = service::kExitOk;
  const int exit_code =
      service::RunComponent(argc, argv,
                            {.name = "reconciler",
                             .description = "kubesync reconciler: makes the destination equal the "
                                            "source and reports how far apart they are",
                             .add_flags = [&](CLI::App& app) { AddFlags(app, flags); },
                             .body =
                                 [&](service::ServiceContext& ctx, service::ShutdownSignal& shutdown) {
                                   return RunReconciler(ctx, shutdown, flags, once_exit);
                                 }});
  return exit_code != service::kExitOk ? exit_code : once_exit;
}

}  // namespace kubesync::reconciler
