// bench_kube: the client library against kube-emulator (TLS + token).
//  1. seeds N ConfigMaps (8 writer threads), reporting creates/s;
//  2. baseline: raw libcurl GETs of the same pages (limit=500, bytes only);
//  3. Client::List of all N (paged, parsed), objects/s and ratio to the baseline;
//  4. an informer in a child process (lean and full store): time to sync and peak RSS;
//  5. watch throughput: events/s one watcher receives while 8 writers patch, vs. writes/s.
// `--mode informer` is the child of step 4 (prints one JSON line).
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "kubesync/kube/client.h"
#include "kubesync/kube/informer.h"
#include "kubesync/testsupport/emulator.h"

namespace {

using nlohmann::json;
using namespace kubesync;
using namespace kubesync::kube;
using Steady = std::chrono::steady_clock;

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

long ProcStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::atol(line.c_str() + std::strlen(field) + 1);
    }
  }
  return -1;
}

ResourceRef Cms(const std::string& ns) { return ResourceRef{"", "v1", "configmaps", ns, "", ""}; }

std::unique_ptr<Client> MakeClient(const std::string& kubeconfig) {
  auto rc = Kubeconfig::LoadFile(kubeconfig);
  if (!rc.ok()) {
    std::cerr << rc.status().ToString() << "\n";
    std::exit(1);
  }
  ClientOptions o;
  o.qps = 0;  // measure the library, not the limiter
  return std::move(Client::Create(*rc->ToRestConfig(), o)).value();
}

int InformerChild(const std::string& kubeconfig, const std::string& ns, const std::string& store) {
  auto client = MakeClient(kubeconfig);
  long rss_before = ProcStatusKb("VmRSS:");
  std::atomic<long> adds{0};
  InformerOptions io;
  io.resource = Cms(ns);
  io.store_mode = store == "lean" ? StoreMode::kLean : StoreMode::kFull;
  InformerHandlers h;
  h.on_add = [&](const json&, bool) { ++adds; };
  Informer informer(*client, io, h);
  auto start = Steady::now();
  informer.Start();
  if (!informer.WaitForSync(std::chrono::minutes(5))) {
    std::cerr << "informer did not sync\n";
    return 1;
  }
  double secs = Seconds(start);
  json out = {{"store", store},
              {"objects", informer.store().size()},
              {"adds", adds.load()},
              {"sync_seconds", secs},
              {"objects_per_second", informer.store().size() / secs},
              {"rss_before_kb", rss_before},
              {"rss_after_kb", ProcStatusKb("VmRSS:")},
              {"peak_rss_kb", ProcStatusKb("VmHWM:")}};
  std::cout << out.dump() << std::endl;
  informer.Stop();
  return 0;
}

size_t DiscardBody(char*, size_t size, size_t n, void* user) {
  *static_cast<size_t*>(user) += size * n;
  return size * n;
}

