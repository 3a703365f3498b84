// The bus under stress (issue 10): objects too large for NATS (item 3), messages the
// destination keeps refusing (item 6) and NATS state lost during a run (item 7). Each
// ends with the rest of the pipeline flowing and what could not be replicated reported in
// the problems record (state::ProblemStore) the controller reads.
#include <gtest/gtest.h>

#include "configmap_plan.h"
#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/state/problems.h"
#include "kubesync/state/redis_client.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

json BigConfigMap(const std::string& ns, const std::string& name, size_t bytes) {
  json cm = ConfigMapObject(ns, name, json::object(), {{"dr", "on"}});
  cm.erase("data");
  cm["binaryData"] = {{"blob", Base64(std::string(bytes, '\x01'))}};
  return cm;
}

class BusTest : public PipelineTest {
 protected:
  state::ProblemStore& Problems() {
    if (!problems_) {
      auto redis = state::RedisClient::Connect({.url = p().redis().url()});
      EXPECT_TRUE(redis.ok()) << redis.status().ToString();
      redis_ = std::move(*redis);
      problems_ = std::make_unique<state::ProblemStore>(redis_.get());
    }
    return *problems_;
  }
  int64_t ProblemCount() {
    auto n = Problems().Count(p().id());
    return n.ok() ? *n : -1;
  }
  std::unique_ptr<bus::Connection> Nats() {
    auto conn = bus::Connection::Connect({.url = p().nats().url(), .name = "e2e-test"});
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  std::unique_ptr<state::RedisClient> redis_;
  std::unique_ptr<state::ProblemStore> problems_;
};

TEST_F(BusTest, ConfigMapOfOnePointFourMiBReplicates) {
  StartPipeline({.plan_yaml = ConfigMapPlan("large"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  // 1.4 MiB of binaryData: about 1.9 MiB of JSON, over nats-server's default max_payload.
  const json big = BigConfigMap("app", "big", 1400 * 1024);
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), big));
  EXPECT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "big"), [&](const json& cm) { return cm["binaryData"] == big["binaryData"]; },
      seconds(30)));
  E2E_ASSERT_OK(
      Modify(src(), ConfigMapRef("app", "big"), [](json& cm) { cm["metadata"]["labels"]["v"] = "2"; }));
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  EXPECT_EQ(ProblemCount(), 0);
}

TEST_F(BusTest, ObjectOverTheServersLimitIsReportedAndTheRestFlows) {
  // An external nats-server with the default 1 MiB max_payload.
  StartPipeline({.plan_yaml = ConfigMapPlan("oversize"), .log_level = "info", .nats_max_payload = 1 << 20});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), BigConfigMap("app", "big", 1400 * 1024)));
  // Changes after the big one, of the same resource, still arrive.
  for (int i = 0; i < 10; ++i) {
    const std::string name = "cm-" + std::to_string(i);
    E2E_ASSERT_OK(
        Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", name, {{"i", name}}, {{"dr", "on"}})));
  }
  EXPECT_TRUE(p().WaitForDestination(
      ConfigMapRef("app", "cm-9"), [](const json&) { return true; }, seconds(30)));
  ASSERT_TRUE(testsupport::WaitFor([&] { return ProblemCount() == 1; }, seconds(20)));
  auto problem = Problems().Get(p().id(), "/configmaps/app/big");
  ASSERT_TRUE(problem.ok() && problem->has_value()) << problem.status().ToString();
  EXPECT_EQ((*problem)->reason, state::kProblemTooLarge);
  EXPECT_EQ((*problem)->component, "eventslistener");
  EXPECT_NE((*problem)->message.find("exceeds the limit of 1048576 bytes (the server's max_payload)"),
            std::string::npos)
      << (*problem)->message;
  bool logged = false;
  for (const json& line : LogLines(p().Logs(Component::kEventsListener), "object too large to replicate")) {
    logged = logged || (line["sourceObject"]["name"] == "big" && line["level"] == "error");
  }
  EXPECT_TRUE(logged) << "no error log line names the object";
  EXPECT_FALSE(dst().Get(ConfigMapRef("app", "big")).ok());

  // Once it fits, it replicates and the problem is over.
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "big"), [](json& cm) {
    cm["binaryData"] = {{"blob", Base64("small now")}};
  }));
  DiffReport diff;
  EXPECT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  EXPECT_TRUE(testsupport::WaitFor([&] { return ProblemCount() == 0; }, seconds(10)));
}

