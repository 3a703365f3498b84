// The process runtime. One monitor thread owns every fork (PR_SET_PDEATHSIG follows the
// forking thread, so children forked from a short-lived caller thread would die with it),
// polls its children with waitid(WNOHANG) every 20 ms (no SIGCHLD handler: the program
// may have other children and handlers of its own), and restarts the ones that exited.
// Stop and the destructor take processes out of the monitor's tables under the lock
// before signalling and reaping them, so each pid has exactly one reaper.
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "process_runtime_impl.h"

namespace kubesync::runtime {
namespace internal {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{20};

}  // namespace

bool ValidName(const std::string& id) {
  if (id.empty() || id.size() > 253 || id.front() == '.') {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

std::unique_ptr<Backoff> ProcessRuntime::NewBackoff() const {
  BackoffPolicy policy;
  policy.initial = options_.restart_initial;
  policy.max = options_.restart_max;
  return std::make_unique<Backoff>(policy);
}

ProcessRuntime::~ProcessRuntime() {
  // The monitor thread stays alive until every child is gone: children get SIGTERM from
  // PR_SET_PDEATHSIG when it exits, which would stop servers and components all at once.
  std::vector<pid_t> components;
  std::vector<pid_t> servers;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (auto& [id, entry] : sets_) {
      for (Proc& p : entry.procs) {
        if (p.pid > 0) {
          components.push_back(p.pid);
        }
      }
    }
    for (auto& [id, job] : jobs_) {
      if (job.pid > 0) {
        components.push_back(job.pid);
      }
    }
    sets_.clear();
    jobs_.clear();
    for (auto& server : servers_) {
      server->supervised = false;
      if (server->proc.pid > 0) {
        servers.push_back(server->proc.pid);
      }
    }
  }
  // Components first, so they can still flush to the servers while they shut down.
  TerminateAll(components, options_.grace);
  TerminateAll(servers, options_.grace);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (monitor_.joinable()) {
    monitor_.join();
  }
  for (PendingTask& t : tasks_) {
    t.done.set_value(CancelledError("process runtime is shutting down"));
  }
}

Status ProcessRuntime::OnMonitor(Task fn) {
  std::future<Status> done;
  {
    std::lock_guard lock(mu_);
    if (closing_) {
      return CancelledError("process runtime is shutting down");
    }
    tasks_.push_back(PendingTask{std::move(fn), {}});
    done = tasks_.back().done.get_future();
  }
  cv_.notify_all();
  return done.get();
}

void ProcessRuntime::MonitorLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kPollInterval, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) {
      break;
    }
    std::vector<Event> events;
    while (!tasks_.empty()) {
      PendingTask task = std::move(tasks_.front());
      tasks_.pop_front();
      task.done.set_value(closing_ ? CancelledError("process runtime is shutting down") : task.fn(events));
    }
    Poll(events);
    if (!events.empty()) {
      lock.unlock();
      Emit(events);
      lock.lock();
    }
  }
}

void ProcessRuntime::Emit(const std::vector<Event>& events) const {
  if (!sink_) {
    return;
  }
  for (const Event& e : events) {
    sink_(e);
  }
}

Status ProcessRuntime::SpawnProc(Proc& proc, EventKind kind, std::vector<Event>& events) {
  auto pid = Spawn(proc.request);
  const auto now = options_.clock->SteadyNow();
  if (!pid.ok()) {
    ++proc.failures_in_row;
    proc.last_exit = "spawn failed";
    events.push_back(
        Event{proc.owner, proc.component, proc.replica, EventKind::kExited, pid.status().message(), 127});
    if (options_.max_restarts > 0 && proc.failures_in_row > options_.max_restarts) {
      proc.gave_up = true;
      events.push_back(
          Event{proc.owner, proc.component, proc.replica, EventKind::kGaveUp,
                "could not be spawned " + std::to_string(proc.failures_in_row) + " times in a row", 127});
    } else {
      proc.restart_at = now + proc.backoff->Next();
    }
    return pid.status();
  }
  proc.pid = *pid;
  proc.started = now;
  proc.restart_at.reset();
  if (kind == EventKind::kRestarted) {
    ++proc.restarts;
  }
  events.push_back(
      Event{proc.owner, proc.component, proc.replica, kind,
            "pid " + std::to_string(*pid) +
                (kind == EventKind::kRestarted ? ", restart " + std::to_string(proc.restarts) : ""),
            0});
  return OkStatus();
}

