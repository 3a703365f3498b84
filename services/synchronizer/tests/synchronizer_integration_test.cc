// The synchronizer binary against a real nats-server, redis-server and the kube emulator
// (the destination): hand-made sync envelopes, built as the processor builds them
// (transform::PrepareForDestination), are published to the sync subjects, and the tests
// assert the destination's end state.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/bus/testing/nats_server.h"
#include "kubesync/plan/parse.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/redis_client.h"
#include "kubesync/state/testing/redis_server.h"
#include "kubesync/testsupport/emulator.h"
#include "kubesync/testsupport/process.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"

namespace kubesync::synchronizer {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kId[] = "dr.live";
constexpr int kPartitions = 4;
const plan::Gvr kConfigMaps{"", "v1", "configmaps"};
const plan::Gvr kServices{"", "v1", "services"};

struct PlanFlags {
  bool force_namespace_creation = false;
  bool dry_run = false;
  std::optional<int> concurrent_tasks;  // spec.config.components.synchronizer.concurrentTasks
};

class SynchronizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto nats = bus::testing::NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status().ToString();
    nats_ = std::move(*nats);
    auto redis = state::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    redis_ = std::move(*redis);
    auto emulator = testsupport::Emulator::Start();
    ASSERT_TRUE(emulator.ok()) << emulator.status().ToString();
    emulator_ = std::move(*emulator);

