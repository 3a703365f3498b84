#include "controller.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "automation.h"
#include "cluster_reconciler.h"
#include "conditions.h"
#include "context.h"
#include "kubesync/admission/server.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/runtime/process_runtime.h"
#include "kubesync/service/context.h"
#include "kubesync/service/options.h"
#include "leader.h"
#include "livesync.h"
#include "taskruns.h"
#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

namespace {

constexpr std::string_view kComponent = "controller";

// The directory of the running executable: component binaries are built beside it.
std::string SelfDir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : self.parent_path().string();
}

// Components run in other directories than the controller was started in.
std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  return path.empty() ? path : std::filesystem::absolute(path, ec).string();
}

// Updates that only touch status are not enqueued: they are mostly the controller's own
// status writes coming back, and re-reconciling on them would loop for as long as the
// status keeps changing (objectsSynchronized, lastSyncTime). Periodic requeues refresh it.
kube::InformerHandlers Enqueue(Queue& queue, Kind kind) {
  auto add = [&queue, kind](const json& o) {
    queue.Add(QueueKey{kind, "", kube::meta::Namespace(o), kube::meta::Name(o)});
  };
  return {.on_add = [add](const json& o, bool) { add(o); },
          .on_update =
              [add](const json* old, const json& o) {
                if (old != nullptr && OnlyStatusChanged(*old, o)) return;
                add(o);
              },
          .on_delete = [add](const json& o, bool) { add(o); }};
}

// The server the controller's own kubeconfig (or the in-cluster config) points to.
Result<std::string> OwnServer(const std::string& kubeconfig_path) {
  if (kubeconfig_path.empty()) {
    KS_ASSIGN_OR_RETURN(auto rest, kube::InClusterConfig());
    return rest.server;
  }
  KS_ASSIGN_OR_RETURN(auto config, kube::Kubeconfig::LoadFile(kubeconfig_path));
  KS_ASSIGN_OR_RETURN(auto rest, config.ToRestConfig());
  return rest.server;
}

std::string Identity() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  return std::string(host) + "_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000);
}

}  // namespace

json StatusPatch(const json& old_status, const json& status) {
  json patch = status;
  if (old_status.is_object()) {
    for (const auto& [k, _] : old_status.items()) {
      if (!status.contains(k)) patch[k] = nullptr;
    }
  }
  return {{"status", patch}};
}

// Everything that lives while this process leads, in construction order (destroyed in
// reverse: workers and informers stop before what they use).
struct Controller::Parts {
  explicit Parts(kube::Client& management, log::Logger& logger)
      : resolver(management), recorder("kubesync-controller", logger) {}
  ClusterResolver resolver;
  EventRecorder recorder;
  Queue queue;
  std::unique_ptr<runtime::Runtime> runtime;
  std::unique_ptr<state::RedisClient> redis;
  std::unique_ptr<state::ObjectStateStore> object_state;
  std::unique_ptr<Destinations> destinations;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<LiveSyncReconciler> livesync;
  std::unique_ptr<ClusterReconciler> cluster;
  std::unique_ptr<TaskRunReconciler> taskrun;
  std::unique_ptr<ValidatedOnlyReconciler> synchronization;
  std::unique_ptr<ValidatedOnlyReconciler> synchronization_plan;
  std::unique_ptr<kube::Informer> livesyncs, clusters, synchronizations, synchronization_plans;
  std::atomic<bool> runtime_ready{false};
};

Controller::Controller(ControllerOptions options, log::Logger logger,
                       std::unique_ptr<kube::Client> management, service::ShutdownSignal& shutdown)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      management_(std::move(management)),
      shutdown_(shutdown) {}

Controller::~Controller() {
  if (webhook_) webhook_->Stop();
  if (!parts_) return;
  parts_->queue.ShutDown();
  for (auto* informer : {parts_->livesyncs.get(), parts_->clusters.get(), parts_->synchronizations.get(),
                         parts_->synchronization_plans.get()}) {
    if (informer != nullptr) informer->Stop();
  }
  if (parts_->destinations) parts_->destinations->StopAll();
  parts_.reset();  // the runtime last but one: stops every set, job and embedded server
}

