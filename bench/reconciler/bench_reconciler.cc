// bench_reconciler: what a reconcile pass costs on this machine, with the e2e fixture
// (nats-server, redis-server, two kube-emulators over TLS, the processor and one
// synchronizer running; the reconciler binary run with --once):
//
//   (0) seeding: --objects ConfigMaps in the source, and their copies (cleaned, transformed
//       and marked exactly as the pipeline makes them) in the destination, from 8 threads;
//   (1) a pass over the unchanged objects: wall time of `reconciler --once`, its own pass
//       time, its peak RSS, what it found and published, and the destination writes the
//       pipeline made afterwards (target: 0);
//   (2) --drift-percent of the objects drifted, half edited by hand in the destination and
//       half changed in the source: the pass's time, what it found, and the destination
//       writes once the pipeline is idle (target: exactly the drifted objects).
//
//   bench_reconciler                        # 100k objects, 1% drift
//   bench_reconciler --objects 20000        # quicker
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "kubesync/transform/pipeline.h"
#include "pipeline_fixture.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

constexpr char kNamespace[] = "bench";

std::string Plan() {
  return "apiVersion: automation.astronetes.io/v1alpha1\n"
         "kind: LiveSynchronization\n"
         "metadata:\n"
         "  name: bench-reconciler\n"
         "  namespace: dr-config\n"
         "spec:\n"
         "  plugin: kubernetes-objects-to-kubernetes\n"
         "  config:\n"
         "    sourceName: source\n"
         "    destinationName: destination\n"
         "    replication:\n"
         "      forceNamespaceCreation: true\n"
         "      resources:\n"
         "        - version: v1\n"
         "          resource: configmaps\n"
         "          filters:\n"
         "            namespaceSelector:\n"
         "              matchLabels:\n"
         "                bench: \"on\"\n";
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Name(int i) { return "cm-" + std::to_string(i); }

// Runs `work(client, i)` for i in [0, n) from `threads` threads; false on any failure.
bool ForEach(const std::filesystem::path& kubeconfig, int n, int threads,
             const std::function<Status(kube::Client&, int)>& work) {
  std::vector<std::unique_ptr<kube::Client>> clients;
  for (int t = 0; t < threads; ++t) {
    auto c = ClientForKubeconfig(kubeconfig, 1e6, 1000000);
    if (!c.ok()) {
      std::cerr << "client: " << c.status().ToString() << "\n";
      return false;
    }
    clients.push_back(std::move(*c));
  }
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = next++; i < n; i = next++) {
        Status s = work(*clients[t], i);
        if (!s.ok() && failed++ == 0) std::cerr << "object " << i << ": " << s.ToString() << "\n";
      }
    });
  }
  for (auto& w : workers) w.join();
  return failed.load() == 0;
}

long ChildrenMaxRssKb() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss;
}

const json* Total(const std::vector<json>& report) {
  for (const json& line : report) {
    if (line.value("total", false)) return &line;
  }
  return nullptr;
}

struct PassFigures {
  double wall_s = 0;
  double pass_s = 0;
  json total;
  long destination_writes = -1;
  double converge_s = 0;
};

// One `reconciler --once` with the pipeline running, then the pipeline's destination
// writes once it is idle.
Result<PassFigures> MeasurePass(Pipeline& p) {
  KS_RETURN_IF_ERROR(p.ResetCounters());
  PassFigures f;
  const auto t0 = Clock::now();
  KS_ASSIGN_OR_RETURN(Pipeline::ReconcileRun run,
                      p.RunReconcilerOnce({"--page-size", "1000"}, std::chrono::minutes(20)));
  f.wall_s = Seconds(Clock::now() - t0);
  const json* total = Total(run.report);
  if (total == nullptr || run.exit_code != 0) {
    return InternalError(
        "reconciler exit " + std::to_string(run.exit_code) + ": " +
        run.stdout_text.substr(run.stdout_text.size() > 2000 ? run.stdout_text.size() - 2000 : 0));
  }
  f.total = *total;
  f.pass_s = total->value("durationMs", 0) / 1000.0;
  const auto t1 = Clock::now();
  if (!p.WaitForIdle(std::chrono::minutes(20))) return DeadlineExceededError("the pipeline did not go idle");
  f.converge_s = Seconds(Clock::now() - t1);
  KS_ASSIGN_OR_RETURN(WriteCounts writes, p.PipelineWrites());
  f.destination_writes = writes.destination_by_pipeline;
  return f;
}

void Print(const std::string& what, const PassFigures& f) {
  std::cout << what << ": reconciler --once " << f.wall_s << " s wall (pass " << f.pass_s
            << " s); found missing " << f.total.value("missing", -1) << ", stale "
            << f.total.value("stale", -1) << ", extra " << f.total.value("extra", -1) << "; published "
            << f.total.value("written", -1) << " writes, " << f.total.value("deleted", -1)
            << " deletes; pipeline idle " << f.converge_s << " s later; destination writes "
            << f.destination_writes << std::endl;
}

