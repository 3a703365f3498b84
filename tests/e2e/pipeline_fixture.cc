#include "pipeline_fixture.h"

#include <openssl/evp.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/errors.h"
#include "kubesync/plan/parse.h"
#include "kubesync/transform/classify.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"

#ifndef KUBESYNC_EVENTSLISTENER_BIN
#define KUBESYNC_EVENTSLISTENER_BIN ""
#endif
#ifndef KUBESYNC_PROCESSOR_BIN
#define KUBESYNC_PROCESSOR_BIN ""
#endif
#ifndef KUBESYNC_SYNCHRONIZER_BIN
#define KUBESYNC_SYNCHRONIZER_BIN ""
#endif
#ifndef KUBESYNC_RECONCILER_BIN
#define KUBESYNC_RECONCILER_BIN ""
#endif

namespace kubesync::e2e {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

const char* BinaryPath(Component component) {
  switch (component) {
    case Component::kEventsListener:
      return KUBESYNC_EVENTSLISTENER_BIN;
    case Component::kProcessor:
      return KUBESYNC_PROCESSOR_BIN;
    case Component::kSynchronizer:
      return KUBESYNC_SYNCHRONIZER_BIN;
    case Component::kReconciler:
      return KUBESYNC_RECONCILER_BIN;
  }
  return "";
}

int NormalizeExit(int status) {
  if (status < 0) {
    return -1;
  }
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return status;
}

json MetaField(const json& object, const char* field) {
  if (!object.is_object()) {
    return json();
  }
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) {
    return json();
  }
  auto f = m->find(field);
  return f == m->end() ? json() : *f;
}

std::string MetaString(const json& object, const char* field) {
  const json v = MetaField(object, field);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// `expected` is contained in `actual`: every member of an expected object is in the
// actual object (recursively), arrays have the same length and contain element-wise.
// The destination may add what its server defaults or allocates (Service clusterIP, ...).
bool Contains(const json& expected, const json& actual, const std::string& path, std::string* why) {
  if (expected.is_object()) {
    if (!actual.is_object()) {
      *why = path + ": not an object in the destination";
      return false;
    }
    for (const auto& [k, v] : expected.items()) {
      auto it = actual.find(k);
      if (it == actual.end()) {
        if (v.is_null()) {
          continue;
        }
        *why = path + "/" + k + ": missing in the destination";
        return false;
      }
      if (!Contains(v, *it, path + "/" + k, why)) {
        return false;
      }
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      *why = path + ": array differs (" + expected.dump() + " vs " + actual.dump() + ")";
      return false;
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!Contains(expected[i], actual[i], path + "/" + std::to_string(i), why)) {
        return false;
      }
    }
    return true;
  }
  if (expected != actual) {
    *why = path + ": " + expected.dump() + " expected, " + actual.dump() + " in the destination";
    return false;
  }
  return true;
}

std::string Key(const plan::Gvr& gvr, const json& object) {
  const std::string ns = MetaString(object, "namespace");
  const std::string name = MetaString(object, "name");
  return gvr.String() + " " + (ns.empty() ? name : ns + "/" + name);
}

uint64_t ToU64(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoull(s);
  } catch (...) {
    return 0;
  }
}

std::string TailLines(const std::string& text, int lines) {
  std::vector<std::string> all;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    all.push_back(line);
  }
  std::string out;
  for (size_t k = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; k < all.size(); ++k) {
    out += all[k] + "\n";
  }
  return out;
}

}  // namespace

std::string_view ComponentName(Component component) {
  switch (component) {
    case Component::kEventsListener:
      return "eventslistener";
    case Component::kProcessor:
      return "processor";
    case Component::kSynchronizer:
      return "synchronizer";
    case Component::kReconciler:
      return "reconciler";
  }
  return "?";
}

std::string DiffReport::ToString() const {
  std::ostringstream out;
  out << in_scope << " in scope; " << missing.size() << " missing, " << extra.size() << " extra, "
      << different.size() << " different";
  auto list = [&out](const char* what, const std::vector<std::string>& v) {
    for (size_t i = 0; i < v.size() && i < 10; ++i) {
      out << "\n  " << what << ": " << v[i];
    }
    if (v.size() > 10) {
      out << "\n  ... " << v.size() - 10 << " more " << what;
    }
  };
  list("missing", missing);
  list("extra", extra);
  list("different", different);
  return out.str();
}