// Baseline: the same paged GETs with bare libcurl, no parsing beyond finding "continue".
double RawCurlList(const testsupport::Emulator& emu, const std::string& ns, size_t* bytes_out) {
  CURL* h = curl_easy_init();
  std::string ca = emu.ca_pem();
  curl_blob blob{ca.data(), ca.size(), CURL_BLOB_COPY};
  std::string auth = "Authorization: Bearer " + emu.token("admin");
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string token;
  size_t total = 0;
  auto start = Steady::now();
  do {
    std::string body;
    std::string url = emu.url() + "/api/v1/namespaces/" + ns + "/configmaps?limit=500";
    if (!token.empty()) {
      char* esc = curl_easy_escape(h, token.c_str(), static_cast<int>(token.size()));
      url += std::string("&continue=") + esc;
      curl_free(esc);
    }
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(
        h, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
          static_cast<std::string*>(u)->append(d, s * n);
          return s * n;
        });
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(h) != CURLE_OK) {
      std::cerr << "raw GET failed\n";
      break;
    }
    total += body.size();
    // Find metadata.continue without a JSON parse (it is near the start of a list).
    token.clear();
    size_t p = body.find("\"continue\":\"");
    if (p != std::string::npos && p < 1000) {
      size_t end = body.find('"', p + 12);
      token = body.substr(p + 12, end - p - 12);
    }
  } while (!token.empty());
  double secs = Seconds(start);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  *bytes_out = total;
  (void)DiscardBody;
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kubesync client library benchmark"};
  std::string mode = "all";
  int objects = 100'000;
  int watch_writes = 20'000;
  std::string kubeconfig;
  std::string ns = "bench";
  std::string store = "lean";
  app.add_option("--mode", mode, "all | informer (child)");
  app.add_option("--objects", objects, "ConfigMaps to list");
  app.add_option("--watch-writes", watch_writes, "writes during the watch throughput test");
  app.add_option("--kubeconfig", kubeconfig);
  app.add_option("--namespace", ns);
  app.add_option("--store", store);
  CLI11_PARSE(app, argc, argv);
  if (mode == "informer") {
    return InformerChild(kubeconfig, ns, store);
  }

  testsupport::EmulatorOptions eo;
  eo.extra_args = {"--log-level", "warn"};
  auto emu_or = testsupport::Emulator::Start(eo);
  if (!emu_or.ok()) {
    std::cerr << emu_or.status().ToString() << "\n";
    return 1;
  }
  auto& emu = *emu_or;
  std::string kc = emu->kubeconfig_path("admin").string();
  auto client = MakeClient(kc);
  (void)client->Create(ResourceRef{"", "v1", "namespaces", "", "", ""}, {{"metadata", {{"name", ns}}}});

  // 1. Seed.
  std::string payload(200, 'x');
  auto start = Steady::now();
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int i = next++; i < objects; i = next++) {
        json cm = {{"metadata", {{"name", "cm-" + std::to_string(i)}, {"labels", {{"bench", "kube"}}}}},
                   {"data", {{"payload", payload}}}};
        if (!client->Create(Cms(ns), cm).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& w : writers) {
    w.join();
  }
  double seed_secs = Seconds(start);
  std::printf("seed: %d ConfigMaps in %.1fs = %.0f creates/s (8 threads, %d failures)\n", objects, seed_secs,
              objects / seed_secs, failures.load());

  // 2. Baseline and 3. Client::List, alternated twice; best of each.
  double raw_best = 1e9, list_best = 1e9;
  size_t raw_bytes = 0, listed = 0;
  for (int round = 0; round < 2; ++round) {
    raw_best = std::min(raw_best, RawCurlList(*emu, ns, &raw_bytes));
    auto t0 = Steady::now();
    Result<ListResult> all = client->List(Cms(ns));
    double s = Seconds(t0);
    if (!all.ok()) {
      std::cerr << all.status().ToString() << "\n";
      return 1;
    }
    listed = all->items.size();
    list_best = std::min(list_best, s);
  }
  std::printf("baseline raw curl paged GET: %zu objects (%.1f MB) in %.2fs = %.0f objects/s\n", listed,
              raw_bytes / 1e6, raw_best, listed / raw_best);
  std::printf(
      "Client::List (parsed): %zu objects in %.2fs = %.0f objects/s  (%.2fx of raw curl; target >= "
      "20000/s)\n",
      listed, list_best, listed / list_best, raw_best / list_best);

  // 4. Informer in a child process, for a clean peak RSS.
  for (const std::string& s : {std::string("lean"), std::string("full")}) {
    testsupport::TempDir dir;
    testsupport::ProcessOptions po;
    po.argv = {argv[0], "--mode", "informer", "--kubeconfig", kc, "--namespace", ns, "--store", s};
    po.stdout_path = dir.path() / "out.json";
    auto child = testsupport::Process::Start(po);
    if (!child.ok() || child->Wait(std::chrono::minutes(5)) != 0) {
      std::cerr << "informer child failed\n";
      return 1;
    }
    json r = json::parse(testsupport::ReadFile(dir.path() / "out.json"));
    std::printf("informer (%s store): %ld objects synced in %.2fs = %.0f objects/s, peak RSS %.1f MB%s\n",
                s.c_str(), r["objects"].get<long>(), r["sync_seconds"].get<double>(),
                r["objects_per_second"].get<double>(), r["peak_rss_kb"].get<long>() / 1024.0,
                s == "lean" ? " (target < 100 MB)" : "");
  }

  // 5. Watch throughput: one watcher, 8 writers patching existing objects.
  Result<ListPage> head = client->ListOnePage(Cms(ns), ListOptions{.limit = 1});
  std::atomic<long> received{0};
  std::atomic<bool> cancel{false};
  std::thread watcher([&] {
    WatchOptions wo;
    wo.resource_version = head->resource_version;
    wo.allow_bookmarks = false;
    (void)client->Watch(
        Cms(ns), wo,
        [&](WatchEvent&& e) {
          if (e.type == WatchEventType::kModified) {
            ++received;
          }
          return true;
        },
        &cancel);
  });
  next = 0;
  writers.clear();
  start = Steady::now();
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int i = next++; i < watch_writes; i = next++) {
        json patch = {{"data", {{"n", std::to_string(i)}}}};
        (void)client->Patch(ResourceRef{"", "v1", "configmaps", ns, "cm-" + std::to_string(i % objects), ""},
                            PatchType::kMerge, patch.dump());
      }
    });
  }
  for (auto& w : writers) {
    w.join();
  }
  double write_secs = Seconds(start);
  testsupport::WaitFor([&] { return received.load() >= watch_writes; }, std::chrono::seconds(60));
  double watch_secs = Seconds(start);
  cancel = true;
  watcher.join();
  std::printf(
      "watch: %ld/%d events received in %.2fs = %.0f events/s; writers %.0f patches/s (%.2fx of write "
      "rate)\n",
      received.load(), watch_writes, watch_secs, received.load() / watch_secs, watch_writes / write_secs,
      (received.load() / watch_secs) / (watch_writes / write_secs));
  std::printf("bench process peak RSS: %.1f MB\n", ProcStatusKb("VmHWM:") / 1024.0);
  return 0;
}