    auto conn = bus::Connection::Connect({.url = nats_->url()});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    bus_ = std::move(*conn);
    ASSERT_TRUE(bus_->EnsureStream({.id = kId}).ok());
    auto redis_client = state::RedisClient::Connect({.url = redis_->url()});
    ASSERT_TRUE(redis_client.ok()) << redis_client.status().ToString();
    redis_client_ = std::move(*redis_client);
    store_ = std::make_unique<state::ObjectStateStore>(redis_client_.get());
    ASSERT_EQ(Request("POST", "/api/v1/namespaces", json{{"metadata", {{"name", "team"}}}}).status, 201);
  }

  void TearDown() override {
    for (auto& p : processes_) {
      if (p.Running()) p.Stop();
    }
  }

  void WritePlan(const PlanFlags& flags) {
    plan::Plan plan;
    plan.name = "live";
    plan.namespace_ = "dr";
    plan.plugin = std::string(plan::kObjectsPlugin);
    plan.source_cluster = "source";
    plan.destination_cluster = "destination";
    plan.dry_run = flags.dry_run;
    plan.force_namespace_creation = flags.force_namespace_creation;
    plan::Rule configmaps;
    configmaps.gvr = kConfigMaps;
    plan::Rule services;
    services.gvr = kServices;
    plan.rules = {configmaps, services};
    if (flags.concurrent_tasks) plan.components["synchronizer"].concurrent_tasks = *flags.concurrent_tasks;
    testsupport::WriteFile(dir_.path() / "plan.json", plan::ToJson(plan).dump());
  }

  // Starts one synchronizer; its stdout goes to log<index>.jsonl.
  testsupport::Process& StartSynchronizer(int ack_wait_seconds = 3) {
    int index = static_cast<int>(processes_.size());
    auto process = testsupport::Process::Start(
        {.argv = {SYNCHRONIZER_BIN, "--plan", (dir_.path() / "plan.json").string(),
                  "--destination-kubeconfig", emulator_->kubeconfig_path("admin").string(), "--nats-url",
                  nats_->url(), "--redis-url", redis_->url(), "--partitions", std::to_string(kPartitions),
                  "--consumer-id", "synchronizer-" + std::to_string(index), "--ack-wait-seconds",
                  std::to_string(ack_wait_seconds), "--log-level", "debug"},
         .stdout_path = LogPath(index),
         .stderr_path = dir_.path() / ("stderr" + std::to_string(index) + ".txt")});
    EXPECT_TRUE(process.ok()) << process.status().ToString();
    processes_.push_back(std::move(*process));
    return processes_.back();
  }

  std::filesystem::path LogPath(int index) const {
    return dir_.path() / ("log" + std::to_string(index) + ".jsonl");
  }

  std::vector<json> LogLines(int index = 0) const {
    std::vector<json> lines;
    std::string text = std::filesystem::exists(LogPath(index)) ? testsupport::ReadFile(LogPath(index)) : "";
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) break;  // a line still being written
      json line = json::parse(text.substr(start, end - start), nullptr, false);
      if (line.is_object()) lines.push_back(std::move(line));
      start = end + 1;
    }
    return lines;
  }
  int CountLogs(const std::string& msg, int index = 0) const {
    int n = 0;
    for (const auto& line : LogLines(index)) n += line.value("msg", "") == msg ? 1 : 0;
    return n;
  }

  testsupport::Emulator::Reply Request(const std::string& method, const std::string& path,
                                       const std::optional<json>& body = std::nullopt) {
    auto reply = emulator_->Request(method, path, body);
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    return reply.ok() ? *reply : testsupport::Emulator::Reply{};
  }
  json Dest(const std::string& ns, const std::string& resource, const std::string& name) {
    auto reply = Request("GET", "/api/v1/namespaces/" + ns + "/" + resource + "/" + name);
    return reply.status == 200 ? reply.body : json();
  }
  std::string DestData(const std::string& ns, const std::string& name) {
    json obj = Dest(ns, "configmaps", name);
    return obj.is_object() ? obj["data"].value("v", "") : "";
  }

  static json SourceConfigMap(const std::string& ns, const std::string& name, uint64_t rv,
                              const std::string& value) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata",
             {{"name", name},
              {"namespace", ns},
              {"uid", "uid-" + ns + "-" + name},
              {"resourceVersion", std::to_string(rv)},
              {"creationTimestamp", "2024-01-01T00:00:00Z"}}},
            {"data", {{"v", value}}}};
  }

  // The envelope the processor would publish for `source` (ADDED/MODIFIED/RESYNC/DELETED).
  static proto::Event MakeEvent(proto::EventType type, const plan::Gvr& gvr, const json& source) {
    const json& meta = source["metadata"];
    proto::Event ev;
    ev.type = type;
    ev.gvr = {gvr.group, gvr.version, gvr.resource};
    ev.kind = source.value("kind", "");
    ev.namespace_ = meta.value("namespace", "");
    ev.name = meta.value("name", "");
    ev.uid = meta.value("uid", "");
    ev.resource_version = meta.value("resourceVersion", "");
    ev.live_synchronization_id = kId;
    if (type != proto::EventType::kDeleted) {
      auto prepared =
          transform::PrepareForDestination(source, gvr, {}, {"dr", "live", ev.uid, ev.resource_version});
      EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
      ev.object_json = prepared->object.dump();
      ev.content_hash = prepared->content_hash;
    }
    return ev;
  }

  void Publish(const proto::Event& ev) {
    auto payload = proto::Encode(ev);
    ASSERT_TRUE(payload.ok()) << payload.status().ToString();
    int partition = bus::Partition(proto::ObjectKey(ev), kPartitions);
    auto subject = bus::SyncSubject(kId, partition);
    ASSERT_TRUE(subject.ok());
    std::string msg_id =
        ev.uid + "/" + ev.resource_version + "/" + std::string(proto::EventTypeName(ev.type));
    auto ack = bus_->Publish(*subject, *payload, msg_id);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  }
  void PublishConfigMap(proto::EventType type, const std::string& ns, const std::string& name, uint64_t rv,
                        const std::string& value) {
    Publish(MakeEvent(type, kConfigMaps, SourceConfigMap(ns, name, rv, value)));
  }

  // Every partition's consumer has delivered and settled everything published so far.
  bool Drained() {
    auto stream = bus::StreamName(kId);
    for (int p = 0; p < kPartitions; ++p) {
      auto stats = bus_->GetConsumerStats(*stream, "synchronizer-" + std::to_string(p));
      if (!stats.ok()) return false;  // e.g. kNotFound: not subscribed yet
      if (stats->num_pending != 0 || stats->num_ack_pending != 0) return false;
    }
    return true;
  }

  testsupport::TempDir dir_;
  std::unique_ptr<bus::testing::NatsServer> nats_;
  std::unique_ptr<state::testing::RedisServer> redis_;
  std::unique_ptr<testsupport::Emulator> emulator_;
  std::unique_ptr<bus::Connection> bus_;
  std::unique_ptr<state::RedisClient> redis_client_;
  std::unique_ptr<state::ObjectStateStore> store_;
  std::vector<testsupport::Process> processes_;
};

