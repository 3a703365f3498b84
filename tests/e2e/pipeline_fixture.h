// End-to-end fixture of the live pipeline (issue 4): everything a LiveSynchronization
// needs, started for real on loopback and free ports and stopped by pid:
//
//   nats-server (JetStream)   redis-server   kube-emulator "source" (TLS; users admin and
//   reader)   kube-emulator "destination" (TLS; users admin and kubesync)   and the three
//   component binaries eventslistener, processor, synchronizer (N replicas), started with
//   the flags of .helpers/pipeline-contract.md. The pipeline reads the source as `reader`
//   and writes the destination as `kubesync`, so the emulators' per-user counters tell
//   its requests apart from the test's own (made as `admin`).
//
// Every component's stdout and stderr go to files in the fixture's temp dir (appended
// across restarts) so tests can grep them. Not thread-safe: drive it from the test thread
// (the kube::Client accessors are thread-safe and may be shared with writer threads).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kubesync/bus/testing/nats_server.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/plan/plan.h"
#include "kubesync/state/testing/redis_server.h"
#include "kubesync/testsupport/emulator.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::e2e {

inline constexpr std::string_view kOperatorNamespace = "kubesync-system";
// The destination user the synchronizer writes as; the source user the pipeline reads as.
inline constexpr std::string_view kPipelineDestinationUser = "kubesync";
inline constexpr std::string_view kPipelineSourceUser = "reader";

enum class Component { kEventsListener, kProcessor, kSynchronizer, kReconciler };
// "eventslistener", "processor", "synchronizer", "reconciler": the binary names.
std::string_view ComponentName(Component component);

struct PipelineOptions {
  // A LiveSynchronization (YAML, either config shape). It must name its namespace
  // (metadata.namespace), as any LiveSynchronization applied to a cluster does.
  std::string plan_yaml;
  int partitions = 4;
  int synchronizers = 1;  // replicas StartComponents() starts
  std::string log_level = "debug";
  // false: only the servers and the plan file; the test seeds the source first and calls
  // StartComponents() itself (initial-sync scenarios).
  bool start_components = true;
  int emulator_watch_history = 10'000;
  // --kube-qps of the components (0: their default). Benchmarks raise it to measure the
  // pipeline rather than its client-side rate limit.
  double kube_qps = 0;
  // StartComponents() also starts the reconciler (first pass after 1 s, then every
  // resyncPeriod); its flags, appended (e.g. {"--mass-delete-fraction", "1"}).
  bool reconciler = true;
  std::vector<std::string> reconciler_args;
  // nats-server's max_payload in bytes (0: the fixture's default, kubesync's 8 MiB).
  int64_t nats_max_payload = 0;
  // More flags for every synchronizer replica (e.g. "--max-deliveries", "3").
  std::vector<std::string> synchronizer_args;
};

// What CompareDestination found; keys are "<gvr> <namespace>/<name>".
struct DiffReport {
  std::vector<std::string> missing;    // in scope in the source, absent in the destination
  std::vector<std::string> extra;      // managed by this LiveSynchronization, not in scope
  std::vector<std::string> different;  // present, but not the transformed source ("key: why")
  size_t in_scope = 0;                 // how many source objects are in scope

  bool empty() const { return missing.empty() && extra.empty() && different.empty(); }
  std::string ToString() const;
};

struct WriteCounts {
  long source_by_pipeline = 0;       // create/update/patch/delete by the reader user
  long destination_by_pipeline = 0;  // create/update/patch/delete by the kubesync user
};