struct Pipeline::Proc {
  Component component;
  int replica = 0;
  std::optional<testsupport::Process> process;
};

// --- start and stop

Result<std::unique_ptr<Pipeline>> Pipeline::Start(PipelineOptions options) {
  for (Component c :
       {Component::kEventsListener, Component::kProcessor, Component::kSynchronizer, Component::kReconciler}) {
    if (std::string(BinaryPath(c)).empty()) {
      return FailedPreconditionError(std::string(ComponentName(c)) +
                                     " is not built: services/" + std::string(ComponentName(c)) +
                                     " has no CMake target yet");
    }
  }
  std::unique_ptr<Pipeline> p(new Pipeline());
  p->options_ = std::move(options);

  KS_ASSIGN_OR_RETURN(p->plan_, plan::ParseLiveSynchronizationYaml(
                                    p->options_.plan_yaml, {.operator_namespace = std::string(kOperatorNamespace)}));
  if (p->plan_.namespace_.empty()) {
    return InvalidArgumentError("the test's LiveSynchronization must set metadata.namespace");
  }
  p->id_ = transform::LiveSynchronizationId(p->plan_.namespace_, p->plan_.name);
  p->plan_path_ = p->dir_.path() / "livesynchronization.yaml";
  testsupport::WriteFile(p->plan_path_, p->options_.plan_yaml);
  std::filesystem::create_directories(p->dir_.path() / "logs");

  bus::testing::NatsServerOptions nats_options;
  if (p->options_.nats_max_payload > 0) nats_options.max_payload = p->options_.nats_max_payload;
  KS_ASSIGN_OR_RETURN(p->nats_, bus::testing::NatsServer::Start(nats_options));
  KS_ASSIGN_OR_RETURN(p->redis_, state::testing::RedisServer::Start());

  testsupport::EmulatorOptions source_opts;
  source_opts.token_users = {{"admin", "admin"}, {std::string(kPipelineSourceUser), "reader"}};
  source_opts.watch_history = p->options_.emulator_watch_history;
  KS_ASSIGN_OR_RETURN(p->source_, testsupport::Emulator::Start(source_opts));
  testsupport::EmulatorOptions dest_opts;
  dest_opts.token_users = {{"admin", "admin"}, {std::string(kPipelineDestinationUser), "admin"}};
  dest_opts.watch_history = p->options_.emulator_watch_history;
  KS_ASSIGN_OR_RETURN(p->destination_, testsupport::Emulator::Start(dest_opts));

  KS_ASSIGN_OR_RETURN(p->source_client_, ClientForKubeconfig(p->source_->kubeconfig_path("admin")));
  KS_ASSIGN_OR_RETURN(p->destination_client_, ClientForKubeconfig(p->destination_->kubeconfig_path("admin")));

  if (p->options_.start_components) {
    KS_RETURN_IF_ERROR(p->StartComponents());
  }
  return p;
}

Pipeline::~Pipeline() { StopAll(); }

std::string Pipeline::ProcKey(Component component, int replica) const {
  return std::string(ComponentName(component)) + "-" + std::to_string(replica);
}

std::vector<std::string> Pipeline::Argv(Component component, int replica) const {
  std::vector<std::string> argv = {BinaryPath(component),
                                   "--plan",
                                   plan_path_.string(),
                                   "--nats-url",
                                   nats_->url(),
                                   "--redis-url",
                                   redis_->url(),
                                   "--log-level",
                                   options_.log_level,
                                   "--consumer-id",
                                   ProcKey(component, replica),
                                   "--operator-namespace",
                                   std::string(kOperatorNamespace),
                                   "--partitions",
                                   std::to_string(options_.partitions)};
  if (options_.kube_qps > 0) {
    argv.insert(argv.end(), {"--kube-qps", std::to_string(options_.kube_qps), "--kube-burst",
                             std::to_string(static_cast<long>(options_.kube_qps * 2))});
  }
  // Each component gets only the cluster it works on (the contract: the listener and the
  // processor read the source, the synchronizer writes the destination).
  if (component == Component::kReconciler) {
    // It reads both clusters (and writes neither: its repairs go down the pipeline).
    argv.insert(argv.end(),
                {"--source-kubeconfig", source_->kubeconfig_path(std::string(kPipelineSourceUser)).string(),
                 "--destination-kubeconfig",
                 destination_->kubeconfig_path(std::string(kPipelineDestinationUser)).string(), "--initial-delay",
                 "1"});
    argv.insert(argv.end(), options_.reconciler_args.begin(), options_.reconciler_args.end());
  } else if (component == Component::kSynchronizer) {
    argv.insert(argv.end(), {"--destination-kubeconfig",
                             destination_->kubeconfig_path(std::string(kPipelineDestinationUser)).string()});
    argv.insert(argv.end(), options_.synchronizer_args.begin(), options_.synchronizer_args.end());
  } else {
    argv.insert(argv.end(),
                {"--source-kubeconfig", source_->kubeconfig_path(std::string(kPipelineSourceUser)).string()});
  }
  return argv;
}