using testsupport::WaitFor;
constexpr milliseconds kWait(20'000);

TEST_F(SynchronizerTest, CreatesUpdatesAndDeletesAManagedObjectKeepingDestinationFields) {
  WritePlan({});
  StartSynchronizer();
  json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata",
               {{"name", "web"},
                {"namespace", "team"},
                {"uid", "uid-svc"},
                {"resourceVersion", "10"},
                {"labels", {{"tier", "one"}}}}},
              {"spec",
               {{"clusterIP", "10.0.0.99"},
                {"ports", {{{"port", 80}, {"protocol", "TCP"}}}},
                {"selector", {{"app", "web"}}}}}};
  Publish(MakeEvent(proto::EventType::kAdded, kServices, svc));
  ASSERT_TRUE(WaitFor([&] { return Dest("team", "services", "web").is_object(); }, kWait));
  json created = Dest("team", "services", "web");
  EXPECT_TRUE(transform::IsManagedBy(created, kId));
  const std::string cluster_ip = created["spec"].value("clusterIP", "");
  ASSERT_FALSE(cluster_ip.empty());
  EXPECT_NE(cluster_ip, "10.0.0.99") << "the source's clusterIP is not copied";

  svc["metadata"]["resourceVersion"] = "11";
  svc["metadata"]["labels"]["tier"] = "two";
  Publish(MakeEvent(proto::EventType::kModified, kServices, svc));
  ASSERT_TRUE(WaitFor(
      [&] {
        json obj = Dest("team", "services", "web");
        return obj.is_object() && obj["metadata"]["labels"].value("tier", "") == "two";
      },
      kWait));
  json updated = Dest("team", "services", "web");
  EXPECT_EQ(updated["spec"].value("clusterIP", ""), cluster_ip)
      << "ForUpdate keeps the destination's clusterIP";
  EXPECT_EQ(
      updated["metadata"]["annotations"].value(std::string(transform::kSourceResourceVersionAnnotation), ""),
      "11");

  svc["metadata"]["resourceVersion"] = "12";
  Publish(MakeEvent(proto::EventType::kDeleted, kServices, svc));
  ASSERT_TRUE(
      WaitFor([&] { return Request("GET", "/api/v1/namespaces/team/services/web").status == 404; }, kWait));
  auto record = store_->Get(kId, "/services/team/web");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_TRUE((*record)->deleted);
  EXPECT_EQ((*record)->rv, 12u);
  EXPECT_GE(CountLogs("object created in cluster"), 1);
  EXPECT_GE(CountLogs("object updated in cluster"), 1);
  EXPECT_GE(CountLogs("object deleted in cluster"), 1);
  for (const auto& line : LogLines()) {
    if (line.value("msg", "") != "object created in cluster") continue;
    EXPECT_EQ(line["destinationCluster"].value("name", ""), "destination");
    EXPECT_EQ(line["destinationObject"].value("name", ""), "web");
    EXPECT_EQ(line["sourceObject"].value("uid", ""), "uid-svc");
    EXPECT_EQ(line["event"].value("type", ""), "create");
    EXPECT_EQ(line["process"].value("id", ""), "synchronizer");
    EXPECT_FALSE(line.contains("sourceCluster"));
  }
}

TEST_F(SynchronizerTest, NeverModifiesOrDeletesAnUnmanagedObject) {
  WritePlan({});
  ASSERT_EQ(Request("POST", "/api/v1/namespaces/team/configmaps",
                    json{{"metadata", {{"name", "mine"}}}, {"data", {{"v", "user"}}}})
                .status,
            201);
  const std::string rv_before = Dest("team", "configmaps", "mine")["metadata"].value("resourceVersion", "");
  StartSynchronizer();
  PublishConfigMap(proto::EventType::kAdded, "team", "mine", 10, "replicated");
  PublishConfigMap(proto::EventType::kDeleted, "team", "mine", 11, "replicated");
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, kWait));
  json after = Dest("team", "configmaps", "mine");
  ASSERT_TRUE(after.is_object()) << "the unmanaged object must not be deleted";
  EXPECT_EQ(after["data"].value("v", ""), "user");
  EXPECT_EQ(after["metadata"].value("resourceVersion", ""), rv_before);
  EXPECT_EQ(CountLogs("error updating object in cluster"), 1);
  EXPECT_EQ(CountLogs("error deleting object in cluster"), 1);
}