Status Controller::Run() {
  // The audit webhook answers on every replica, leader or not: it only annotates.
  if (!options_.webhook_cert_file.empty()) {
    webhook_ = std::make_unique<admission::AuditWebhookServer>(SystemClock::Get(), logger_);
    KS_ASSIGN_OR_RETURN(int port, webhook_->Start({.bind_address = options_.webhook_bind,
                                                   .port = options_.webhook_port,
                                                   .cert_file = options_.webhook_cert_file,
                                                   .key_file = options_.webhook_key_file}));
    logger_.Info("audit webhook listening", {{"port", port}});
    if (!options_.webhook_port_file.empty()) std::ofstream(options_.webhook_port_file) << port << "\n";
  }
  if (!options_.leader_elect) return RunAsLeader();
  LeaderElectionOptions lo{
      .ns = options_.leader_election_namespace.empty()
                ? (options_.operator_namespace.empty() ? "default" : options_.operator_namespace)
                : options_.leader_election_namespace,
      .identity = Identity(),
      .lease_duration = options_.lease_duration,
      .renew_deadline = options_.renew_deadline,
      .retry_period = options_.retry_period};
  LeaderElector elector(*management_, lo, logger_);
  if (!elector.Acquire(shutdown_.flag())) return OkStatus();  // shut down while waiting
  std::atomic<bool> lost{false};
  elector.KeepRenewing([&] {
    lost = true;
    shutdown_.Trigger();
  });
  Status status = RunAsLeader();
  if (!lost) elector.Release();
  if (lost)
    return UnavailableError("lost the leadership (Lease " + lo.ns + "/" + lo.name + "): stopped acting");
  return status;
}