int Main(int argc, char** argv) {
  CLI::App app{"bench_reconciler: reconcile passes over many unchanged objects and over a little drift"};
  int objects = 100'000;
  double drift_percent = 1.0;
  app.add_option("--objects", objects, "ConfigMaps in scope")->capture_default_str();
  app.add_option("--drift-percent", drift_percent, "share of the objects drifted in pass (2)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto started = Pipeline::Start({.plan_yaml = Plan(),
                                  .log_level = "warn",
                                  .start_components = false,
                                  .emulator_watch_history = 1000,
                                  .kube_qps = 20000,
                                  .reconciler = false});
  if (!started.ok()) {
    std::cerr << started.status().ToString() << "\n";
    return 1;
  }
  Pipeline& p = **started;
  for (kube::Client* c : {&p.source(), &p.destination()}) {
    Status ns = EnsureNamespace(*c, kNamespace, {{"bench", "on"}});
    if (!ns.ok()) {
      std::cerr << ns.ToString() << "\n";
      return 1;
    }
  }

  // (0) Seeding, both sides at once per object.
  const plan::Plan& plan = p.plan();
  std::cout << "(0) seeding " << objects << " ConfigMaps and their destination copies ..." << std::endl;
  const auto seed0 = Clock::now();
  auto dest_kubeconfig = p.destination_cluster().kubeconfig_path("admin");
  std::vector<std::unique_ptr<kube::Client>> dest_clients;
  for (int t = 0; t < 8; ++t) {
    auto c = ClientForKubeconfig(dest_kubeconfig, 1e6, 1000000);
    if (!c.ok()) return 1;
    dest_clients.push_back(std::move(*c));
  }
  std::atomic<int> slot{0};
  thread_local int my_slot = -1;
  const bool seeded = ForEach(
      p.source_cluster().kubeconfig_path("admin"), objects, 8, [&](kube::Client& src, int i) -> Status {
        if (my_slot < 0) my_slot = slot++ % 8;
        json object = ConfigMapObject(kNamespace, Name(i),
                                      {{"index", std::to_string(i)}, {"payload", std::string(200, 'x')}},
                                      {{"app", "bench"}});
        KS_ASSIGN_OR_RETURN(json created, src.Create(ConfigMapRef(kNamespace), object));
        KS_ASSIGN_OR_RETURN(transform::Prepared copy,
                            transform::PrepareForDestination(
                                created, {"", "v1", "configmaps"}, plan.rules[0].transformation,
                                {plan.namespace_, plan.name, created["metadata"]["uid"].get<std::string>(),
                                 created["metadata"]["resourceVersion"].get<std::string>()}));
        return dest_clients[my_slot]->Create(ConfigMapRef(kNamespace), copy.object).status();
      });
  if (!seeded) return 1;
  std::cout << "    " << Seconds(Clock::now() - seed0) << " s" << std::endl;

  Status started_components = p.StartComponent(Component::kProcessor);
  if (started_components.ok()) started_components = p.StartSynchronizers(1);
  if (!started_components.ok()) {
    std::cerr << started_components.ToString() << "\n";
    return 1;
  }

  // (1) Unchanged.
  auto unchanged = MeasurePass(p);
  if (!unchanged.ok()) {
    std::cerr << "(1): " << unchanged.status().ToString() << "\n" << p.LogTails(20);
    return 1;
  }
  const long rss_kb = ChildrenMaxRssKb();
  Print("(1) " + std::to_string(objects) + " unchanged objects", *unchanged);
  std::cout << "    reconciler peak RSS " << rss_kb / 1024 << " MiB" << std::endl;

  // (2) Drift: half edited by hand in the destination, half changed in the source.
  const int drifted = std::max(2, static_cast<int>(objects * drift_percent / 100.0));
  const int stride = objects / drifted;
  auto src_kubeconfig = p.source_cluster().kubeconfig_path("admin");
  const bool edited = ForEach(src_kubeconfig, drifted, 8, [&](kube::Client& src, int k) -> Status {
    const int i = k * stride;
    if (k % 2 == 0) {
      return Modify(src, ConfigMapRef(kNamespace, Name(i)), [](json& cm) { cm["data"]["index"] = "changed"; })
          .status();
    }
    if (my_slot < 0) my_slot = slot++ % 8;
    return Modify(*dest_clients[my_slot], ConfigMapRef(kNamespace, Name(i)),
                  [](json& cm) { cm["data"]["payload"] = "edited by hand"; })
        .status();
  });
  if (!edited) return 1;
  auto drift = MeasurePass(p);
  if (!drift.ok()) {
    std::cerr << "(2): " << drift.status().ToString() << "\n" << p.LogTails(20);
    return 1;
  }
  Print("(2) " + std::to_string(drifted) + " drifted of " + std::to_string(objects), *drift);

  const bool ok = unchanged->destination_writes == 0 && unchanged->total.value("written", -1) == 0 &&
                  drift->destination_writes == drifted && drift->total.value("stale", -1) == drifted;
  std::cout << "targets: (1) <= 60 s and 0 writes: " << (unchanged->wall_s <= 60 ? "time ok" : "TIME OVER")
            << ", " << (unchanged->destination_writes == 0 ? "writes ok" : "WRITES") << "; (2) exactly "
            << drifted << " writes: " << (drift->destination_writes == drifted ? "ok" : "NOT MET")
            << std::endl;
  return ok ? 0 : 2;
}

}  // namespace
}  // namespace kubesync::e2e

int main(int argc, char** argv) { return kubesync::e2e::Main(argc, argv); }