TEST_F(SynchronizerTest, CreatesMissingNamespaceWithForceNamespaceCreation) {
  WritePlan({.force_namespace_creation = true});
  StartSynchronizer();
  PublishConfigMap(proto::EventType::kAdded, "fresh", "a", 10, "v1");
  ASSERT_TRUE(WaitFor([&] { return DestData("fresh", "a") == "v1"; }, kWait));
  auto ns = Request("GET", "/api/v1/namespaces/fresh");
  EXPECT_EQ(ns.status, 200);
  EXPECT_EQ(CountLogs("namespace not found in cluster"), 1);
  EXPECT_EQ(CountLogs("namespace created in cluster"), 1);
}

TEST_F(SynchronizerTest, ConcurrentTasksIsReportedAndEveryPartitionStillFlowsThroughOneSlot) {
  WritePlan({.concurrent_tasks = 1});
  StartSynchronizer();
  // Objects in every partition still all arrive through the one slot.
  for (int i = 0; i < 12; ++i) PublishConfigMap(proto::EventType::kAdded, "team", "c" + std::to_string(i), 10, "v1");
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(WaitFor([&] { return DestData("team", "c" + std::to_string(i)) == "v1"; }, kWait)) << i;
  }
  json started;
  for (const auto& line : LogLines()) {
    if (line.value("msg", "") == "synchronizer started") started = line;
  }
  EXPECT_EQ(started.value("concurrentTasks", 0), 1) << started.dump();
  EXPECT_EQ(started.value("partitions", 0), kPartitions);
}

TEST_F(SynchronizerTest, MissingNamespaceIsRetriedUntilItExists) {
  WritePlan({});
  StartSynchronizer();
  PublishConfigMap(proto::EventType::kAdded, "later", "a", 10, "v1");
  ASSERT_TRUE(WaitFor([&] { return CountLogs("namespace not found in cluster") >= 2; }, kWait));
  EXPECT_EQ(Request("GET", "/api/v1/namespaces/later").status, 404)
      << "not created without forceNamespaceCreation";
  EXPECT_EQ(DestData("later", "a"), "");
  ASSERT_EQ(Request("POST", "/api/v1/namespaces", json{{"metadata", {{"name", "later"}}}}).status, 201);
  ASSERT_TRUE(WaitFor([&] { return DestData("later", "a") == "v1"; }, kWait));
}

TEST_F(SynchronizerTest, SkipsOlderVersionsAndDoesNotRewriteUnchangedContent) {
  WritePlan({});
  StartSynchronizer();
  PublishConfigMap(proto::EventType::kAdded, "team", "a", 20, "new");
  ASSERT_TRUE(WaitFor([&] { return DestData("team", "a") == "new"; }, kWait));
  PublishConfigMap(proto::EventType::kModified, "team", "a", 15, "old");
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, kWait));
  EXPECT_EQ(DestData("team", "a"), "new") << "an older resourceVersion never overwrites a newer one";

  ASSERT_TRUE(emulator_->ResetCounters().ok());
  PublishConfigMap(proto::EventType::kResync, "team", "a", 21, "new");
  PublishConfigMap(proto::EventType::kModified, "team", "a", 22, "new");
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, kWait));
  auto record = store_->Get(kId, "/configmaps/team/a");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->rv, 22u) << "the record moves forward without a write";
  for (const char* verb : {"create", "update", "patch", "delete"}) {
    auto writes = emulator_->CountRequests(verb, "*");
    ASSERT_TRUE(writes.ok());
    EXPECT_EQ(*writes, 0) << verb;
  }
}

TEST_F(SynchronizerTest, DryRunWritesNothingAndLogsWhatItWouldDo) {
  WritePlan({.force_namespace_creation = true, .dry_run = true});
  StartSynchronizer();
  PublishConfigMap(proto::EventType::kAdded, "team", "a", 10, "v1");
  PublishConfigMap(proto::EventType::kAdded, "elsewhere", "b", 10, "v1");
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, kWait));
  EXPECT_EQ(Request("GET", "/api/v1/namespaces/team/configmaps/a").status, 404);
  EXPECT_EQ(Request("GET", "/api/v1/namespaces/elsewhere").status, 404);
  int would_create = 0;
  for (const auto& line : LogLines()) {
    if (line.value("msg", "") == "creating object in cluster") {
      EXPECT_EQ(line.value("dryRun", false), true);
      ++would_create;
    }
  }
  EXPECT_EQ(would_create, 2);
  EXPECT_EQ(CountLogs("object created in cluster"), 0);
  auto record = store_->Get(kId, "/configmaps/team/a");
  ASSERT_TRUE(record.ok());
  EXPECT_FALSE(record->has_value()) << "a dry run commits nothing";
}