void ProcessRuntime::AfterExit(Proc& proc, int wait_status, bool is_job, std::vector<Event>& events) {
  const auto now = options_.clock->SteadyNow();
  const auto uptime = std::chrono::duration_cast<milliseconds>(now - proc.started);
  proc.pid = 0;
  proc.last_exit = DescribeWaitStatus(wait_status);
  const int code = ExitCode(wait_status);
  if (is_job) {
    events.push_back(Event{proc.owner, proc.component, 0, EventKind::kJobFinished, proc.last_exit, code});
    return;
  }
  events.push_back(Event{proc.owner, proc.component, proc.replica, EventKind::kExited,
                         proc.last_exit + " after " + std::to_string(uptime.count()) + "ms", code});
  if (uptime >= options_.stable_after) {
    proc.backoff->Reset();
    proc.failures_in_row = 0;
  }
  ++proc.failures_in_row;
  if (options_.max_restarts > 0 && proc.failures_in_row > options_.max_restarts) {
    proc.gave_up = true;
    events.push_back(Event{
        proc.owner, proc.component, proc.replica, EventKind::kGaveUp,
        "exited " + std::to_string(proc.failures_in_row) + " times in a row; last " + proc.last_exit, code});
    return;
  }
  proc.restart_at = now + proc.backoff->Next();
}

