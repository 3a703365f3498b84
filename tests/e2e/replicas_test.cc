// Several synchronizer replicas share the partitions; rapid updates of the same objects
// end with the newest version everywhere, and no replica ever writes an older version
// over a newer one (an observer watches every version the destination shows).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "configmap_plan.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class ReplicasTest : public PipelineTest {};

TEST_F(ReplicasTest, ThreeSynchronizersUnderRapidUpdatesEndWithNewestVersion) {
  constexpr int kObjects = 12;
  constexpr int kWriters = 4;
  constexpr int kUpdates = 40;
  StartPipeline({.plan_yaml = ConfigMapPlan("replicas"), .partitions = 4, .synchronizers = 3, .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "hot"));

  // Observer: every version of every object the destination shows must be >= the last.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> regressions;
  std::thread observer([&] {
    std::map<std::string, int> last;
    while (!stop.load()) {
      // A sampling interval, not synchronisation: the observer only records what it sees.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      auto list = dst().List(ConfigMapRef("hot"));
      if (!list.ok()) {
        continue;
      }
      for (const auto& cm : list->items) {
        const std::string name = cm["metadata"]["name"];
        const int seq = std::stoi(cm["data"].value("seq", "0"));
        if (seq < last[name]) {
          std::lock_guard<std::mutex> lock(mu);
          regressions.push_back(name + ": " + std::to_string(last[name]) + " -> " + std::to_string(seq));
        }
        last[name] = std::max(last[name], seq);
      }
    }
  });

  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i <= kUpdates; ++i) {
        for (int o = w; o < kObjects; o += kWriters) {
          const std::string name = "obj-" + std::to_string(o);
          auto r = Upsert(src(), ConfigMapRef("hot"),
                          ConfigMapObject("hot", name, {{"seq", std::to_string(i)}}, {{"dr", "on"}}));
          if (!r.ok()) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  ASSERT_EQ(failures.load(), 0);

  for (int o = 0; o < kObjects; ++o) {
    json last;
    EXPECT_TRUE(p().WaitForDestination(
        ConfigMapRef("hot", "obj-" + std::to_string(o)),
        [&](const json& cm) { return cm["data"].value("seq", "") == std::to_string(kUpdates); }, seconds(30), &last))
        << "obj-" << o << ": " << last.dump();
  }
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(10), &diff)) << diff.ToString();
  stop = true;
  observer.join();
  EXPECT_TRUE(regressions.empty()) << regressions.size() << " regressions, first: " << regressions.front();

  // The replicas shared the work.
  int working = 0;
  for (int r = 0; r < 3; ++r) {
    const std::string logs = p().Logs(Component::kSynchronizer, r);
    if (!LogLines(logs, "object updated in cluster").empty() || !LogLines(logs, "object created in cluster").empty()) {
      ++working;
    }
    EXPECT_TRUE(p().Running(Component::kSynchronizer, r)) << "synchronizer-" << r << " exited";
  }
  EXPECT_GE(working, 2) << "only one synchronizer replica wrote anything";
}

}  // namespace
}  // namespace kubesync::e2e