TEST_F(SynchronizerTest, ThreeReplicasUnderRapidUpdatesEndWithTheNewestVersions) {
  WritePlan({});
  for (int i = 0; i < 3; ++i) StartSynchronizer();
  constexpr int kObjects = 8;
  constexpr int kVersions = 25;
  for (int v = 1; v <= kVersions; ++v) {
    for (int o = 0; o < kObjects; ++o) {
      PublishConfigMap(v == 1 ? proto::EventType::kAdded : proto::EventType::kModified, "team",
                       "obj-" + std::to_string(o), 100 + v, "v" + std::to_string(v));
    }
  }
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, milliseconds(60'000)));
  for (int o = 0; o < kObjects; ++o) {
    EXPECT_EQ(DestData("team", "obj-" + std::to_string(o)), "v" + std::to_string(kVersions)) << o;
    auto record = store_->Get(kId, "/configmaps/team/obj-" + std::to_string(o));
    ASSERT_TRUE(record.ok() && record->has_value());
    EXPECT_EQ((*record)->rv, 100u + kVersions);
  }
  int replicas_that_worked = 0;
  for (int i = 0; i < 3; ++i) {
    replicas_that_worked +=
        CountLogs("object updated in cluster", i) + CountLogs("object created in cluster", i) > 0;
  }
  EXPECT_GE(replicas_that_worked, 2) << "the partitions are shared by the replicas";
}

TEST_F(SynchronizerTest, SigkillMidStreamLosesNothing) {
  WritePlan({});
  testsupport::Process& first = StartSynchronizer(/*ack_wait_seconds=*/2);
  constexpr int kObjects = 40;
  constexpr int kVersions = 5;
  for (int v = 1; v <= kVersions; ++v) {
    for (int o = 0; o < kObjects; ++o) {
      PublishConfigMap(v == 1 ? proto::EventType::kAdded : proto::EventType::kModified, "team",
                       "obj-" + std::to_string(o), 100 + v, "v" + std::to_string(v));
    }
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto stats = store_->GetStats(kId);
        return stats.ok() && stats->objects_synchronized >= 30;
      },
      kWait));
  first.Kill();
  auto stats = store_->GetStats(kId);
  ASSERT_TRUE(stats.ok());
  EXPECT_LT(stats->objects_synchronized, kObjects * kVersions) << "killed mid-stream";
  StartSynchronizer(2);
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, milliseconds(60'000)));
  for (int o = 0; o < kObjects; ++o) {
    EXPECT_EQ(DestData("team", "obj-" + std::to_string(o)), "v" + std::to_string(kVersions)) << o;
  }
}

