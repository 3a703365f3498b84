// Measures kube-emulator (tests/emulator) on this machine:
//   1. ConfigMap creates/s from 8 keep-alive clients over --seconds;
//   2. fan-out: --watchers concurrent watch streams, --writes creates; checks every watcher
//      got every event in RV order, prints events/s delivered;
//   3. the emulator's peak RSS (VmHWM).
// Usage: bench_emulator [--seconds 5] [--watchers 500] [--writes 2000]
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kubesync/testsupport/emulator.h"

namespace {

using Clock = std::chrono::steady_clock;
using kubesync::testsupport::Emulator;
using kubesync::testsupport::EmulatorOptions;

std::string PeakRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return line.substr(6);
  }
  return "?";
}

std::string Body(const std::string& name) {
  return "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" + name +
         "\"},\"data\":{\"key\":\"value\"}}";
}

void Creates(Emulator& emu, int seconds) {
  constexpr int kClients = 8;
  std::atomic<long> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client cli("127.0.0.1", emu.port());
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      for (long i = 0; !stop; ++i) {
        auto r = cli.Post("/api/v1/namespaces/default/configmaps",
                          Body("c" + std::to_string(t) + "-" + std::to_string(i)), "application/json");
        (r && r->status == 201 ? ok : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the measurement window
  stop = true;
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("creates: %ld in %.2fs from %d keep-alive clients = %.0f/s (%ld failed)\n", ok.load(), secs,
              kClients, ok / secs, failed.load());
}

void FanOut(Emulator& emu, int watchers, int writes) {
  auto list = emu.Request("GET", "/api/v1/namespaces/fanout/configmaps");
  const std::string rv = list->body["metadata"]["resourceVersion"];
  struct Watcher {
    std::thread thread;
    std::vector<uint64_t> rvs;
    std::atomic<bool> stop{false};
    std::atomic<long> count{0};
    Clock::time_point last;
    bool ordered = true;
    std::unique_ptr<httplib::Client> cli;
  };
  std::vector<std::unique_ptr<Watcher>> ws;
  std::atomic<int> connected{0};
  for (int i = 0; i < watchers; ++i) {
    auto w = std::make_unique<Watcher>();
    w->cli = std::make_unique<httplib::Client>("127.0.0.1", emu.port());
    w->cli->set_read_timeout(std::chrono::seconds(120));
    Watcher* wp = w.get();
    w->thread = std::thread([wp, &emu, &connected, rv] {
      std::string buffer;
      const std::string path = "/api/v1/namespaces/fanout/configmaps?watch=true&resourceVersion=" + rv;
      bool first = true;
      wp->cli->Get(
          path.c_str(), httplib::Headers{},
          [&](const httplib::Response&) {
            if (first) connected++;
            first = false;
            return true;
          },
          [&](const char* data, size_t len) {
            buffer.append(data, len);
            size_t nl;
            while ((nl = buffer.find('\n')) != std::string::npos) {
              // Cheap decoding keeps the client from eating the CPU the server needs: the
              // type prefix and the object's resourceVersion are all this check needs.
              const std::string line = buffer.substr(0, nl);
              buffer.erase(0, nl + 1);
              if (line.rfind("{\"type\":\"ADDED\"", 0) != 0) continue;
              const auto pos = line.find("\"resourceVersion\":\"");
              if (pos == std::string::npos) continue;
              const uint64_t v = std::stoull(line.substr(pos + 19));
              if (!wp->rvs.empty() && v <= wp->rvs.back()) wp->ordered = false;
              wp->rvs.push_back(v);
              wp->last = Clock::now();
              wp->count++;
            }
            return !wp->stop;
          });
      (void)emu;
    });
    ws.push_back(std::move(w));
  }
  kubesync::testsupport::WaitFor([&] { return connected.load() == watchers; }, std::chrono::seconds(60));
  std::printf("fan-out: %d/%d watches connected\n", connected.load(), watchers);
  const auto start = Clock::now();
  std::vector<std::thread> writers;
  std::atomic<long> written{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      httplib::Client cli("127.0.0.1", emu.port());
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      for (int i = t; i < writes; i += 8) {
        auto r = cli.Post("/api/v1/namespaces/fanout/configmaps", Body("f" + std::to_string(i)),
                          "application/json");
        if (r && r->status == 201) written++;
      }
    });
  }
  for (auto& th : writers) th.join();
  const auto write_end = Clock::now();
  kubesync::testsupport::WaitFor(
      [&] {
        for (auto& w : ws) {
          if (w->count < written) return false;
        }
        return true;
      },
      std::chrono::seconds(120), std::chrono::milliseconds(20));
  Clock::time_point last = start;
  long complete = 0, ordered = 0, delivered = 0;
  for (auto& w : ws) {
    if (w->count == written) complete++;
    if (w->ordered) ordered++;
    delivered += w->count;
    if (w->last > last) last = w->last;
  }
  const double write_secs = std::chrono::duration<double>(write_end - start).count();
  const double secs = std::chrono::duration<double>(last - start).count();
  std::printf(
      "fan-out: %ld writes in %.2fs (%.0f/s); %ld/%d watchers got every event, %ld/%d in RV order; "
      "%ld events delivered in %.2fs = %.0f events/s\n",
      written.load(), write_secs, written / write_secs, complete, watchers, ordered, watchers, delivered,
      secs, delivered / secs);
  for (auto& w : ws) {
    w->stop = true;
    w->cli->stop();
  }
  (void)emu.DropWatches();
  for (auto& w : ws) w->thread.join();
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 5, watchers = 500, writes = 2000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (a == "--watchers" && i + 1 < argc)
      watchers = std::atoi(argv[++i]);
    else if (a == "--writes" && i + 1 < argc)
      writes = std::atoi(argv[++i]);
  }
  EmulatorOptions options;
  options.tls = false;
  options.token_users.clear();
  auto emu = Emulator::Start(options);
  if (!emu.ok()) {
    std::cerr << emu.status().ToString() << "\n";
    return 1;
  }
  std::printf("kube-emulator pid %d on port %d (with --data-dir)\n", (*emu)->pid(), (*emu)->port());
  Creates(**emu, seconds);
  (void)(*emu)->Request("POST", "/api/v1/namespaces", nlohmann::json{{"metadata", {{"name", "fanout"}}}});
  FanOut(**emu, watchers, writes);
  std::printf("emulator peak RSS (VmHWM):%s\n", PeakRss((*emu)->pid()).c_str());
  return 0;
}
