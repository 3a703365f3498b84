// The processor's per-object step: Clean + ApplyTransformation + Mark (which hashes), on
// a typical Deployment (with the documented replicas-to-zero transformation) and on a 4 KB
// ConfigMap (no transformation). Reports objects/s; run:
//   build/bench/transform/bench_transform --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <string>

#include "kubesync/transform/pipeline.h"
#include "objects.h"

namespace {

using nlohmann::json;
namespace tr = kubesync::transform;

const tr::MarkInfo kInfo{"dr", "shop-live", "6b2d3f5e-0d1c-4a7e-9f0a-2b1c3d4e5f60", "184467"};

json ConfigMap4k() {
  json cm = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"shop",
    "uid":"12345678-1111-2222-3333-444444444444","resourceVersion":"5521","creationTimestamp":"2024-02-09T14:05:30Z",
    "labels":{"app":"web"}},"data":{}})");
  for (int i = 0; i < 64; ++i) {
    cm["data"]["key-" + std::to_string(i)] = std::string(56, static_cast<char>('a' + i % 26));
  }
  return cm;
}

void RunPipeline(benchmark::State& state, const json& source, const kubesync::plan::Gvr& gvr,
                 const kubesync::plan::Patch& patch) {
  for (auto _ : state) {
    auto out = tr::PrepareForDestination(source, gvr, patch, kInfo);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());  // items/s == objects/s
  state.counters["source_bytes"] = static_cast<double>(source.dump().size());
}

void BM_Deployment(benchmark::State& state) {
  kubesync::plan::Patch patch;
  patch.operations = {{kubesync::plan::PatchOp::kReplace, "/spec/replicas", 0}};
  RunPipeline(state, tr::testing::Deployment(), {"apps", "v1", "deployments"}, patch);
}
BENCHMARK(BM_Deployment);

void BM_ConfigMap4k(benchmark::State& state) {
  RunPipeline(state, ConfigMap4k(), {"", "v1", "configmaps"}, {});
}
BENCHMARK(BM_ConfigMap4k);

// The parts on their own, to see where the time goes.
void BM_DeploymentCleanOnly(benchmark::State& state) {
  json source = tr::testing::Deployment();
  for (auto _ : state) {
    benchmark::DoNotOptimize(tr::Clean(source, {"apps", "v1", "deployments"}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeploymentCleanOnly);

void BM_DeploymentHashOnly(benchmark::State& state) {
  json source = tr::Clean(tr::testing::Deployment(), {"apps", "v1", "deployments"});
  for (auto _ : state) {
    benchmark::DoNotOptimize(tr::ContentHash(source));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeploymentHashOnly);

}  // namespace

BENCHMARK_MAIN();