TEST_F(SynchronizerTest, RetriesThroughInjectedThrottlingAndUnavailability) {
  WritePlan({});
  PublishConfigMap(proto::EventType::kAdded, "team", "a", 10, "v1");
  StartSynchronizer();
  ASSERT_TRUE(WaitFor([&] { return DestData("team", "a") == "v1"; }, kWait));
  // More failures than one call retries internally: the message goes back to NATS too.
  ASSERT_TRUE(
      emulator_
          ->AddFault(
              {.verb = "update", .resource = "configmaps", .count = 6, .code = 503, .retry_after_seconds = 1})
          .ok());
  ASSERT_TRUE(
      emulator_
          ->AddFault(
              {.verb = "create", .resource = "configmaps", .count = 6, .code = 429, .retry_after_seconds = 1})
          .ok());
  PublishConfigMap(proto::EventType::kModified, "team", "a", 11, "v2");
  PublishConfigMap(proto::EventType::kAdded, "team", "b", 10, "v1");
  ASSERT_TRUE(WaitFor([&] { return DestData("team", "a") == "v2" && DestData("team", "b") == "v1"; },
                      milliseconds(40'000)));
  auto updates = emulator_->CountRequests("update", "configmaps");
  ASSERT_TRUE(updates.ok());
  EXPECT_GE(*updates, 7) << "six refused updates, then the one that landed";
}

TEST_F(SynchronizerTest, SigtermFinishesAndExitsZero) {
  WritePlan({});
  testsupport::Process& p = StartSynchronizer();
  PublishConfigMap(proto::EventType::kAdded, "team", "a", 10, "v1");
  ASSERT_TRUE(WaitFor([&] { return DestData("team", "a") == "v1"; }, kWait));
  int status = p.Stop(milliseconds(10'000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(SynchronizerTest, BadPlanExitsTwoWithTheField) {
  testsupport::WriteFile(dir_.path() / "plan.json",
                         R"({"apiVersion":"kubesync.io/v1","kind":"ReplicationPlan"})");
  testsupport::Process& p = StartSynchronizer();
  auto code = p.Wait(milliseconds(10'000));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(testsupport::ReadFile(dir_.path() / "stderr0.txt").find("--plan"), std::string::npos);
}

// Anyone who can publish on the sync subject must not get the synchronizer to write what
// the plan does not replicate (issue 10, item 11): a forged ClusterRoleBinding granting
// cluster-admin is refused, logged by name and terminated; the partition flows on.
TEST_F(SynchronizerTest, ForgedMessageForAResourceOutsideThePlanIsRefusedAndNeverApplied) {
  WritePlan({});
  StartSynchronizer();
  const plan::Gvr bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings"};
  json binding = {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "ClusterRoleBinding"},
      {"metadata", {{"name", "pwned"}, {"uid", "uid-pwned"}, {"resourceVersion", "5"}}},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "cluster-admin"}}},
      {"subjects", {{{"kind", "User"}, {"name", "mallory"}, {"apiGroup", "rbac.authorization.k8s.io"}}}}};
  Publish(MakeEvent(proto::EventType::kAdded, bindings, binding));
  PublishConfigMap(proto::EventType::kAdded, "team", "after", 20, "ok");
  ASSERT_TRUE(WaitFor([&] { return DestData("team", "after") == "ok"; }, kWait));
  ASSERT_TRUE(WaitFor([&] { return Drained(); }, kWait)) << "the forged message is settled, not redelivered";
  auto got = Request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/pwned");
  EXPECT_EQ(got.status, 404) << got.body.dump();
  bool logged = false;
  for (const json& line : LogLines()) {
    if (line.value("msg", "") != "object not in the plan; refused") continue;
    logged = line["sourceObject"].value("name", "") == "pwned" &&
             line["sourceObject"].value("resource", "") == "clusterrolebindings" &&
             line.value("level", "") == "error";
  }
  EXPECT_TRUE(logged) << "a log line names the refused object";
}

// A Redis that wants a password the synchronizer does not have: the start-up ends with an
// error naming the server (not an endless retry), and the password is in no log or argv.
TEST_F(SynchronizerTest, WrongRedisPasswordIsAClearErrorNamingTheServer) {
  WritePlan({});
  const int port = testsupport::FreePort();
  auto locked = testsupport::StartServer(
      {.argv = {"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--requirepass", "right-password", "--dir", dir_.path().string()}},
      port, dir_.path() / "locked-redis.log");
  ASSERT_TRUE(locked.ok()) << locked.status().ToString();
  testsupport::WriteFile(dir_.path() / "redis.password", "wrong-password\n");
  auto process = testsupport::Process::Start(
      {.argv = {SYNCHRONIZER_BIN, "--plan", (dir_.path() / "plan.json").string(), "--destination-kubeconfig",
                emulator_->kubeconfig_path("admin").string(), "--nats-url", nats_->url(), "--redis-url",
                "redis://127.0.0.1:" + std::to_string(port) + "/0", "--redis-password-file",
                (dir_.path() / "redis.password").string()},
       .stdout_path = LogPath(0),
       .stderr_path = dir_.path() / "stderr0.txt"});
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  auto code = process->Wait(milliseconds(20'000));
  ASSERT_TRUE(code.has_value()) << "a refused password is not retried forever";
  EXPECT_EQ(*code, 1);
  bool named = false;
  for (const json& line : LogLines()) {
    if (line.value("msg", "") != "error connecting to redis" || line.value("level", "") != "error") continue;
    named = line.value("error", "").find("redis 127.0.0.1:" + std::to_string(port) + ": AUTH failed") !=
            std::string::npos;
  }
  EXPECT_TRUE(named) << testsupport::ReadFile(LogPath(0));
  EXPECT_EQ(testsupport::ReadFile(LogPath(0)).find("wrong-password"), std::string::npos);
}

}  // namespace
}  // namespace kubesync::synchronizer