Pipeline::Proc* Pipeline::Find(Component component, int replica) {
  auto it = procs_.find({component, replica});
  return it == procs_.end() ? nullptr : it->second.get();
}

Status Pipeline::StartComponents() {
  KS_RETURN_IF_ERROR(StartComponent(Component::kEventsListener));
  KS_RETURN_IF_ERROR(StartComponent(Component::kProcessor));
  KS_RETURN_IF_ERROR(StartSynchronizers(options_.synchronizers));
  if (options_.reconciler && !Running(Component::kReconciler)) {
    KS_RETURN_IF_ERROR(StartComponent(Component::kReconciler));
  }
  return OkStatus();
}

Result<Pipeline::ReconcileRun> Pipeline::RunReconcilerOnce(const std::vector<std::string>& args,
                                                           std::chrono::milliseconds timeout) {
  static int runs = 0;
  const std::string name = "reconciler-once-" + std::to_string(++runs);
  testsupport::ProcessOptions opts;
  opts.argv = Argv(Component::kReconciler, 0);
  opts.argv.push_back("--once");
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stdout_path = dir() / "logs" / (name + ".stdout");
  opts.stderr_path = dir() / "logs" / (name + ".stderr");
  KS_ASSIGN_OR_RETURN(testsupport::Process process, testsupport::Process::Start(std::move(opts)));
  std::optional<int> code = process.Wait(timeout);
  if (!code) return DeadlineExceededError(name + " did not finish in time");
  ReconcileRun run;
  run.exit_code = *code;
  run.stdout_text = testsupport::ReadFile(dir() / "logs" / (name + ".stdout"));
  for (json& line : LogLines(run.stdout_text)) {
    if (!line.contains("msg")) run.report.push_back(std::move(line));
  }
  return run;
}

Status Pipeline::StartComponent(Component component, int replica) {
  Proc* proc = Find(component, replica);
  if (proc == nullptr) {
    auto owned = std::make_unique<Proc>();
    owned->component = component;
    owned->replica = replica;
    proc = owned.get();
    procs_[{component, replica}] = std::move(owned);
  }
  if (proc->process && proc->process->Running()) {
    return FailedPreconditionError(ProcKey(component, replica) + " already runs");
  }
  testsupport::ProcessOptions opts;
  opts.argv = Argv(component, replica);
  opts.stdout_path = StdoutPath(component, replica);
  opts.stderr_path = StderrPath(component, replica);
  KS_ASSIGN_OR_RETURN(testsupport::Process process, testsupport::Process::Start(std::move(opts)));
  proc->process.emplace(std::move(process));
  return OkStatus();
}

Status Pipeline::StartSynchronizers(int n) {
  for (int r = 0; r < n; ++r) {
    if (!Running(Component::kSynchronizer, r)) {
      KS_RETURN_IF_ERROR(StartComponent(Component::kSynchronizer, r));
    }
  }
  return OkStatus();
}

bool Pipeline::Running(Component component, int replica) {
  Proc* proc = Find(component, replica);
  return proc != nullptr && proc->process && proc->process->Running();
}

pid_t Pipeline::Pid(Component component, int replica) {
  Proc* proc = Find(component, replica);
  return proc != nullptr && proc->process ? proc->process->pid() : -1;
}

void Pipeline::Kill(Component component, int replica) {
  Proc* proc = Find(component, replica);
  if (proc != nullptr && proc->process) {
    proc->process->Kill();
    proc->process.reset();
  }
}

