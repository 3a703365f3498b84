// The process runtime's implementation class, shared by its .cc files. Private to
// libs/runtime.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kubesync/core/backoff.h"
#include "kubesync/runtime/process_runtime.h"
#include "kubesync/runtime/work_dir.h"
#include "spawn.h"

namespace kubesync::runtime::internal {

using SteadyClock = std::chrono::steady_clock;

// One supervised process: a component replica, a job or an embedded server.
struct Proc {
  std::string owner;      // set id, job id, "" for servers
  std::string component;  // component name; the binary name for jobs and servers
  int replica = 0;
  internal::SpawnRequest request;
  pid_t pid = 0;
  SteadyClock::time_point started{};
  std::optional<SteadyClock::time_point> restart_at;
  std::unique_ptr<Backoff> backoff;
  int restarts = 0;
  int failures_in_row = 0;
  std::string last_exit;
  bool gave_up = false;
};

struct SetEntry {
  ComponentSetSpec spec;
  std::vector<Proc> procs;
};

// How to run and probe one embedded server.
struct ServerConfig {
  std::string name;               // "nats-server", "redis-server"; also the log file name
  std::string binary;             // as given in the options, looked up on PATH
  std::string data_dir;           // under work_dir
  std::vector<std::string> args;  // after the binary; "{port}" and "{data}" are replaced
  std::string probe_send;         // sent after connecting ("" = nothing)
  std::string probe_expect;       // the reply must start with this
};

struct Server {
  ServerConfig config;
  int port = 0;
  bool supervised = false;  // false while StartServer still waits for it
  Proc proc;
};

// What one component set connects with.
struct SetCredentials {
  ServerCredentials nats;
  std::string nats_inbox_prefix;  // "" = cnats' default
  ServerCredentials redis;
};

// Ids become directory names: true when `id` is one safe path component.
bool ValidName(const std::string& id);
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to);

class ProcessRuntime final : public Runtime {
 public:
  ProcessRuntime(ProcessRuntimeOptions options, EventSink sink)
      : options_(WithClock(std::move(options))), sink_(std::move(sink)) {}
  ~ProcessRuntime() override;

  Status Init();

  Status Apply(const ComponentSetSpec& spec) override;
  Status Stop(const std::string& id) override;
  std::optional<SetState> State(const std::string& id) const override;
  std::vector<std::string> Sets() const override;
  Status RunJob(const JobSpec& job) override;
  bool JobRunning(const std::string& id) const override;
  std::string NatsUrl() const override { return nats_url_; }
  std::string RedisUrl() const override { return redis_url_; }
  ServerCredentials NatsCredentials() const override { return nats_admin_; }
  ServerCredentials RedisCredentials() const override { return redis_admin_; }

 private:
  using Task = std::function<Status(std::vector<Event>&)>;
  struct PendingTask {
    Task fn;
    std::promise<Status> done;
  };

  // Runs `fn` on the monitor thread, with mu_ held, and waits for its result.
  Status OnMonitor(Task fn);
  void MonitorLoop();
  // With mu_ held, on the monitor thread: reaps exited children, restarts due ones.
  void Poll(std::vector<Event>& events);
  // After an exit: schedules the restart, or gives up. mu_ held.
  void AfterExit(Proc& proc, int wait_status, bool is_job, std::vector<Event>& events);
  // Spawns `proc` (mu_ held, monitor thread); on failure schedules a retry.
  Status SpawnProc(Proc& proc, EventKind kind, std::vector<Event>& events);
  void Emit(const std::vector<Event>& events) const;
  std::unique_ptr<Backoff> NewBackoff() const;

  Status ValidateSet(const ComponentSetSpec& spec) const;
  Result<std::vector<Proc>> PrepareSet(const ComponentSetSpec& spec, const SetCredentials& credentials) const;
  // The credentials of a set's components: on embedded servers a user of their own,
  // created on first use (nats-server reloaded, Redis ACL user saved); else the
  // configured ones.
  Result<SetCredentials> CredentialsFor(const std::string& id);
  // Writes nats-server.conf with the admin and every set's user (0600).
  Status WriteNatsConfig();
  // SIGHUP to the embedded nats-server; waits until `user` can log in.
  Status ReloadNats(const ServerCredentials& user);
  // Terminates the processes of a set taken out of sets_; emits kStopped per process.
  void StopEntry(SetEntry& entry);
  std::shared_ptr<std::mutex> LockFor(const std::string& id);

  // Starts an embedded server on a free port and waits until it answers its probe.
  Result<int> StartServer(ServerConfig config);

  static ProcessRuntimeOptions WithClock(ProcessRuntimeOptions options) {
    if (options.clock == nullptr) {
      options.clock = &SystemClock::Get();
    }
    return options;
  }

  const ProcessRuntimeOptions options_;
  const EventSink sink_;
  std::filesystem::path work_dir_;
  std::filesystem::path bin_dir_;
  std::string nats_url_;
  std::string redis_url_;
  bool embedded_nats_ = false;
  bool embedded_redis_ = false;
  int nats_port_ = 0;
  ServerCredentials nats_admin_;  // the controller's; for configured servers, every set's
  ServerCredentials redis_admin_;
  std::mutex credentials_mu_;  // guards set_credentials_ and the config file; taken before mu_
  std::map<std::string, SetCredentials> set_credentials_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;   // the destructor runs: nothing new starts or restarts
  bool stopping_ = false;  // the monitor thread exits
  std::deque<PendingTask> tasks_;
  std::map<std::string, SetEntry> sets_;
  std::map<std::string, Proc> jobs_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::thread monitor_;

  std::mutex locks_mu_;  // serializes Apply/Stop per set id
  std::map<std::string, std::shared_ptr<std::mutex>> set_locks_;
};

}  // namespace kubesync::runtime::internal
