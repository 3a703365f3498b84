// Faults mid-stream: SIGKILL of each component while the source changes, and a NATS
// crash and restart on the same store. Nothing is lost: the destination ends identical to
// the transformed source. And SIGTERM is an orderly stop (exit 0).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "configmap_plan.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int kObjects = 150;

// Creates kObjects ConfigMaps, then updates every third and deletes every tenth, from
// its own thread; `done` counts operations.
class SourceWriter {
 public:
  SourceWriter(kube::Client& client, std::string ns) : client_(client), ns_(std::move(ns)) {}
  ~SourceWriter() { Join(); }

  void Start() {
    thread_ = std::thread([this] {
      for (int i = 0; i < kObjects; ++i) {
        Check(Upsert(client_, ConfigMapRef(ns_), Object(i, "v1")).status());
      }
      for (int i = 0; i < kObjects; i += 3) {
        Check(Upsert(client_, ConfigMapRef(ns_), Object(i, "v2")).status());
      }
      for (int i = 0; i < kObjects; i += 10) {
        Check(client_.Delete(ConfigMapRef(ns_, Name(i))).status());
      }
    });
  }
  void Join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  int done() const { return done_.load(); }
  int failed() const { return failed_.load(); }
  static int total() { return kObjects + (kObjects + 2) / 3 + (kObjects + 9) / 10; }

 private:
  static std::string Name(int i) { return "cm-" + std::to_string(i); }
  json Object(int i, const std::string& version) const {
    return ConfigMapObject(ns_, Name(i), {{"version", version}, {"i", std::to_string(i)}}, {{"dr", "on"}});
  }
  void Check(const Status& s) {
    ++done_;
    if (!s.ok()) {
      ++failed_;
    }
  }

  kube::Client& client_;
  std::string ns_;
  std::atomic<int> done_{0};
  std::atomic<int> failed_{0};
  std::thread thread_;
};

size_t ManagedCount(Pipeline& p, const std::string& ns) {
  auto list = p.destination().List(ConfigMapRef(ns));
  return list.ok() ? list->items.size() : 0;
}

class KillComponentTest : public PipelineTest, public ::testing::WithParamInterface<Component> {};

TEST_P(KillComponentTest, SigkillMidStreamLosesNothing) {
  const Component victim = GetParam();
  StartPipeline({.plan_yaml = ConfigMapPlan("faults"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "stream"));
  SourceWriter writer(src(), "stream");
  writer.Start();
  // Kill once the pipeline is visibly mid-stream.
  ASSERT_TRUE(testsupport::WaitFor([&] { return ManagedCount(p(), "stream") >= 20; }, seconds(20)))
      << "the pipeline made no progress before the kill";
  p().Kill(victim);
  // The rest of the stream (creates, updates, deletes) happens while it is down.
  writer.Join();
  ASSERT_EQ(writer.failed(), 0);
  E2E_ASSERT_OK(p().StartComponent(victim));

  // A killed synchronizer leaves one unacked message per partition: JetStream redelivers
  // it once the consumer's AckWait expires. A restarted listener finds the deletes made
  // while it was down by comparing its first list with the synchronizer's records.
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(50), &diff)) << diff.ToString();
  EXPECT_EQ(diff.in_scope, static_cast<size_t>(kObjects - (kObjects + 9) / 10));
}

INSTANTIATE_TEST_SUITE_P(EachComponent, KillComponentTest,
                         ::testing::Values(Component::kEventsListener, Component::kProcessor,
                                           Component::kSynchronizer),
                         [](const ::testing::TestParamInfo<Component>& info) {
                           return std::string(ComponentName(info.param));
                         });

class NatsRestartTest : public PipelineTest {};

TEST_F(NatsRestartTest, CrashAndRestartOnSameStoreLosesNothing) {
  StartPipeline({.plan_yaml = ConfigMapPlan("nats-restart"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "stream"));
  SourceWriter writer(src(), "stream");
  writer.Start();
  ASSERT_TRUE(testsupport::WaitFor([&] { return ManagedCount(p(), "stream") >= 20; }, seconds(20)));
  p().nats().Kill();
  ASSERT_TRUE(testsupport::WaitFor([&] { return writer.done() >= kObjects; }, seconds(20)));
  E2E_ASSERT_OK(p().nats().StartAgain());
  writer.Join();
  ASSERT_EQ(writer.failed(), 0);

  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(50), &diff)) << diff.ToString();
  for (Component c : {Component::kEventsListener, Component::kProcessor, Component::kSynchronizer}) {
    EXPECT_TRUE(p().Running(c)) << ComponentName(c) << " exited when NATS went away";
  }
}

class ShutdownTest : public PipelineTest {};

TEST_F(ShutdownTest, SigtermExitsZeroAndRestartResumes) {
  StartPipeline({.plan_yaml = ConfigMapPlan("shutdown"), .synchronizers = 2, .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "a", {{"v", "1"}}, {{"dr", "on"}})));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "a"), [](const json&) { return true; }));

  for (const auto& [name, code] : p().StopAll()) {
    EXPECT_EQ(code, 0) << name << " did not exit 0 on SIGTERM";
  }
  // Changes made while everything is down arrive after a restart.
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "a"), [](json& cm) { cm["data"]["v"] = "2"; }));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "b", {{"v", "1"}}, {{"dr", "on"}})));
  E2E_ASSERT_OK(p().StartComponents());
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(20), &diff)) << diff.ToString();
  auto a = dst().Get(ConfigMapRef("app", "a"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)["data"]["v"], "2");
}

}  // namespace
}  // namespace kubesync::e2e
