// The embedded nats-server and redis-server of the process runtime, and its start-up.
#include <fstream>
#include <thread>

#include "process_runtime_impl.h"

namespace kubesync::runtime::internal {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

Status ProcessRuntime::Init() {
  if (options_.work_dir.empty()) {
    return InvalidArgumentError("process runtime: work_dir is required");
  }
  if (options_.bin_dir.empty()) {
    return InvalidArgumentError("process runtime: bin_dir is required");
  }
  std::error_code ec;
  work_dir_ = fs::absolute(options_.work_dir, ec);
  // Private to this user, or refused (work_dir.h).
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(work_dir_));
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(work_dir_ / "jobs"));
  bin_dir_ = fs::absolute(options_.bin_dir, ec);
  if (!fs::is_directory(bin_dir_, ec)) {
    return InvalidArgumentError("process runtime: bin_dir " + bin_dir_.string() + " is not a directory");
  }
  monitor_ = std::thread([this] { MonitorLoop(); });

  nats_url_ = options_.nats_url;
  if (nats_url_.empty()) {
    // -sd keeps the JetStream store under work_dir, so streams and consumers outlive a
    // restart of the runtime; a fixed server name keeps the store's identity stable. The
    // client port opens once JetStream is enabled; the probe reads the INFO greeting.
    // max_payload (no flag for it) matches the streams' max message size, bus::kMaxMessageBytes:
    // with nats-server's default of 1 MiB, objects Kubernetes accepts could not be published.
    const fs::path conf = work_dir_ / "nats.conf";
    if (!(std::ofstream(conf) << "max_payload: 8388608\n")) return InternalError("write " + conf.string());
    KS_ASSIGN_OR_RETURN(int port, StartServer({"nats-server",
                                               options_.nats_server,
                                               "nats",
                                               {"-c", conf.string(), "-a", "127.0.0.1", "-p", "{port}", "-js",
                                                "-sd", "{data}", "-n", "kubesync-embedded"},
                                               "",
                                               "INFO "}));
    nats_url_ = "nats://127.0.0.1:" + std::to_string(port);
  }
  redis_url_ = options_.redis_url;
  if (redis_url_.empty()) {
    // appendonly: every write goes to the AOF (fsync every second, and again when redis
    // shuts down on SIGTERM), so data persists across runtime restarts with this work_dir.
    // Redis accepts connections while it still loads its data (answering -LOADING), so
    // readiness is a PONG, not an open port.
    KS_ASSIGN_OR_RETURN(int port, StartServer({"redis-server",
                                               options_.redis_server,
                                               "redis",
                                               {"--bind", "127.0.0.1", "--port", "{port}", "--dir", "{data}",
                                                "--appendonly", "yes", "--daemonize", "no"},
                                               "PING\r\n",
                                               "+PONG"}));
    redis_url_ = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  }
  return OkStatus();
}

Result<int> ProcessRuntime::StartServer(ServerConfig config) {
  KS_ASSIGN_OR_RETURN(std::string binary, FindOnPath(config.binary));
  const fs::path data_dir = work_dir_ / config.data_dir;
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(data_dir));
  const fs::path log = work_dir_ / (config.name + ".log");
  Server* server = nullptr;
  {
    std::lock_guard lock(mu_);
    servers_.push_back(std::make_unique<Server>());
    server = servers_.back().get();
    server->config = config;
  }
  std::string last_error;
  // A port picked free can be taken before the server binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    KS_ASSIGN_OR_RETURN(int port, PickFreePort());
    Proc proc;
    proc.component = config.name;
    proc.request.argv.push_back(binary);
    for (const std::string& a : config.args) {
      proc.request.argv.push_back(
          ReplaceAll(ReplaceAll(a, "{port}", std::to_string(port)), "{data}", data_dir.string()));
    }
    if (!options_.inherit_output) {
      proc.request.log_path = log;
    }
    proc.backoff = NewBackoff();
    KS_RETURN_IF_ERROR(OnMonitor([&](std::vector<Event>&) {
      server->port = port;
      server->proc = std::move(proc);
      auto pid = Spawn(server->proc.request);
      if (!pid.ok()) {
        return pid.status();
      }
      server->proc.pid = *pid;
      server->proc.started = options_.clock->SteadyNow();
      return OkStatus();
    }));
    // Unsupervised until ready: only this thread looks at the pid.
    const pid_t pid = server->proc.pid;
    const auto deadline = SteadyClock::now() + options_.server_start_timeout;
    bool exited = false;
    while (SteadyClock::now() < deadline) {
      if (ProbeTcp(port, config.probe_send, config.probe_expect, milliseconds(1000))) {
        std::lock_guard lock(mu_);
        server->supervised = true;
        return port;
      }
      if (HasExited(pid)) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    std::vector<int> status = TerminateAll({pid}, options_.grace);
    {
      std::lock_guard lock(mu_);
      server->proc.pid = 0;
    }
    last_error = config.name + " on port " + std::to_string(port) + " " +
                 (exited ? DescribeWaitStatus(status[0]) + " before it was ready" : "was not ready in time") +
                 "; log tail: " + TailOfFile(log);
    if (!exited) {
      break;
    }
  }
  return UnavailableError("embedded " + last_error);
}

}  // namespace kubesync::runtime::internal