int Pipeline::Stop(Component component, int replica, milliseconds grace) {
  Proc* proc = Find(component, replica);
  if (proc == nullptr || !proc->process) {
    return -1;
  }
  const int status = proc->process->Stop(grace);
  proc->process.reset();
  return NormalizeExit(status);
}

Status Pipeline::Restart(Component component, int replica) {
  Stop(component, replica);
  return StartComponent(component, replica);
}

std::map<std::string, int> Pipeline::StopAll() {
  std::map<std::string, int> codes;
  // Listener first, synchronizers last: what is in flight drains downstream.
  for (auto& [key, proc] : procs_) {
    if (proc->process) {
      proc->process->Signal(SIGTERM);
    }
  }
  for (auto& [key, proc] : procs_) {
    if (proc->process) {
      codes[ProcKey(key.first, key.second)] = NormalizeExit(proc->process->Stop(std::chrono::seconds(10)));
      proc->process.reset();
    }
  }
  return codes;
}

std::vector<std::pair<Component, int>> Pipeline::Started() const {
  std::vector<std::pair<Component, int>> out;
  for (const auto& [key, proc] : procs_) {
    out.push_back(key);
  }
  return out;
}

Status Pipeline::RestartNats(bool crash) {
  if (crash) {
    nats_->Kill();
  } else {
    nats_->Stop();
  }
  return nats_->StartAgain();
}

// --- logs

std::filesystem::path Pipeline::StdoutPath(Component component, int replica) const {
  return dir_.path() / "logs" / (ProcKey(component, replica) + ".stdout");
}

std::filesystem::path Pipeline::StderrPath(Component component, int replica) const {
  return dir_.path() / "logs" / (ProcKey(component, replica) + ".stderr");
}

std::string Pipeline::Logs(Component component, int replica) const {
  const auto path = StdoutPath(component, replica);
  return std::filesystem::exists(path) ? testsupport::ReadFile(path) : std::string();
}

std::vector<std::filesystem::path> Pipeline::LogFiles() const {
  std::vector<std::filesystem::path> out;
  for (const auto& [key, proc] : procs_) {
    for (const auto& p : {StdoutPath(key.first, key.second), StderrPath(key.first, key.second)}) {
      if (std::filesystem::exists(p)) {
        out.push_back(p);
      }
    }
  }
  return out;
}

std::string Pipeline::LogTails(int lines) const {
  std::string out;
  for (const auto& path : LogFiles()) {
    const std::string text = testsupport::ReadFile(path);
    out += "===== " + path.filename().string() + " (" + std::to_string(text.size()) + " bytes)\n";
    out += TailLines(text, lines);
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
  }
  return out;
}

// --- destination checks

bool Pipeline::WaitForDestination(const kube::ResourceRef& ref, const std::function<bool(const json&)>& pred,
                                  milliseconds timeout, json* last) {
  json seen;
  const bool ok = testsupport::WaitFor(
      [&] {
        auto got = destination_client_->Get(ref);
        seen = got.ok() ? *got : json();
        return got.ok() && pred(*got);
      },
      timeout, milliseconds(20));
  if (last != nullptr) {
    *last = seen;
  }
  return ok;
}

bool Pipeline::WaitForDestinationAbsent(const kube::ResourceRef& ref, milliseconds timeout) {
  return testsupport::WaitFor(
      [&] {
        auto got = destination_client_->Get(ref);
        return !got.ok() && kube::IsNotFound(got.status());
      },
      timeout, milliseconds(20));
}

