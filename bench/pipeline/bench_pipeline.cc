// bench_pipeline: measures the live pipeline end to end on this machine, with the e2e
// fixture (nats-server, redis-server, two kube-emulators over TLS, the three binaries):
//
//   (1) the destination's raw write ceiling: N ConfigMap creates from 8 threads straight
//       to the destination emulator with kubesync::kube::Client (the baseline);
//   (2) initial sync: --objects ConfigMaps created in the source first, then the pipeline
//       started; time until all are visible in the destination (objects/s, ratio to (1));
//   (3) live lag at a steady --rate changes/s for --lag-seconds: each change stamps the
//       source object with its write time; a watch on the destination sees it arrive
//       (lag = visible in destination - written; includes the measuring watch's delivery);
//   (4) peak RSS (VmHWM) of each component process;
//   (5) where the CPU went during (2): user+system CPU per object of every process of the
//       run (components, emulators, nats-server, redis-server), and the throughput bound
//       that total puts on a 2-core machine.
//
//   bench_pipeline                                     # 20k objects, 200 changes/s for 20 s
//   bench_pipeline --objects 100000 --lag-seconds 0    # memory mode: 100k objects in scope
//   bench_pipeline --kube-qps 20000                    # lift the components' client rate limit
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include "kubesync/kube/informer.h"
#include "pipeline_fixture.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kNamespace[] = "bench";
constexpr char kWrittenAt[] = "bench.kubesync.io/written-at";

std::string Plan(const std::string& resync) {
  return "apiVersion: automation.astronetes.io/v1alpha1\n"
         "kind: LiveSynchronization\n"
         "metadata:\n"
         "  name: bench\n"
         "  namespace: dr-config\n"
         "spec:\n"
         "  plugin: kubernetes-objects-to-kubernetes\n"
         "  config:\n"
         "    sourceName: source\n"
         "    destinationName: destination\n"
         "    replication:\n"
         "      resyncPeriod: " + resync + "\n"
         "      forceNamespaceCreation: true\n"
         "      resources:\n"
         "        - version: v1\n"
         "          resource: configmaps\n"
         "          filters:\n"
         "            namespaceSelector:\n"
         "              matchLabels:\n"
         "                bench: \"on\"\n";
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

json Payload(int i) {
  return ConfigMapObject(kNamespace, "cm-" + std::to_string(i),
                         {{"index", std::to_string(i)}, {"payload", std::string(200, 'x')}}, {{"app", "bench"}});
}

// Creates objects [0, n) in `ns` from `threads` threads, each with its own client.
// Returns objects/s, or a negative value on failure.
double CreateMany(const std::filesystem::path& kubeconfig, const std::string& ns, int n, int threads) {
  std::vector<std::unique_ptr<kube::Client>> clients;
  for (int t = 0; t < threads; ++t) {
    auto c = ClientForKubeconfig(kubeconfig, 1e6, 1000000);
    if (!c.ok()) {
      std::cerr << "client: " << c.status().ToString() << "\n";
      return -1;
    }
    clients.push_back(std::move(*c));
  }
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = next++; i < n; i = next++) {
        json obj = Payload(i);
        obj["metadata"]["namespace"] = ns;
        auto r = clients[t]->Create(ConfigMapRef(ns), obj);
        if (!r.ok() && failed++ == 0) {
          std::cerr << "create: " << r.status().ToString() << "\n";
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  const double elapsed = Seconds(Clock::now() - t0);
  return failed.load() == 0 ? n / elapsed : -1;
}

struct Rss {
  long hwm_kb = 0;
  long rss_kb = 0;
};

Rss ReadRss(pid_t pid) {
  Rss r;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      in >> r.hwm_kb;
    } else if (key == "VmRSS:") {
      in >> r.rss_kb;
    }
  }
  return r;
}

// CPU seconds (user + system) a process has used so far; 0 when it cannot be read.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Every process of the run that does pipeline work, by name.
std::map<std::string, pid_t> WorkPids(Pipeline& p) {
  std::map<std::string, pid_t> out;
  for (const auto& [c, r] : p.Started()) out[std::string(ComponentName(c))] = p.Pid(c, r);
  out["emulator source"] = p.source_cluster().pid();
  out["emulator destination"] = p.destination_cluster().pid();
  out["nats-server"] = p.nats().pid();
  out["redis-server"] = p.redis().pid();
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return -1;
  }
  std::sort(v.begin(), v.end());
  const size_t idx = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[idx];
}