// Every ConfigMap labelled dr=on, without forceNamespaceCreation: objects of a namespace
// the destination lacks are refused until someone creates it there.
std::string NoForcePlan(const std::string& name) {
  return "apiVersion: automation.astronetes.io/v1alpha1\n"
         "kind: LiveSynchronization\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "  namespace: dr-config\n"
         "spec:\n"
         "  plugin: kubernetes-objects-to-kubernetes\n"
         "  config:\n"
         "    sourceName: source\n"
         "    destinationName: destination\n"
         "    replication:\n"
         "      resources:\n"
         "        - version: v1\n"
         "          resource: configmaps\n"
         "          filters:\n"
         "            selector:\n"
         "              matchLabels:\n"
         "                dr: \"on\"\n";
}

TEST_F(BusTest, PoisonMessagesAreParkedAndThePartitionFlows) {
  // One partition: forty messages that keep failing are more than its 32 in flight.
  StartPipeline({.plan_yaml = NoForcePlan("poison"),
                 .partitions = 1,
                 .log_level = "info",
                 // Counted exactly below: no reconciler pass sending the parked objects again.
                 .reconciler = false,
                 .synchronizer_args = {"--max-deliveries", "3"}});
  E2E_ASSERT_OK(EnsureNamespace(src(), "ghost"));  // never created in the destination
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  E2E_ASSERT_OK(EnsureNamespace(dst(), "app"));
  for (int i = 0; i < 40; ++i) {
    const std::string name = "g-" + std::to_string(i);
    E2E_ASSERT_OK(
        Upsert(src(), ConfigMapRef("ghost"), ConfigMapObject("ghost", name, {{"i", name}}, {{"dr", "on"}})));
  }
  for (int i = 0; i < 5; ++i) {
    const std::string name = "a-" + std::to_string(i);
    E2E_ASSERT_OK(
        Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", name, {{"i", name}}, {{"dr", "on"}})));
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(p().WaitForDestination(
        ConfigMapRef("app", "a-" + std::to_string(i)), [](const json&) { return true; }, seconds(60)))
        << "a-" << i << " stuck behind the poison messages";
  }
  ASSERT_TRUE(testsupport::WaitFor([&] { return ProblemCount() == 40; }, seconds(30))) << ProblemCount();
  auto parked = Problems().Get(p().id(), "/configmaps/ghost/g-7");
  ASSERT_TRUE(parked.ok() && parked->has_value()) << parked.status().ToString();
  EXPECT_EQ((*parked)->reason, state::kProblemDeliveryLimit);
  EXPECT_EQ((*parked)->component, "synchronizer");
  EXPECT_EQ((*parked)->deliveries, 3);
  EXPECT_NE((*parked)->message.find("namespace \"ghost\" not found in the destination"), std::string::npos)
      << (*parked)->message;
  int logged = 0;
  for (const json& line : LogLines(p().Logs(Component::kSynchronizer), "object parked")) {
    if (line["sourceObject"]["namespace"] == "ghost" && line["reason"] == "DeliveryLimit") ++logged;
  }
  EXPECT_EQ(logged, 40);

  // The operator creates the namespace: the next change of a parked object goes through
  // and its problem is over; the others stay reported.
  E2E_ASSERT_OK(EnsureNamespace(dst(), "ghost"));
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("ghost", "g-7"), [](json& cm) { cm["data"]["v"] = "2"; }));
  json last;
  EXPECT_TRUE(p().WaitForDestination(
      ConfigMapRef("ghost", "g-7"), [](const json& cm) { return cm["data"].value("v", "") == "2"; },
      seconds(30), &last))
      << last.dump();
  EXPECT_TRUE(testsupport::WaitFor([&] { return ProblemCount() == 39; }, seconds(10))) << ProblemCount();
}