class Pipeline {
 public:
  static Result<std::unique_ptr<Pipeline>> Start(PipelineOptions options);
  ~Pipeline();  // SIGTERM to every component, then the servers
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // --- servers and clients
  testsupport::Emulator& source_cluster() { return *source_; }
  testsupport::Emulator& destination_cluster() { return *destination_; }
  // Admin clients (the test's writes to the source, reads of the destination, foreign
  // objects in the destination).
  kube::Client& source() { return *source_client_; }
  kube::Client& destination() { return *destination_client_; }
  bus::testing::NatsServer& nats() { return *nats_; }
  state::testing::RedisServer& redis() { return *redis_; }
  const plan::Plan& plan() const { return plan_; }
  // "<namespace>.<name>": the LiveSynchronization id (subjects, marking).
  const std::string& id() const { return id_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& plan_path() const { return plan_path_; }
  int partitions() const { return options_.partitions; }

  // --- components
  // Starts the eventslistener, the processor, options.synchronizers synchronizers and
  // (options.reconciler) the reconciler.
  Status StartComponents();
  Status StartComponent(Component component, int replica = 0);
  // Makes sure synchronizer replicas [0, n) run (starts the missing ones).
  Status StartSynchronizers(int n);
  bool Running(Component component, int replica = 0);
  // SIGKILL (a crash): no clean shutdown.
  void Kill(Component component, int replica = 0);
  // SIGTERM and wait up to `grace`; the exit code (128+signal when killed, -1 when it
  // was not running).
  int Stop(Component component, int replica = 0, std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Stops it (SIGTERM) when it runs, then starts it again with the same flags.
  Status Restart(Component component, int replica = 0);
  // Every replica of every component, SIGTERM; the exit codes by "name-replica".
  std::map<std::string, int> StopAll();
  std::vector<std::pair<Component, int>> Started() const;
  pid_t Pid(Component component, int replica = 0);

  // `reconciler --once` with the reconciler's flags plus `args` (e.g. "--dry-run"), run to
  // completion: its exit code, its stdout, and the drift report lines in it (the JSON
  // lines without "msg").
  struct ReconcileRun {
    int exit_code = -1;
    std::string stdout_text;
    std::vector<nlohmann::json> report;
  };
  Result<ReconcileRun> RunReconcilerOnce(const std::vector<std::string>& args = {},
                                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // nats-server on the same port and store dir: `crash` = SIGKILL, else SIGTERM.
  Status RestartNats(bool crash);

  // --- logs
  std::filesystem::path StdoutPath(Component component, int replica = 0) const;
  std::filesystem::path StderrPath(Component component, int replica = 0) const;
  std::string Logs(Component component, int replica = 0) const;  // stdout
  // Every captured stdout and stderr file of every component started so far.
  std::vector<std::filesystem::path> LogFiles() const;
  // The last `lines` lines of every log file, headed by its name (for failure reports).
  std::string LogTails(int lines) const;

  // --- destination checks
  // Polls the destination (admin) until `pred(object)` holds; `last` gets the last object
  // seen (null when absent).
  bool WaitForDestination(const kube::ResourceRef& ref, const std::function<bool(const nlohmann::json&)>& pred,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15),
                          nlohmann::json* last = nullptr);
  bool WaitForDestinationAbsent(const kube::ResourceRef& ref,
                                std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Compares every GVR of the plan: the destination's objects managed by this
  // LiveSynchronization against the source's objects in scope, each cleaned, transformed
  // and marked as libs/transform does (PrepareForDestination with the plan's rule).
  Result<DiffReport> CompareDestination();
  // Polls CompareDestination until it is empty; `last` gets the last report.
  bool WaitForConvergence(std::chrono::milliseconds timeout, DiffReport* last = nullptr);

  // Writes by the pipeline's own users since the last ResetCounters (both emulators).
  Result<WriteCounts> PipelineWrites();
  Status ResetCounters();

  // JetStream: the stream's last sequence, and true once every durable consumer of the
  // stream ("processor", "synchronizer-<p>") has nothing pending or unacked.
  Result<uint64_t> StreamLastSequence();
  Result<bool> ConsumersIdle();
  bool WaitForIdle(std::chrono::milliseconds timeout);
  // "processor pending=N unacked=M; synchronizer-0 ...": where a backlog sits.
  std::string ConsumerReport();

 private:
  Pipeline() = default;
  struct Proc;
  Proc* Find(Component component, int replica);
  std::vector<std::string> Argv(Component component, int replica) const;
  std::string ProcKey(Component component, int replica) const;

  PipelineOptions options_;
  testsupport::TempDir dir_;
  std::filesystem::path plan_path_;
  plan::Plan plan_;
  std::string id_;
  std::unique_ptr<bus::testing::NatsServer> nats_;
  std::unique_ptr<state::testing::RedisServer> redis_;
  std::unique_ptr<testsupport::Emulator> source_;
  std::unique_ptr<testsupport::Emulator> destination_;
  std::unique_ptr<kube::Client> source_client_;
  std::unique_ptr<kube::Client> destination_client_;
  std::map<std::pair<Component, int>, std::unique_ptr<Proc>> procs_;
};

// --- object builders and small helpers for tests

// A client for a kubeconfig file (QPS raised for tests and benches).
Result<std::unique_ptr<kube::Client>> ClientForKubeconfig(const std::filesystem::path& path, double qps = 5000,
                                                           int burst = 10000);

kube::ResourceRef Ref(const plan::Gvr& gvr, std::string ns = "", std::string name = "");
kube::ResourceRef ConfigMapRef(std::string ns, std::string name = "");
kube::ResourceRef SecretRef(std::string ns, std::string name = "");
kube::ResourceRef ServiceRef(std::string ns, std::string name = "");
kube::ResourceRef DeploymentRef(std::string ns, std::string name = "");
kube::ResourceRef NamespaceRef(std::string name = "");

nlohmann::json NamespaceObject(const std::string& name, const nlohmann::json& labels = nlohmann::json::object());
nlohmann::json ConfigMapObject(const std::string& ns, const std::string& name, const nlohmann::json& data,
                               const nlohmann::json& labels = nlohmann::json::object());
// `data` values are plain text; the object carries them base64-encoded.
nlohmann::json SecretObject(const std::string& ns, const std::string& name,
                            const std::map<std::string, std::string>& data,
                            const nlohmann::json& labels = nlohmann::json::object());
nlohmann::json ServiceObject(const std::string& ns, const std::string& name,
                             const nlohmann::json& labels = nlohmann::json::object());
nlohmann::json DeploymentObject(const std::string& ns, const std::string& name, int replicas,
                                const nlohmann::json& labels = nlohmann::json::object());

std::string Base64(std::string_view data);

// Creates, or replaces the existing object (retrying 409 conflicts on the re-read).
Result<nlohmann::json> Upsert(kube::Client& client, const kube::ResourceRef& collection, nlohmann::json object);
// Reads, applies `mutate`, writes back; retries conflicts.
Result<nlohmann::json> Modify(kube::Client& client, const kube::ResourceRef& ref,
                              const std::function<void(nlohmann::json&)>& mutate);
// Creates a namespace in `client`'s cluster (OK when it exists; labels then replaced).
Status EnsureNamespace(kube::Client& client, const std::string& name,
                       const nlohmann::json& labels = nlohmann::json::object());

// metadata.labels / metadata.annotations value, "" when absent.
std::string Label(const nlohmann::json& object, const std::string& key);
std::string Annotation(const nlohmann::json& object, const std::string& key);

// Every JSON line of a captured stdout file whose "msg" equals `msg` ("" = every line).
std::vector<nlohmann::json> LogLines(const std::string& text, std::string_view msg = "");

}  // namespace kubesync::e2e
