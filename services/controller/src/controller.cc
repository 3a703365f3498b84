#include "controller.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "conditions.h"
#include "kubesync/admission/server.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/runtime/process_runtime.h"
#include "kubesync/service/context.h"

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

// Updates that only touch status are not enqueued: they are mostly the controller's own
// status writes coming back, and re-reconciling on them would loop for as long as the
// status keeps changing (objectsSynchronized, lastSyncTime). Periodic requeues refresh it.
kube::InformerHandlers Enqueue(WorkQueue& queue, std::string prefix) {
  auto add = [&queue, prefix](const json& object) { queue.Add(prefix + kube::ObjectKey(object)); };
  return {.on_add = [add](const json& o, bool) { add(o); },
          .on_update =
              [add](const json* old, const json& o) {
                if (old != nullptr && OnlyStatusChanged(*old, o)) return;
                add(o);
              },
          .on_delete = [add](const json& o, bool) { add(o); }};
}

}  // namespace

Controller::Controller(ControllerOptions options, log::Logger logger, std::unique_ptr<kube::Client> management,
                       service::ShutdownSignal& shutdown)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      management_(std::move(management)),
      shutdown_(shutdown),
      resolver_(*management_),
      recorder_("kubesync-controller", logger_) {}

Controller::~Controller() {
  queue_.ShutDown();
  if (livesyncs_) livesyncs_->Stop();
  if (clusters_) clusters_->Stop();
  if (synchronizations_) synchronizations_->Stop();
  if (synchronization_plans_) synchronization_plans_->Stop();
  for (auto& [_, d] : destinations_) {
    if (d.taskruns) d.taskruns->Stop();
  }
  if (webhook_) webhook_->Stop();
  runtime_.reset();  // stops every set, job and embedded server
}

std::string Controller::Now() const { return FormatRfc3339(SystemClock::Get().Now()); }

Status Controller::Run() {
  runtime::ProcessRuntimeOptions ro;
  ro.bin_dir = options_.bin_dir.empty() ? SelfDir() : options_.bin_dir;
  ro.work_dir = options_.work_dir;
  if (ro.work_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    ro.work_dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/kubesync-controller";
  }
  ro.nats_url = options_.nats_url;
  ro.redis_url = options_.redis_url;
  ro.operator_namespace = options_.operator_namespace;
  ro.max_restarts = options_.max_restarts;
  ro.inherit_output = options_.inherit_output;
  logger_.Info("starting the process runtime",
               {{"binDir", ro.bin_dir}, {"workDir", ro.work_dir},
                {"embeddedNats", ro.nats_url.empty()}, {"embeddedRedis", ro.redis_url.empty()}});
  KS_ASSIGN_OR_RETURN(runtime_, runtime::StartProcessRuntime(
                                    ro, [this](const runtime::Event& e) { OnRuntimeEvent(e); }));
  logger_.Info("process runtime ready", {{"natsUrl", runtime_->NatsUrl()}, {"redisUrl", runtime_->RedisUrl()}});

  auto redis = state::RedisClient::Connect({.url = runtime_->RedisUrl()});
  if (redis.ok()) {
    redis_ = std::move(*redis);
    object_state_ = std::make_unique<state::ObjectStateStore>(redis_.get());
  } else {
    logger_.Warn("redis is not reachable; objects synchronized will not be reported",
                 {{"error", redis.status().ToString()}});
  }

  if (!options_.webhook_cert_file.empty()) {
    webhook_ = std::make_unique<admission::AuditWebhookServer>(SystemClock::Get(), logger_);
    KS_ASSIGN_OR_RETURN(int port, webhook_->Start({.bind_address = options_.webhook_bind,
                                                   .port = options_.webhook_port,
                                                   .cert_file = options_.webhook_cert_file,
                                                   .key_file = options_.webhook_key_file}));
    logger_.Info("audit webhook listening", {{"port", port}});
    if (!options_.webhook_port_file.empty()) {
      std::ofstream(options_.webhook_port_file) << port << "\n";
    }
  }

  // One informer per kind the controller reconciles, each feeding the queue under its prefix.
  for (auto [member, group, resource, prefix] :
       {std::tuple{&livesyncs_, kAutomationGroup, "livesynchronizations", "ls/"},
        std::tuple{&clusters_, kAssetsGroup, "kubernetesclusters", "kc/"},
        std::tuple{&synchronizations_, kAutomationGroup, "synchronizations", "sy/"},
        std::tuple{&synchronization_plans_, kAutomationGroup, "synchronizationplans", "sp/"}}) {
    kube::InformerOptions o{.resource = {.group = std::string(group),
                                         .version = std::string(kApiVersion),
                                         .resource = resource,
                                         .ns = options_.watch_namespace},
                            .logger = logger_};
    *member = std::make_unique<kube::Informer>(*management_, o, Enqueue(queue_, prefix));
    (*member)->Start();
  }
  logger_.Info("controller started", {{"namespace", options_.watch_namespace}});

  std::thread worker([this] { ProcessLoop(); });
  shutdown_.Wait();
  logger_.Info("controller stopping");
  queue_.ShutDown();
  worker.join();
  return OkStatus();
}

void Controller::ProcessLoop() {
  while (auto key = queue_.Get()) {
    const std::string& k = *key;
    // "ls/<ns>/<name>", "kc/<ns>/<name>", "tr/<destination>/<ns>/<name>"
    const auto kind = k.substr(0, 2);
    std::string rest = k.substr(3);
    std::string dest;
    if (kind == "tr") {
      dest = rest.substr(0, rest.find('/'));
      rest = rest.substr(dest.size() + 1);
    }
    const auto slash = rest.find('/');
    const std::string ns = rest.substr(0, slash);
    const std::string name = slash == std::string::npos ? "" : rest.substr(slash + 1);
    try {
      if (kind == "ls") ReconcileLiveSync(ns, name);
      if (kind == "kc") ReconcileCluster(ns, name);
      if (kind == "tr") ReconcileTaskRun(dest, ns, name);
      if (kind == "sy") ReconcileValidatedOnly("synchronizations", ns, name);
      if (kind == "sp") ReconcileValidatedOnly("synchronizationplans", ns, name);
    } catch (const std::exception& e) {
      // A reconciler bug must not take the whole controller down: log, retry later.
      logger_.Error("reconcile failed", {{"key", k}, {"error", e.what()}});
      queue_.AddAfter(k, std::chrono::seconds(5));
    }
    queue_.Done(k);
  }
}

void Controller::OnRuntimeEvent(const runtime::Event& event) {
  if (event.kind == runtime::EventKind::kJobFinished) {
    OnJobFinished(event);
    return;
  }
  std::lock_guard lock(mu_);
  for (const auto& [key, state] : live_syncs_) {
    if (state.id == event.set_id) queue_.Add("ls/" + key);
  }
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
    logger.Error("cannot use the management cluster's kubeconfig", {{"error", management.status().ToString()}});
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