std::string Fmt(double v, int digits = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

struct Row {
  std::string measure;
  std::string value;
  std::string target;
  std::string met;
};

void PrintTable(const std::vector<Row>& rows) {
  size_t w[4] = {7, 5, 6, 4};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.measure.size());
    w[1] = std::max(w[1], r.value.size());
    w[2] = std::max(w[2], r.target.size());
    w[3] = std::max(w[3], r.met.size());
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    std::printf("| %-*s | %*s | %-*s | %-*s |\n", static_cast<int>(w[0]), a.c_str(), static_cast<int>(w[1]), b.c_str(),
                static_cast<int>(w[2]), c.c_str(), static_cast<int>(w[3]), d.c_str());
  };
  line("measure", "value", "target", "met");
  std::printf("|%s|%s|%s|%s|\n", std::string(w[0] + 2, '-').c_str(), std::string(w[1] + 2, '-').c_str(),
              std::string(w[2] + 2, '-').c_str(), std::string(w[3] + 2, '-').c_str());
  for (const auto& r : rows) {
    line(r.measure, r.value, r.target, r.met);
  }
}

int Main(int argc, char** argv) {
  CLI::App app{"kubesync live pipeline benchmark"};
  int objects = 20'000;
  int raw = 5'000;
  int rate = 200;
  int lag_seconds = 20;
  int partitions = 16;
  double kube_qps = 0;
  std::string log_level = "info";
  app.add_option("--objects", objects, "ConfigMaps in scope for the initial sync (100000: memory mode)");
  app.add_option("--raw", raw, "creates for the destination's raw write ceiling");
  app.add_option("--rate", rate, "changes/s during the live lag phase");
  app.add_option("--lag-seconds", lag_seconds, "length of the live lag phase (0 skips it)");
  app.add_option("--partitions", partitions, "sync partitions");
  app.add_option("--log-level", log_level, "component log level");
  app.add_option("--kube-qps", kube_qps,
                 "client-side QPS limit of the components towards each cluster (0: their default, 2000)");
  CLI11_PARSE(app, argc, argv);

  std::cout << "starting nats-server, redis-server, two kube-emulators ..." << std::endl;
  auto started = Pipeline::Start({.plan_yaml = Plan("1h"),
                                  .partitions = partitions,
                                  .synchronizers = 1,
                                  .log_level = log_level,
                                  .start_components = false,
                                  .emulator_watch_history = 50'000,
                                  .kube_qps = kube_qps});
  if (!started.ok()) {
    std::cerr << "fixture: " << started.status().ToString() << "\n";
    return 1;
  }
  Pipeline& p = **started;
  const auto src_kc = p.source_cluster().kubeconfig_path("admin");
  const auto dst_kc = p.destination_cluster().kubeconfig_path("admin");

  // (1) raw ceiling of the destination.
  if (!EnsureNamespace(p.destination(), "raw").ok()) {
    return 1;
  }
  std::cout << "(1) raw destination ceiling: " << raw << " creates from 8 threads ..." << std::endl;
  const double raw_cpu0 = CpuSeconds(p.destination_cluster().pid());
  const double ceiling = CreateMany(dst_kc, "raw", raw, 8);
  const double raw_emulator_us = (CpuSeconds(p.destination_cluster().pid()) - raw_cpu0) * 1e6 / std::max(1, raw);
  if (ceiling < 0) {
    return 1;
  }

  // (2) initial sync.
  if (!EnsureNamespace(p.source(), kNamespace, {{"bench", "on"}}).ok()) {
    return 1;
  }
  std::cout << "(2) seeding " << objects << " ConfigMaps in the source ..." << std::endl;
  const double seed_rate = CreateMany(src_kc, kNamespace, objects, 8);
  if (seed_rate < 0) {
    return 1;
  }

  std::mutex mu;
  std::unordered_set<std::string> arrived;
  std::atomic<size_t> arrived_count{0};
  Clock::time_point last_arrival;
  std::vector<double> lags_ms;
  std::set<std::string> seen_stamps;
  kube::InformerOptions io;
  io.resource = ConfigMapRef(kNamespace);
  io.store_mode = kube::StoreMode::kLean;
  auto watch_client = ClientForKubeconfig(dst_kc, 1e6, 1000000);
  if (!watch_client.ok()) {
    return 1;
  }
  auto on_object = [&](const json& obj) {
    const auto now = Clock::now();
    const int64_t now_ns = NowNanos();
    std::lock_guard<std::mutex> lock(mu);
    if (arrived.insert(obj["metadata"].value("name", "")).second) {
      ++arrived_count;
      last_arrival = now;
    }
    const std::string stamp = Annotation(obj, kWrittenAt);
    if (!stamp.empty() && seen_stamps.insert(obj["metadata"].value("name", "") + "@" + stamp).second) {
      lags_ms.push_back(static_cast<double>(now_ns - std::stoll(stamp)) / 1e6);
    }
  };
  kube::Informer informer(**watch_client, io,
                          {.on_add = [&](const json& o, bool) { on_object(o); },
                           .on_update = [&](const json*, const json& o) { on_object(o); },
                           .on_delete = nullptr});
  informer.Start();
  if (!informer.WaitForSync(seconds(10))) {
    std::cerr << "destination informer did not sync\n";
    return 1;
  }
  std::cout << "    starting the pipeline ..." << std::endl;
  std::map<std::string, double> cpu_before;  // servers only: the components start at 0
  for (const auto& [name, pid] : WorkPids(p)) cpu_before[name] = CpuSeconds(pid);
  const auto t0 = Clock::now();
  if (auto s = p.StartComponents(); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  const bool synced = testsupport::WaitFor(
      [&] {
        static auto next_report = Clock::now() + seconds(5);
        if (Clock::now() >= next_report) {
          next_report += seconds(5);
          std::cout << "    " << arrived_count.load() << " arrived; " << p.ConsumerReport() << std::endl;
        }
        return arrived_count.load() >= static_cast<size_t>(objects);
      },
      milliseconds(std::max(120'000, objects * 3)), milliseconds(20));
  double sync_seconds;
  {
    std::lock_guard<std::mutex> lock(mu);
    sync_seconds = Seconds(last_arrival - t0);
  }
  const double sync_rate = synced ? objects / sync_seconds : 0;
  if (!synced) {
    std::cerr << "initial sync incomplete: " << arrived_count.load() << "/" << objects << "; "
              << p.ConsumerReport() << "\n";
    for (const auto& [c, r] : p.Started()) {
      if (!p.Running(c, r)) std::cerr << ComponentName(c) << "-" << r << " is not running\n";
    }
    std::cerr << p.LogTails(20);
  }
  std::cout << "    after sync: " << p.ConsumerReport() << std::endl;
  // Where the CPU went during the initial sync: microseconds per object and process.
  std::map<std::string, double> cpu_us_per_object;
  for (const auto& [name, pid] : WorkPids(p)) {
    cpu_us_per_object[name] = (CpuSeconds(pid) - cpu_before[name]) * 1e6 / std::max(1, objects);
  }
  std::map<std::string, Rss> rss_after_sync;
  for (const auto& [c, r] : p.Started()) {
    rss_after_sync[std::string(ComponentName(c))] = ReadRss(p.Pid(c, r));
  }

  // (3) live lag.
  size_t written = 0;
  size_t missing = 0;
  if (lag_seconds > 0 && synced) {
    std::cout << "(3) live lag: " << rate << " changes/s for " << lag_seconds << " s ..." << std::endl;
    {
      std::lock_guard<std::mutex> lock(mu);
      lags_ms.clear();
    }
    constexpr int kWriters = 4;
    const int per_writer = rate / kWriters;
    const auto interval = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, per_writer));
    const int changes_per_writer = per_writer * lag_seconds;
    const int pool = std::min(objects, 1000);
    std::atomic<size_t> done{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto client = ClientForKubeconfig(src_kc, 1e6, 1000000);
        if (!client.ok()) {
          ++failures;
          return;
        }
        auto next = Clock::now();
        for (int i = 0; i < changes_per_writer; ++i) {
          std::this_thread::sleep_until(next);  // pacing of the offered load
          next += interval;
          const int obj = (w + i * kWriters) % pool;
          const json patch = {{"metadata", {{"annotations", {{kWrittenAt, std::to_string(NowNanos())}}}}}};
          auto r = (*client)->Patch(ConfigMapRef(kNamespace, "cm-" + std::to_string(obj)), kube::PatchType::kMerge,
                                    patch.dump());
          if (!r.ok()) {
            ++failures;
          }
          ++done;
        }
      });
    }
    for (auto& t : writers) {
      t.join();
    }
    written = done.load() - static_cast<size_t>(failures.load());
    testsupport::WaitFor(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return lags_ms.size() >= written;
        },
        seconds(10));
    std::lock_guard<std::mutex> lock(mu);
    missing = written > lags_ms.size() ? written - lags_ms.size() : 0;
  }
  std::vector<double> lags;
  {
    std::lock_guard<std::mutex> lock(mu);
    lags = lags_ms;
  }
  informer.Stop();

  // (4) peak RSS.
  std::map<std::string, Rss> rss;
  long total_hwm_kb = 0;
  for (const auto& [c, r] : p.Started()) {
    const Rss v = ReadRss(p.Pid(c, r));
    rss[std::string(ComponentName(c))] = v;
    total_hwm_kb += v.hwm_kb;
  }

  const bool memory_mode = objects >= 100'000;
  const double ratio = ceiling > 0 ? sync_rate / ceiling : 0;
  const double p50 = Percentile(lags, 0.50);
  const double p99 = Percentile(lags, 0.99);
  std::vector<Row> rows;
  rows.push_back({"(1) destination raw create ceiling, 8 threads, " + std::to_string(raw) + " objects",
                  Fmt(ceiling) + " obj/s", "baseline", ""});
  rows.push_back({"    destination emulator CPU per raw create", Fmt(raw_emulator_us) + " us/obj", "", ""});
  rows.push_back({"    source seeding (same method, for reference)", Fmt(seed_rate) + " obj/s", "", ""});
  rows.push_back({"(2) initial sync of " + std::to_string(objects) + " ConfigMaps",
                  synced ? Fmt(sync_rate) + " obj/s (" + Fmt(sync_seconds, 2) + " s)" : "INCOMPLETE", ">= 2000 obj/s",
                  sync_rate >= 2000 ? "yes" : "NO"});
  rows.push_back({"    initial sync / raw ceiling", Fmt(ratio, 2) + "x", ">= 0.7x", ratio >= 0.7 ? "yes" : "NO"});
  if (lag_seconds > 0) {
    rows.push_back({"(3) live lag p50 at " + std::to_string(rate) + " changes/s, " + std::to_string(lag_seconds) + " s",
                    Fmt(p50, 1) + " ms", "", ""});
    rows.push_back({"    live lag p99", Fmt(p99, 1) + " ms", "<= 50 ms", p99 >= 0 && p99 <= 50 ? "yes" : "NO"});
    rows.push_back({"    changes written / not seen in destination",
                    std::to_string(written) + " / " + std::to_string(missing), "0 missing", missing == 0 ? "yes" : "NO"});
  }
  for (const auto& [name, v] : rss) {
    rows.push_back({"(4) peak RSS " + name, Fmt(static_cast<double>(v.hwm_kb) / 1024, 1) + " MB",
                    "(after sync " + Fmt(static_cast<double>(rss_after_sync[name].hwm_kb) / 1024, 1) + " MB)", ""});
  }
  double cpu_total = 0;
  for (const auto& [name, us] : cpu_us_per_object) {
    rows.push_back({"(5) initial-sync CPU " + name, Fmt(us, 0) + " us/obj", "", ""});
    cpu_total += us;
  }
  rows.push_back({"    CPU of every process together", Fmt(cpu_total, 0) + " us/obj",
                  "(2 cores: bound " + Fmt(2e6 / std::max(1.0, cpu_total)) + " obj/s)", ""});
  const double total_mb = static_cast<double>(total_hwm_kb) / 1024;
  rows.push_back({"    all components together, " + std::to_string(objects) + " objects in scope", Fmt(total_mb, 1) + " MB",
                  "<= 300 MB at 100k", memory_mode ? (total_mb <= 300 ? "yes" : "NO") : "n/a (run --objects 100000)"});
  std::cout << "\n";
  PrintTable(rows);
  std::cout << "\ncomponents' --kube-qps: " << (kube_qps > 0 ? Fmt(kube_qps) : std::string("default")) << "\n";
  std::cout << "machine: " << std::thread::hardware_concurrency()
            << " cores; everything (2 emulators, nats, redis, 3 components, this program) shares them.\n";
  return synced ? 0 : 1;
}

}  // namespace
}  // namespace kubesync::e2e

int main(int argc, char** argv) { return kubesync::e2e::Main(argc, argv); }