Result<DiffReport> Pipeline::CompareDestination() {
  DiffReport report;
  KS_ASSIGN_OR_RETURN(auto namespaces, source_client_->List(NamespaceRef()));
  std::map<std::string, json> namespace_labels;
  for (const auto& ns : namespaces.items) {
    namespace_labels[MetaString(ns, "name")] = MetaField(ns, "labels");
  }

  for (const plan::Gvr& gvr : plan_.Resources()) {
    const bool is_namespace = gvr.group.empty() && gvr.resource == "namespaces";
    KS_ASSIGN_OR_RETURN(auto source_list, source_client_->List(Ref(gvr)));
    KS_ASSIGN_OR_RETURN(auto dest_list, destination_client_->List(Ref(gvr)));
    const std::string list_kind = source_list.kind;  // "ConfigMapList"

    std::map<std::string, std::pair<json, transform::Prepared>> expected;
    for (const json& obj : source_list.items) {
      const std::string name = MetaString(obj, "name");
      const std::string ns = is_namespace ? name : MetaString(obj, "namespace");
      if (plan_.IsDefaultExcluded(gvr, ns, name)) {
        continue;
      }
      if (!transform::Classify(obj, gvr).copy()) {
        continue;
      }
      const json labels = MetaField(obj, "labels");
      json ns_labels;
      if (is_namespace) {
        ns_labels = labels;
      } else if (!ns.empty()) {
        ns_labels = namespace_labels[ns];
      }
      const plan::Rule* rule = plan_.MatchingRule(gvr, ns, name, labels, ns_labels);
      if (rule == nullptr) {
        continue;
      }
      transform::MarkInfo mark{plan_.namespace_, plan_.name, MetaString(obj, "uid"),
                               MetaString(obj, "resourceVersion")};
      // List items carry no apiVersion/kind; what is written (and hashed) has both.
      json full = obj;
      full["apiVersion"] = gvr.group.empty() ? gvr.version : gvr.group + "/" + gvr.version;
      if (!full.contains("kind") && list_kind.size() > 4) {
        full["kind"] = list_kind.substr(0, list_kind.size() - 4);
      }
      auto prepared = transform::PrepareForDestination(full, gvr, rule->transformation, mark);
      if (!prepared.ok()) {
        continue;  // a transformation that fails on this object: never written
      }
      expected.emplace(Key(gvr, obj), std::make_pair(obj, std::move(*prepared)));
    }
    report.in_scope += expected.size();

    std::set<std::string> seen;
    for (const json& obj : dest_list.items) {
      if (!transform::IsManagedBy(obj, id_)) {
        continue;
      }
      const std::string key = Key(gvr, obj);
      auto it = expected.find(key);
      if (it == expected.end()) {
        report.extra.push_back(key);
        continue;
      }
      seen.insert(key);
      const json& source_obj = it->second.first;
      json want = it->second.second.object;
      // The source resourceVersion annotation may legitimately lag (a source write that
      // changes nothing after transformation is not copied); never newer than the source.
      const std::string dest_rv = Annotation(obj, std::string(transform::kSourceResourceVersionAnnotation));
      if (ToU64(dest_rv) > ToU64(MetaString(source_obj, "resourceVersion"))) {
        report.different.push_back(key + ": source-resource-version " + dest_rv + " is newer than the source's " +
                                   MetaString(source_obj, "resourceVersion"));
        continue;
      }
      if (want.contains("metadata") && want["metadata"].contains("annotations")) {
        want["metadata"]["annotations"].erase(std::string(transform::kSourceResourceVersionAnnotation));
      }
      std::string why;
      bool same = true;
      for (const auto& [field, value] : want.items()) {
        if (field == "status" || field == "kind" || field == "apiVersion") {
          continue;
        }
        json expected_part = value;
        json actual_part = obj.contains(field) ? obj[field] : json();
        if (field == "metadata") {
          expected_part = json{{"labels", MetaField(want, "labels")},
                               {"annotations", MetaField(want, "annotations")},
                               {"name", MetaField(want, "name")},
                               {"namespace", MetaField(want, "namespace")}};
        }
        if (!Contains(expected_part, actual_part, "/" + field, &why)) {
          same = false;
          break;
        }
      }
      if (!same) {
        report.different.push_back(key + ": " + why);
      }
    }
    for (const auto& [key, value] : expected) {
      if (!seen.contains(key)) {
        report.missing.push_back(key);
      }
    }
  }
  return report;
}

bool Pipeline::WaitForConvergence(milliseconds timeout, DiffReport* last) {
  DiffReport report;
  const bool ok = testsupport::WaitFor(
      [&] {
        auto r = CompareDestination();
        if (!r.ok()) {
          report = DiffReport{};
          report.different.push_back("compare failed: " + r.status().ToString());
          return false;
        }
        report = std::move(*r);
        return report.empty();
      },
      timeout, milliseconds(100));
  if (last != nullptr) {
    *last = report;
  }
  return ok;
}

