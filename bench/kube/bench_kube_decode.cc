// Hot paths of the informer, without a server: decoding a watch stream and applying
// events to the store (lean and full).
#include <benchmark/benchmark.h>

#include "kubesync/kube/store.h"
#include "kubesync/kube/watch.h"

namespace {

using nlohmann::json;
using namespace kubesync::kube;

std::string Stream(int events) {
  std::string out;
  for (int i = 0; i < events; ++i) {
    json obj = {{"kind", "ConfigMap"},
                {"apiVersion", "v1"},
                {"metadata",
                 {{"name", "cm-" + std::to_string(i)},
                  {"namespace", "bench"},
                  {"uid", "6f1c9a44-8c1e-4c55-b7a4-0c8d5c1d2e3f"},
                  {"resourceVersion", std::to_string(1000 + i)},
                  {"creationTimestamp", "2024-05-01T10:00:00Z"},
                  {"labels", {{"app", "bench"}}}}},
                {"data", {{"payload", std::string(200, 'x')}}}};
    out += json{{"type", "MODIFIED"}, {"object", obj}}.dump() + "\n";
  }
  return out;
}

void BM_DecodeWatchStream(benchmark::State& state) {
  std::string stream = Stream(1000);
  size_t piece = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    for (size_t i = 0; i < stream.size(); i += piece) {
      events.clear();
      (void)decoder.Feed(std::string_view(stream).substr(i, piece), events);
      benchmark::DoNotOptimize(events.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_DecodeWatchStream)->Arg(16 * 1024)->Arg(512);

void BM_StoreApply(benchmark::State& state) {
  StoreMode mode = state.range(0) == 0 ? StoreMode::kLean : StoreMode::kFull;
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  (void)decoder.Feed(Stream(1000), events);
  Store store(mode);
  for (auto _ : state) {
    for (const auto& e : events) {
      store.Upsert(ObjectKey(e.object), e.object);
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetLabel(mode == StoreMode::kLean ? "lean" : "full");
}
BENCHMARK(BM_StoreApply)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
