// The runtime interface through which the controller starts and stops component sets (the
// eventslistener / processor / synchronizer processes of one LiveSynchronization) and
// run-to-completion jobs (the restorer of one TaskRun). Two implementations: the process
// runtime (process_runtime.h: fork/exec on this host, embedded nats-server and
// redis-server) and, later, a Kubernetes runtime.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::runtime {

struct ComponentSpec {
  std::string name;                     // binary name: "eventslistener", "processor", "synchronizer"
  int replicas = 1;                     // that many processes, consumer ids "<name>-<i>", i from 0
  std::string log_level;                // "" = the set's
  std::vector<std::string> extra_args;  // e.g. {"--workers", "8"}

  friend bool operator==(const ComponentSpec&, const ComponentSpec&) = default;
};

struct ComponentSetSpec {
  std::string id;                      // "<ns>.<name>"; also the directory name under work_dir
  std::string plan_json;               // normalized plan, written to <work>/<id>/plan.json
  std::string source_kubeconfig;       // kubeconfig YAML contents, written 0600
  std::string destination_kubeconfig;  // likewise
  std::string log_level = "info";
  std::vector<ComponentSpec> components;

  friend bool operator==(const ComponentSetSpec&, const ComponentSetSpec&) = default;
};

struct ComponentState {
  std::string name;
  int replica = 0;
  bool running = false;
  int restarts = 0;       // restarts since the set was (re)started
  std::string last_exit;  // "exit 1", "signal 9", "" when it never exited
  int pid = 0;            // the current process, 0 when not running (informational)
};

struct SetState {
  std::vector<ComponentState> components;  // in spec order, replicas ascending
  bool healthy = false;                    // every replica running and none gave up
};

// One event per process and transition:
//   kStarted     spawned by Apply                 kExited   exited while it should run
//   kRestarted   spawned again after backoff      kGaveUp   max_restarts exits in a row
//   kStopped     terminated by Stop / a replacing Apply (exit_code: how it ended)
//   kJobFinished a job's process exited (set_id = job id, component = binary)
// An embedded server that dies is restarted on its port and reported with set_id "" and
// component "nats-server" / "redis-server". The destructor reports nothing.
enum class EventKind { kStarted, kExited, kRestarted, kGaveUp, kStopped, kJobFinished };

struct Event {
  std::string set_id;     // the set id, the job id for kJobFinished, "" for servers
  std::string component;  // component name; the binary for jobs and servers
  int replica = 0;
  EventKind kind = EventKind::kStarted;
  std::string message;  // "pid 123", "exit 1 after 52ms", "signal 9", ...
  int exit_code = 0;    // kExited / kGaveUp / kStopped / kJobFinished: the exit code,
                        // 128+signal when killed by a signal
};

// Called from the runtime's monitor thread (kStopped: from the thread calling Apply/Stop);
// it must not block for long and must not call back into the Runtime.
using EventSink = std::function<void(const Event&)>;

// How to authenticate to a NATS or Redis server. Secrets (password, token) stay in memory
// and in 0600 files; they are never put in a process's argv or in a log line.
struct ServerCredentials {
  std::string user;        // NATS user, Redis ACL user ("" with a password: Redis' default)
  std::string password;    // secret
  std::string token;       // secret; NATS only
  std::string creds_file;  // NATS .creds file (user JWT and nkey seed); path
  std::string ca_file;     // TLS: CA certificate (PEM) of the server; path
};

struct JobSpec {                             // a run-to-completion process (the restorer)
  std::string id;                            // e.g. "taskrun.<ns>.<name>"
  std::string binary;                        // "restorer", looked up in bin_dir
  std::vector<std::string> args;             // the runtime prepends nothing; "{file:NAME}"
                                             // is replaced by that file's path
  std::map<std::string, std::string> files;  // name -> contents, written 0600 under
                                             // <work>/jobs/<id>/
};

std::string_view EventKindName(EventKind kind);

// All methods are thread-safe.
class Runtime {
 public:
  virtual ~Runtime() = default;

  // Starts the set, or, when a set with this id runs with a different spec, replaces it
  // (stop, then start). Same spec again: no-op. Returns when processes are spawned.
  // InvalidArgument for a bad spec (empty/unsafe id, no components, replicas < 1, a binary
  // missing from bin_dir), nothing started; Internal when files cannot be written, nothing
  // started, or when a process could not be spawned: the set is then kept and the monitor
  // retries that process with backoff (State shows it not running).
  virtual Status Apply(const ComponentSetSpec& spec) = 0;

  // Stops every process of the set (SIGTERM, SIGKILL after the grace period); blocks until
  // they are gone. NotFound when no such set.
  virtual Status Stop(const std::string& id) = 0;

  // nullopt when no such set.
  virtual std::optional<SetState> State(const std::string& id) const = 0;

  // Ids of the sets currently applied.
  virtual std::vector<std::string> Sets() const = 0;

  // Starts the job and returns; a kJobFinished event with exit_code follows. AlreadyExists
  // while a job with this id still runs; InvalidArgument for a bad id or missing binary.
  virtual Status RunJob(const JobSpec& job) = 0;

  // True while the job with this id runs.
  virtual bool JobRunning(const std::string& id) const = 0;

  // The NATS and Redis URLs components get (embedded or configured), without credentials.
  virtual std::string NatsUrl() const = 0;
  virtual std::string RedisUrl() const = 0;
  // The credentials of the controller's own connections (the embedded servers' admin, or
  // the configured ones). Component sets get their own (per-set users on embedded servers).
  virtual ServerCredentials NatsCredentials() const = 0;
  virtual ServerCredentials RedisCredentials() const = 0;
};

}  // namespace kubesync::runtime