Result<WriteCounts> Pipeline::PipelineWrites() {
  static const std::set<std::string> kWrites = {"create", "update", "patch", "delete", "deletecollection"};
  WriteCounts counts;
  KS_ASSIGN_OR_RETURN(auto source_counters, source_->Counters());
  for (const auto& c : source_counters) {
    if (c.user == kPipelineSourceUser && kWrites.contains(c.verb)) {
      counts.source_by_pipeline += c.count;
    }
  }
  KS_ASSIGN_OR_RETURN(auto dest_counters, destination_->Counters());
  for (const auto& c : dest_counters) {
    if (c.user == kPipelineDestinationUser && kWrites.contains(c.verb)) {
      counts.destination_by_pipeline += c.count;
    }
  }
  return counts;
}

Status Pipeline::ResetCounters() {
  KS_RETURN_IF_ERROR(source_->ResetCounters());
  return destination_->ResetCounters();
}

Result<uint64_t> Pipeline::StreamLastSequence() {
  KS_ASSIGN_OR_RETURN(auto stream, bus::StreamName(id_));
  KS_ASSIGN_OR_RETURN(auto conn, bus::Connection::Connect({.url = nats_->url(), .name = "e2e-observer"}));
  KS_ASSIGN_OR_RETURN(auto stats, conn->GetStreamStats(stream));
  return stats.last_sequence;
}

Result<bool> Pipeline::ConsumersIdle() {
  KS_ASSIGN_OR_RETURN(auto stream, bus::StreamName(id_));
  KS_ASSIGN_OR_RETURN(auto conn, bus::Connection::Connect({.url = nats_->url(), .name = "e2e-observer"}));
  std::vector<std::string> durables = {"processor"};
  for (int p = 0; p < options_.partitions; ++p) {
    durables.push_back("synchronizer-" + std::to_string(p));
  }
  for (const auto& durable : durables) {
    KS_ASSIGN_OR_RETURN(auto stats, conn->GetConsumerStats(stream, durable));
    if (stats.num_pending != 0 || stats.num_ack_pending != 0) {
      return false;
    }
  }
  return true;
}

std::string Pipeline::ConsumerReport() {
  auto stream = bus::StreamName(id_);
  if (!stream.ok()) {
    return stream.status().ToString();
  }
  auto conn = bus::Connection::Connect({.url = nats_->url(), .name = "e2e-observer"});
  if (!conn.ok()) {
    return conn.status().ToString();
  }
  std::string out;
  std::vector<std::string> durables = {"processor"};
  for (int p = 0; p < options_.partitions; ++p) {
    durables.push_back("synchronizer-" + std::to_string(p));
  }
  uint64_t sync_pending = 0;
  for (const auto& durable : durables) {
    auto stats = (*conn)->GetConsumerStats(*stream, durable);
    if (!stats.ok()) {
      out += durable + ": " + stats.status().ToString() + "; ";
      continue;
    }
    if (durable == "processor") {
      out += "processor pending=" + std::to_string(stats->num_pending) +
             " unacked=" + std::to_string(stats->num_ack_pending) + "; ";
    } else {
      sync_pending += stats->num_pending;
    }
  }
  return out + "synchronizers pending=" + std::to_string(sync_pending);
}

bool Pipeline::WaitForIdle(milliseconds timeout) {
  return testsupport::WaitFor(
      [&] {
        auto idle = ConsumersIdle();
        return idle.ok() && *idle;
      },
      timeout, milliseconds(100));
}

// --- helpers

Result<std::unique_ptr<kube::Client>> ClientForKubeconfig(const std::filesystem::path& path, double qps, int burst) {
  KS_ASSIGN_OR_RETURN(auto kubeconfig, kube::Kubeconfig::LoadFile(path));
  KS_ASSIGN_OR_RETURN(auto rest, kubeconfig.ToRestConfig());
  kube::ClientOptions options;
  options.qps = qps;
  options.burst = burst;
  return kube::Client::Create(rest, options);
}

kube::ResourceRef Ref(const plan::Gvr& gvr, std::string ns, std::string name) {
  kube::ResourceRef ref;
  ref.group = gvr.group;
  ref.version = gvr.version;
  ref.resource = gvr.resource;
  ref.ns = std::move(ns);
  ref.name = std::move(name);
  return ref;
}