void ProcessRuntime::Poll(std::vector<Event>& events) {
  const auto now = options_.clock->SteadyNow();
  auto supervise = [&](Proc& proc) {
    if (proc.pid > 0 && HasExited(proc.pid)) {
      AfterExit(proc, Reap(proc.pid), /*is_job=*/false, events);
    }
    if (proc.pid == 0 && !proc.gave_up && proc.restart_at && *proc.restart_at <= now) {
      (void)SpawnProc(proc, EventKind::kRestarted, events);
    }
  };
  for (auto& [id, entry] : sets_) {
    for (Proc& proc : entry.procs) {
      supervise(proc);
    }
  }
  for (auto& server : servers_) {
    if (server->supervised) {
      supervise(server->proc);
    }
  }
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Proc& job = it->second;
    if (job.pid > 0 && HasExited(job.pid)) {
      AfterExit(job, Reap(job.pid), /*is_job=*/true, events);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<std::mutex> ProcessRuntime::LockFor(const std::string& id) {
  std::lock_guard lock(locks_mu_);
  auto& m = set_locks_[id];
  if (!m) {
    m = std::make_shared<std::mutex>();
  }
  return m;
}

Status ProcessRuntime::ValidateSet(const ComponentSetSpec& spec) const {
  if (!ValidName(spec.id)) {
    return InvalidArgumentError("component set id \"" + spec.id +
                                "\" must be non-empty, not start with '.', and use only "
                                "letters, digits, '.', '-' and '_'");
  }
  // work_dir also holds the jobs and the embedded servers' data.
  if (spec.id == "jobs" || spec.id == "nats" || spec.id == "redis") {
    return InvalidArgumentError("component set id \"" + spec.id + "\" is reserved");
  }
  if (spec.components.empty()) {
    return InvalidArgumentError("component set " + spec.id + ": no components");
  }
  for (const ComponentSpec& c : spec.components) {
    if (!ValidName(c.name)) {
      return InvalidArgumentError("component set " + spec.id + ": invalid component name \"" + c.name + "\"");
    }
    if (c.replicas < 1) {
      return InvalidArgumentError("component set " + spec.id + ": component " + c.name + " has replicas " +
                                  std::to_string(c.replicas) + ", want at least 1");
    }
    const fs::path binary = bin_dir_ / c.name;
    if (::access(binary.c_str(), X_OK) != 0) {
      return InvalidArgumentError("component set " + spec.id + ": no executable " + binary.string());
    }
  }
  return OkStatus();
}

Result<std::vector<Proc>> ProcessRuntime::PrepareSet(const ComponentSetSpec& spec,
                                                     const SetCredentials& credentials) const {
  const fs::path dir = work_dir_ / spec.id;
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(dir));
  std::vector<std::string> common;
  KS_RETURN_IF_ERROR(WritePrivateFile(dir / "plan.json", spec.plan_json));
  common.insert(common.end(), {"--plan", (dir / "plan.json").string()});
  // An empty kubeconfig means in-cluster credentials: the flag is left out.
  if (!spec.source_kubeconfig.empty()) {
    KS_RETURN_IF_ERROR(WritePrivateFile(dir / "source.kubeconfig", spec.source_kubeconfig));
    common.insert(common.end(), {"--source-kubeconfig", (dir / "source.kubeconfig").string()});
  }
  if (!spec.destination_kubeconfig.empty()) {
    KS_RETURN_IF_ERROR(WritePrivateFile(dir / "destination.kubeconfig", spec.destination_kubeconfig));
    common.insert(common.end(), {"--destination-kubeconfig", (dir / "destination.kubeconfig").string()});
  }
  common.insert(common.end(), {"--nats-url", nats_url_, "--redis-url", redis_url_});
  // Secrets go in 0600 files whose paths are passed: argv is readable by every local user.
  auto secret_file = [&](const std::string& name, const std::string& secret,
                         const std::string& flag) -> Status {
    const fs::path path = dir / name;
    if (secret.empty()) {
      std::error_code ec;
      fs::remove(path, ec);
      return OkStatus();
    }
    KS_RETURN_IF_ERROR(WritePrivateFile(path, secret));
    common.insert(common.end(), {flag, path.string()});
    return OkStatus();
  };
  const ServerCredentials& nats = credentials.nats;
  if (!nats.user.empty()) common.insert(common.end(), {"--nats-user", nats.user});
  KS_RETURN_IF_ERROR(secret_file("nats.password", nats.password, "--nats-password-file"));
  KS_RETURN_IF_ERROR(secret_file("nats.token", nats.token, "--nats-token-file"));
  if (!nats.creds_file.empty()) common.insert(common.end(), {"--nats-creds-file", nats.creds_file});
  if (!nats.ca_file.empty()) common.insert(common.end(), {"--nats-ca-file", nats.ca_file});
  if (!credentials.nats_inbox_prefix.empty()) {
    common.insert(common.end(), {"--nats-inbox-prefix", credentials.nats_inbox_prefix});
  }
  const ServerCredentials& redis = credentials.redis;
  if (!redis.user.empty()) common.insert(common.end(), {"--redis-user", redis.user});
  KS_RETURN_IF_ERROR(secret_file("redis.password", redis.password, "--redis-password-file"));
  if (!redis.ca_file.empty()) common.insert(common.end(), {"--redis-ca-file", redis.ca_file});
  if (!options_.operator_namespace.empty()) {
    common.insert(common.end(), {"--operator-namespace", options_.operator_namespace});
  }
  std::vector<Proc> procs;
  for (const ComponentSpec& c : spec.components) {
    for (int i = 0; i < c.replicas; ++i) {
      Proc proc;
      proc.owner = spec.id;
      proc.component = c.name;
      proc.replica = i;
      const std::string consumer_id = c.name + "-" + std::to_string(i);
      std::vector<std::string>& argv = proc.request.argv;
      argv.push_back((bin_dir_ / c.name).string());
      argv.insert(argv.end(), common.begin(), common.end());
      const std::string& level = c.log_level.empty() ? spec.log_level : c.log_level;
      if (!level.empty()) {
        argv.insert(argv.end(), {"--log-level", level});
      }
      argv.insert(argv.end(), {"--consumer-id", consumer_id});
      argv.insert(argv.end(), c.extra_args.begin(), c.extra_args.end());
      if (!options_.inherit_output) {
        proc.request.log_path = dir / (consumer_id + ".log");
      }
      proc.backoff = NewBackoff();
      procs.push_back(std::move(proc));
    }
  }
  return procs;
}

void ProcessRuntime::StopEntry(SetEntry& entry) {
  std::vector<pid_t> pids;
  std::vector<Proc*> running;
  for (Proc& p : entry.procs) {
    if (p.pid > 0) {
      pids.push_back(p.pid);
      running.push_back(&p);
    }
  }
  std::vector<int> statuses = TerminateAll(pids, options_.grace);
  std::vector<Event> events;
  for (size_t i = 0; i < running.size(); ++i) {
    Proc& p = *running[i];
    p.pid = 0;
    p.last_exit = DescribeWaitStatus(statuses[i]);
    events.push_back(
        Event{p.owner, p.component, p.replica, EventKind::kStopped, p.last_exit, ExitCode(statuses[i])});
  }
  Emit(events);
}

Status ProcessRuntime::Apply(const ComponentSetSpec& spec) {
  KS_RETURN_IF_ERROR(ValidateSet(spec));
  auto set_lock = LockFor(spec.id);
  std::lock_guard serialize(*set_lock);
  std::optional<SetEntry> old;
  {
    std::lock_guard lock(mu_);
    if (closing_) {
      return CancelledError("process runtime is shutting down");
    }
    auto it = sets_.find(spec.id);
    if (it != sets_.end()) {
      if (it->second.spec == spec) {
        return OkStatus();
      }
      old = std::move(it->second);
      sets_.erase(it);
    }
  }
  if (old) {
    StopEntry(*old);
  }
  KS_ASSIGN_OR_RETURN(SetCredentials credentials, CredentialsFor(spec.id));
  KS_ASSIGN_OR_RETURN(std::vector<Proc> procs, PrepareSet(spec, credentials));
  return OnMonitor([&](std::vector<Event>& events) {
    SetEntry& entry = sets_[spec.id];
    entry.spec = spec;
    entry.procs = std::move(procs);
    // A process that cannot be spawned is retried by the monitor like one that exited.
    Status result;
    for (Proc& proc : entry.procs) {
      Status s = SpawnProc(proc, EventKind::kStarted, events);
      if (!s.ok() && result.ok()) {
        result = s.Annotate("component set " + spec.id);
      }
    }
    return result;
  });
}

Status ProcessRuntime::Stop(const std::string& id) {
  auto set_lock = LockFor(id);
  std::lock_guard serialize(*set_lock);
  std::optional<SetEntry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = sets_.find(id);
    if (it == sets_.end()) {
      return NotFoundError("component set " + id + " not found");
    }
    entry = std::move(it->second);
    sets_.erase(it);
  }
  StopEntry(*entry);
  return OkStatus();
}