// Changes made while the stream is gone, and changes that were in the stream when it went.
void ChurnAndConverge(Pipeline& p, const std::function<void()>& lose_state, int first) {
  kube::Client& src = p.source();
  auto cm = [](int i, const std::string& v) {
    return ConfigMapObject("app", "cm-" + std::to_string(i), {{"v", v}}, {{"dr", "on"}});
  };
  // Held in the stream: the synchronizer is down, so they are not applied yet.
  p.Stop(Component::kSynchronizer);
  for (int i = first; i < first + 20; ++i) ASSERT_TRUE(Upsert(src, ConfigMapRef("app"), cm(i, "1")).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Upsert(src, ConfigMapRef("app"), cm(i, "held")).ok());
  for (int i = 10; i < 15; ++i) ASSERT_TRUE(src.Delete(ConfigMapRef("app", "cm-" + std::to_string(i))).ok());
  // Until the processor has passed them on to the (unread) sync subjects.
  auto processor_done = [&] {
    auto conn = bus::Connection::Connect({.url = p.nats().url(), .name = "e2e-observer"});
    if (!conn.ok()) return false;
    auto stats = (*conn)->GetConsumerStats(*bus::StreamName(p.id()), "processor");
    return stats.ok() && stats->num_pending == 0 && stats->num_ack_pending == 0;
  };
  ASSERT_TRUE(testsupport::WaitFor(processor_done, seconds(30)));
  lose_state();
  // The running components create the stream again; the synchronizer comes back to it.
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        auto conn = bus::Connection::Connect({.url = p.nats().url(), .name = "e2e-observer"});
        return conn.ok() && (*conn)->GetStreamStats(*bus::StreamName(p.id())).ok();
      },
      seconds(30)));
  ASSERT_TRUE(p.StartComponent(Component::kSynchronizer).ok());
  // And more while the pipeline repairs itself.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Upsert(src, ConfigMapRef("app"), cm(i, "after")).ok());
  for (int i = 15; i < 18; ++i) ASSERT_TRUE(src.Delete(ConfigMapRef("app", "cm-" + std::to_string(i))).ok());
  // Creates and updates the lost stream held come back with the listener's re-list...
  DiffReport diff;
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        auto d = p.CompareDestination();
        if (d.ok()) diff = *d;
        return d.ok() && d->missing.empty() && d->different.empty();
      },
      seconds(60)))
      << diff.ToString() << "\n"
      << p.ConsumerReport();
  // ...and the deletes it held are the reconciler's: its next pass (one now) removes them.
  auto run = p.RunReconcilerOnce({"--mass-delete-fraction", "1"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0) << run->stdout_text;
  EXPECT_TRUE(p.WaitForConvergence(seconds(30), &diff)) << diff.ToString() << "\n" << p.ConsumerReport();
  for (Component c : {Component::kEventsListener, Component::kProcessor, Component::kSynchronizer}) {
    EXPECT_TRUE(p.Running(c)) << ComponentName(c) << " exited";
  }
}

TEST_F(BusTest, StreamDeletedDuringARunIsCreatedAgainAndTheSetConverges) {
  StartPipeline({.plan_yaml = ConfigMapPlan("stream-rm"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  for (int i = 0; i < 30; ++i) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"),
                         ConfigMapObject("app", "cm-" + std::to_string(i), {{"v", "0"}}, {{"dr", "on"}})));
  }
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  // `nats stream rm`, through the JetStream API.
  ChurnAndConverge(
      p(),
      [&] {
        auto conn = Nats();
        ASSERT_NE(conn, nullptr);
        E2E_ASSERT_OK(conn->DeleteStream(*bus::StreamName(p().id())));
      },
      30);
  bool relisted = false;
  for (const json& line : LogLines(p().Logs(Component::kEventsListener),
                                   "nats stream was created again, listing every resource again")) {
    relisted = relisted || line["level"] == "warn";
  }
  EXPECT_TRUE(relisted);
}

TEST_F(BusTest, NatsRestartedWithoutItsStoreConverges) {
  StartPipeline({.plan_yaml = ConfigMapPlan("store-loss"), .log_level = "info"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app"));
  for (int i = 0; i < 30; ++i) {
    E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"),
                         ConfigMapObject("app", "cm-" + std::to_string(i), {{"v", "0"}}, {{"dr", "on"}})));
  }
  DiffReport diff;
  ASSERT_TRUE(p().WaitForConvergence(seconds(30), &diff)) << diff.ToString();
  ChurnAndConverge(
      p(),
      [&] {
        p().nats().Kill();
        p().nats().WipeStore();
        E2E_ASSERT_OK(p().nats().StartAgain());
      },
      30);
  EXPECT_FALSE(LogLines(p().Logs(Component::kEventsListener),
                        "nats stream was created again, listing every resource again")
                   .empty());
}

}  // namespace
}  // namespace kubesync::e2e