kube::ResourceRef ConfigMapRef(std::string ns, std::string name) {
  return Ref({"", "v1", "configmaps"}, std::move(ns), std::move(name));
}
kube::ResourceRef SecretRef(std::string ns, std::string name) {
  return Ref({"", "v1", "secrets"}, std::move(ns), std::move(name));
}
kube::ResourceRef ServiceRef(std::string ns, std::string name) {
  return Ref({"", "v1", "services"}, std::move(ns), std::move(name));
}
kube::ResourceRef DeploymentRef(std::string ns, std::string name) {
  return Ref({"apps", "v1", "deployments"}, std::move(ns), std::move(name));
}
kube::ResourceRef NamespaceRef(std::string name) { return Ref({"", "v1", "namespaces"}, "", std::move(name)); }

json NamespaceObject(const std::string& name, const json& labels) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}, {"labels", labels}}}};
}

json ConfigMapObject(const std::string& ns, const std::string& name, const json& data, const json& labels) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"data", data}};
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

json SecretObject(const std::string& ns, const std::string& name, const std::map<std::string, std::string>& data,
                  const json& labels) {
  json encoded = json::object();
  for (const auto& [k, v] : data) {
    encoded[k] = Base64(v);
  }
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", "Opaque"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"data", encoded}};
}

json ServiceObject(const std::string& ns, const std::string& name, const json& labels) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"selector", {{"app", name}}},
            {"ports", json::array({{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}})}}}};
}

json DeploymentObject(const std::string& ns, const std::string& name, int replicas, const json& labels) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"strategy", {{"type", "RollingUpdate"}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec",
               {{"containers", json::array({{{"name", "web"},
                                             {"image", "nginx:1.25"},
                                             {"ports", json::array({{{"containerPort", 8080}}})}}})}}}}}}}};
}

Result<json> Upsert(kube::Client& client, const kube::ResourceRef& collection, json object) {
  kube::ResourceRef item = collection;
  item.name = MetaString(object, "name");
  if (object["metadata"].contains("namespace")) {
    item.ns = MetaString(object, "namespace");
  }
  item.name.clear();
  auto created = client.Create(item, object);
  if (created.ok() || !kube::IsAlreadyExists(created.status())) {
    return created;
  }
  item.name = MetaString(object, "name");
  for (int attempt = 0; attempt < 20; ++attempt) {
    KS_ASSIGN_OR_RETURN(auto current, client.Get(item));
    object["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"];
    auto updated = client.Update(item, object);
    if (updated.ok() || !kube::IsConflict(updated.status())) {
      return updated;
    }
  }
  return AbortedError("upsert of " + item.Path() + ": too many conflicts");
}

Result<json> Modify(kube::Client& client, const kube::ResourceRef& ref, const std::function<void(json&)>& mutate) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    KS_ASSIGN_OR_RETURN(auto current, client.Get(ref));
    mutate(current);
    auto updated = client.Update(ref, current);
    if (updated.ok() || !kube::IsConflict(updated.status())) {
      return updated;
    }
  }
  return AbortedError("modify of " + ref.Path() + ": too many conflicts");
}

Status EnsureNamespace(kube::Client& client, const std::string& name, const json& labels) {
  auto created = client.Create(NamespaceRef(), NamespaceObject(name, labels));
  if (created.ok()) {
    return OkStatus();
  }
  if (!kube::IsAlreadyExists(created.status())) {
    return created.status();
  }
  auto modified = Modify(client, NamespaceRef(name), [&labels, &name](json& ns) {
    json l = labels;
    l["kubernetes.io/metadata.name"] = name;
    ns["metadata"]["labels"] = l;
  });
  return modified.status();
}

std::string Label(const json& object, const std::string& key) {
  const json labels = MetaField(object, "labels");
  if (!labels.is_object() || !labels.contains(key) || !labels[key].is_string()) {
    return "";
  }
  return labels[key].get<std::string>();
}

std::string Annotation(const json& object, const std::string& key) {
  const json annotations = MetaField(object, "annotations");
  if (!annotations.is_object() || !annotations.contains(key) || !annotations[key].is_string()) {
    return "";
  }
  return annotations[key].get<std::string>();
}

std::vector<json> LogLines(const std::string& text, std::string_view msg) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      continue;
    }
    if (msg.empty() || (j.contains("msg") && j["msg"].is_string() && j["msg"].get<std::string>() == msg)) {
      out.push_back(std::move(j));
    }
  }
  return out;
}

}  // namespace kubesync::e2e