std::optional<SetState> ProcessRuntime::State(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = sets_.find(id);
  if (it == sets_.end()) {
    return std::nullopt;
  }
  SetState state;
  state.healthy = true;
  for (const Proc& p : it->second.procs) {
    state.components.push_back(
        ComponentState{p.component, p.replica, p.pid > 0, p.restarts, p.last_exit, p.pid});
    if (p.pid <= 0 || p.gave_up) {
      state.healthy = false;
    }
  }
  return state;
}

std::vector<std::string> ProcessRuntime::Sets() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, entry] : sets_) {
    ids.push_back(id);
  }
  return ids;
}

Status ProcessRuntime::RunJob(const JobSpec& job) {
  if (!ValidName(job.id)) {
    return InvalidArgumentError("job id \"" + job.id +
                                "\" must be non-empty, not start with '.', and use only "
                                "letters, digits, '.', '-' and '_'");
  }
  if (!ValidName(job.binary) || ::access((bin_dir_ / job.binary).c_str(), X_OK) != 0) {
    return InvalidArgumentError("job " + job.id + ": no executable " + (bin_dir_ / job.binary).string());
  }
  for (const auto& [name, contents] : job.files) {
    if (!ValidName(name) || name == "job.log") {
      return InvalidArgumentError("job " + job.id + ": invalid file name \"" + name + "\"");
    }
  }
  const fs::path dir = work_dir_ / "jobs" / job.id;
  Proc proc;
  proc.owner = job.id;
  proc.component = job.binary;
  proc.request.argv.push_back((bin_dir_ / job.binary).string());
  for (std::string arg : job.args) {
    for (const auto& [name, contents] : job.files) {
      arg = ReplaceAll(std::move(arg), "{file:" + name + "}", (dir / name).string());
    }
    if (size_t pos = arg.find("{file:"); pos != std::string::npos) {
      return InvalidArgumentError("job " + job.id + ": argument \"" + arg + "\" names a file not in files");
    }
    proc.request.argv.push_back(std::move(arg));
  }
  if (!options_.inherit_output) {
    proc.request.log_path = dir / "job.log";
  }
  proc.backoff = NewBackoff();
  {
    std::lock_guard lock(mu_);
    if (closing_) {
      return CancelledError("process runtime is shutting down");
    }
    if (!jobs_.emplace(job.id, Proc{}).second) {  // a placeholder (pid 0) reserves the id
      return AlreadyExistsError("job " + job.id + " is still running");
    }
  }
  auto release = [&] {
    std::lock_guard lock(mu_);
    jobs_.erase(job.id);
  };
  if (Status s = EnsurePrivateDirectory(dir); !s.ok()) {
    release();
    return s;
  }
  for (const auto& [name, contents] : job.files) {
    if (Status s = WritePrivateFile(dir / name, contents); !s.ok()) {
      release();
      return s;
    }
  }
  return OnMonitor([&](std::vector<Event>&) {
    auto it = jobs_.find(job.id);
    auto pid = Spawn(proc.request);
    if (!pid.ok()) {
      jobs_.erase(it);
      return pid.status().Annotate("job " + job.id);
    }
    proc.pid = *pid;
    proc.started = options_.clock->SteadyNow();
    it->second = std::move(proc);
    return OkStatus();
  });
}

bool ProcessRuntime::JobRunning(const std::string& id) const {
  std::lock_guard lock(mu_);
  return jobs_.count(id) > 0;
}

}  // namespace internal

Result<std::unique_ptr<Runtime>> StartProcessRuntime(const ProcessRuntimeOptions& options, EventSink sink) {
  auto runtime = std::make_unique<internal::ProcessRuntime>(options, std::move(sink));
  KS_RETURN_IF_ERROR(runtime->Init());
  return std::unique_ptr<Runtime>(std::move(runtime));
}

}  // namespace kubesync::runtime