Status Controller::RunAsLeader() {
  parts_ = std::make_unique<Parts>(*management_, logger_);
  Parts& p = *parts_;
  runtime::ProcessRuntimeOptions ro;
  ro.bin_dir = options_.bin_dir.empty() ? SelfDir() : options_.bin_dir;
  ro.work_dir = options_.work_dir;  // ParseOptions defaults it (runtime::DefaultWorkDir)
  ro.nats_url = options_.nats_url;
  ro.redis_url = options_.redis_url;
  // Credentials of configured servers; the runtime hands them to components in 0600 files.
  ro.nats_credentials.user = options_.nats_user;
  KS_ASSIGN_OR_RETURN(
      ro.nats_credentials.password,
      service::ReadSecret("--nats-password-file", options_.nats_password_file, "KUBESYNC_NATS_PASSWORD"));
  KS_ASSIGN_OR_RETURN(
      ro.nats_credentials.token,
      service::ReadSecret("--nats-token-file", options_.nats_token_file, "KUBESYNC_NATS_TOKEN"));
  ro.nats_credentials.creds_file = AbsolutePath(options_.nats_creds_file);
  ro.nats_credentials.ca_file = AbsolutePath(options_.nats_ca_file);
  ro.redis_credentials.user = options_.redis_user;
  KS_ASSIGN_OR_RETURN(
      ro.redis_credentials.password,
      service::ReadSecret("--redis-password-file", options_.redis_password_file, "KUBESYNC_REDIS_PASSWORD"));
  ro.redis_credentials.ca_file = AbsolutePath(options_.redis_ca_file);
  ro.operator_namespace = options_.operator_namespace;
  ro.max_restarts = options_.max_restarts;
  ro.inherit_output = options_.inherit_output;
  logger_.Info("starting the process runtime", {{"binDir", ro.bin_dir},
                                                {"workDir", ro.work_dir},
                                                {"embeddedNats", ro.nats_url.empty()},
                                                {"embeddedRedis", ro.redis_url.empty()}});
  // Runtime events may arrive before the reconcilers exist: they are dropped until then
  // (the first passes read the runtime's state anyway).
  KS_ASSIGN_OR_RETURN(p.runtime, runtime::StartProcessRuntime(ro, [this](const runtime::Event& e) {
                        if (!parts_ || !parts_->runtime_ready.load()) return;
                        if (e.kind == runtime::EventKind::kJobFinished) {
                          parts_->taskrun->OnJobFinished(e);
                        } else {
                          parts_->livesync->OnSetEvent(e.set_id);
                        }
                      }));
  logger_.Info("process runtime ready",
               {{"natsUrl", p.runtime->NatsUrl()}, {"redisUrl", p.runtime->RedisUrl()}});

  const runtime::ServerCredentials redis_credentials = p.runtime->RedisCredentials();
  auto redis = state::RedisClient::Connect({.url = p.runtime->RedisUrl(),
                                            .username = redis_credentials.user,
                                            .password = redis_credentials.password,
                                            .ca_file = redis_credentials.ca_file});
  if (redis.ok()) {
    p.redis = std::move(*redis);
    p.object_state = std::make_unique<state::ObjectStateStore>(p.redis.get());
  } else {
    logger_.Warn("redis is not reachable; objects synchronized will not be reported",
                 {{"error", redis.status().ToString()}});
  }

  p.destinations = std::make_unique<Destinations>(
      p.resolver, management_, logger_, [&p](const std::string& cluster, const json& taskrun) {
        p.queue.Add(QueueKey::TaskRun(cluster, kube::meta::Namespace(taskrun), kube::meta::Name(taskrun)));
      });
  p.ctx = std::unique_ptr<Context>(new Context{.options = options_,
                                               .logger = logger_,
                                               .management = *management_,
                                               .resolver = p.resolver,
                                               .recorder = p.recorder,
                                               .queue = p.queue,
                                               .runtime = *p.runtime,
                                               .destinations = *p.destinations,
                                               .work_dir = std::filesystem::absolute(ro.work_dir),
                                               .nats_url = p.runtime->NatsUrl(),
                                               .redis_url = p.runtime->RedisUrl(),
                                               .object_state = p.object_state.get(),
                                               .redis = p.redis.get()});
  Context& ctx = *p.ctx;
  p.livesync = std::make_unique<LiveSyncReconciler>(ctx);
  p.cluster = std::make_unique<ClusterReconciler>(ctx);
  p.taskrun = std::make_unique<TaskRunReconciler>(ctx);
  p.runtime_ready = true;

  // One informer per kind the controller reconciles, each feeding the queue its kind's keys.
  for (auto [member, group, resource, kind] :
       {std::tuple{&p.livesyncs, kAutomationGroup, "livesynchronizations", Kind::kLiveSynchronization},
        std::tuple{&p.clusters, kAssetsGroup, "kubernetesclusters", Kind::kKubernetesCluster},
        std::tuple{&p.synchronizations, kAutomationGroup, "synchronizations", Kind::kSynchronization},
        std::tuple{&p.synchronization_plans, kAutomationGroup, "synchronizationplans",
                   Kind::kSynchronizationPlan}}) {
    kube::InformerOptions o{.resource = {.group = std::string(group),
                                         .version = std::string(kApiVersion),
                                         .resource = resource,
                                         .ns = options_.watch_namespace},
                            .logger = logger_};
    *member = std::make_unique<kube::Informer>(*management_, o, Enqueue(p.queue, kind));
  }
  ctx.livesyncs = p.livesyncs.get();
  ctx.clusters = p.clusters.get();
  ctx.synchronizations = p.synchronizations.get();
  ctx.synchronization_plans = p.synchronization_plans.get();
  p.synchronization =
      std::make_unique<ValidatedOnlyReconciler>(ctx, "synchronizations", p.synchronizations.get());
  p.synchronization_plan =
      std::make_unique<ValidatedOnlyReconciler>(ctx, "synchronizationplans", p.synchronization_plans.get());
  for (auto* informer :
       {p.livesyncs.get(), p.clusters.get(), p.synchronizations.get(), p.synchronization_plans.get()}) {
    informer->Start();
  }

  // TaskRuns in the controller's own cluster are always watched (a controller installed
  // only in the standby recovers with no LiveSynchronization running).
  if (auto server = OwnServer(options_.kubeconfig); server.ok()) {
    auto used = p.destinations->Use("controller", *server,
                                    ClusterAccess{.own_kubeconfig_path = options_.kubeconfig, .own = true});
    if (!used.ok())
      logger_.Warn("cannot watch TaskRuns in the controller's own cluster",
                   {{"error", used.status().ToString()}});
  } else {
    logger_.Warn(
        "cannot tell the controller's own API server; its TaskRuns are watched only as a destination",
        {{"error", server.status().ToString()}});
  }
  logger_.Info("controller started",
               {{"namespace", options_.watch_namespace}, {"workers", options_.workers}});

  std::map<Kind, Reconciler*> reconcilers = {{Kind::kLiveSynchronization, p.livesync.get()},
                                             {Kind::kKubernetesCluster, p.cluster.get()},
                                             {Kind::kTaskRun, p.taskrun.get()},
                                             {Kind::kSynchronization, p.synchronization.get()},
                                             {Kind::kSynchronizationPlan, p.synchronization_plan.get()}};
  std::vector<std::thread> workers;
  for (int i = 0; i < options_.workers; ++i) {
    workers.emplace_back([&] {
      while (auto key = p.queue.Get()) {
        try {
          reconcilers.at(key->kind)->Reconcile(*key);
        } catch (const std::exception& e) {
          // A reconciler bug must not take the whole controller down: log, retry later.
          logger_.Error("reconcile failed", {{"key", key->ToString()}, {"error", e.what()}});
          p.queue.AddAfter(*key, std::chrono::seconds(5));
        }
        p.queue.Done(*key);
      }
    });
  }
  shutdown_.Wait();
  logger_.Info("controller stopping");
  p.queue.ShutDown();
  for (auto& w : workers) w.join();
  return OkStatus();
}

int Run(int argc, char** argv) {
  service::ShutdownSignal shutdown;
  int exit_code = 2;
  auto options = ParseOptions(argc, argv, &exit_code);
  if (!options.ok()) return exit_code;
  auto level = log::ParseLevel(options->log_level);
  log::Logger logger({.process_id = std::string(kComponent),
                      .consumer_id = std::string(kComponent) + "-" + std::to_string(getpid()),
                      .level = level.ok() ? *level : log::Level::kInfo},
                     log::StdoutSink());
  auto management = service::ConnectCluster(options->kubeconfig);
  if (!management.ok()) {
    logger.Error("cannot use the management cluster's kubeconfig",
                 {{"error", management.status().ToString()}});
    return 1;
  }
  Controller controller(std::move(*options), logger, std::move(*management), shutdown);
  Status status = controller.Run();
  if (!status.ok()) {
    logger.Error("controller failed", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}

}  // namespace kubesync::controller
